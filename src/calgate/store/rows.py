"""Decoded event rows, remembered between reads (free/busy questions, LOCAL reads and lists).

A booking page asks about the same calendars again and again, a client lists the same weeks,
and decoding a stored event (its JSON and the dataclasses built from it) costs far more than
reading its row. An unchanged row gives the very same event object again, which lets
:mod:`calgate.api.event_json` find its answer by identity. Events are frozen; nobody changes
one handed out (not even its ``extra``). The key is
every column of the row (all that :func:`calgate.store.codec.event_from_row` reads), so an
entry is exactly what decoding that row again would give: a changed event is simply another
key, and old entries age out (least recently used first).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

from calgate.domain.model import Event
from calgate.store.codec import event_from_row


def row_key(row: Any) -> Hashable:
    """The whole row: everything :func:`event_from_row` reads from it, and more (a row's values
    as one tuple cost less to take than the columns one by one by name)."""
    return tuple(row)


class DecodedRows:
    """``event_from_row`` with a memory of ``size`` rows (thread-safe; read threads share it)."""

    def __init__(self, size: int = 20_000) -> None:
        self.size = size
        self._entries: OrderedDict[Hashable, Event] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, row: Any) -> Event:
        key = row_key(row)
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                return found
        event = event_from_row(row)
        with self._lock:
            self._entries[key] = event
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return event

    def __len__(self) -> int:
        return len(self._entries)


__all__ = ["DecodedRows", "row_key"]
