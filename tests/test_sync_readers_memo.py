"""What a list builds from a calendar's mirrored items lives exactly as long as those items
(calgate.sync.readers): a calendar synced and listed again and again keeps one copy, not one
per sync, and never pushes the other calendars' copies out."""

from __future__ import annotations

import gc
from typing import Any

from calgate.sync import readers
from calgate.sync.reads import Listed


def test_what_a_list_builds_goes_with_its_items() -> None:
    built: list[int] = []

    def build(items: Any) -> int:
        built.append(len(items))
        return len(items)

    memo = readers._PerMapping(build)
    other = Listed({"b": None, "c": None})
    assert memo(other) == 2
    for sync in range(40):  # each sync of the calendar gives a new mapping
        items = Listed({"a": sync})
        assert memo(items) == memo(items) == 1
        del items
        gc.collect()
    assert len(memo) == 1  # the other calendar's copy, kept all along
    assert memo(other) == 2
    assert built == [2] + [1] * 40
    del other
    gc.collect()
    assert len(memo) == 0


def test_a_plain_mapping_is_built_from_each_time() -> None:
    built: list[int] = []
    memo = readers._PerMapping(lambda items: built.append(1) or 0)
    plain = {"a": None}
    memo(plain)
    memo(plain)
    assert built == [1, 1]
    assert len(memo) == 0
