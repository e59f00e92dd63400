"""Reading the rows of a Graph delta round into calgate's model, for provider sync
(:mod:`calgate.sync.microsoft`). Many rows are read in one of calgate's worker processes
(:func:`calgate.sync.feed.read_apart`): this module imports nothing heavy.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Final

from calgate.domain.recurrence import Budget
from calgate.errors import ProviderError
from calgate.providers.found import Found
from calgate.providers.microsoft_map import from_graph_event

log = logging.getLogger("calgate.sync")

# The ``href`` of an item read whole (with calgate's extended property): reads may use it.
WHOLE: Final = "whole"


@dataclass(slots=True)
class Rows:
    """What the rows of one delta round say."""

    present: list[str] = field(default_factory=list)
    changed: list[Found] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    series: list[str] = field(default_factory=list)  # the series masters their occurrences name


def read_rows(
    rows: list[dict[str, Any]],
    whole: dict[str, dict[str, Any]],
    calendar_id: str,
    tz: str,
    budget: Budget | None = None,
) -> Rows:
    """The rows of a delta round (each read whole from ``whole`` when there), read into
    calgate's model; an event calgate cannot read is logged and left as the mirror has it."""
    found = Rows()
    series: set[str] = set()
    for row in rows:
        if budget is not None:
            budget.spend(0)  # stopped if the caller has gone; gives way to other requests
        item_id = str(row.get("id") or "")
        if not item_id:
            continue
        if "@removed" in row:
            found.removed.append(item_id)
            continue
        found.present.append(item_id)
        read = whole.get(item_id, row)
        try:
            event = from_graph_event(read, calendar_id, tz)
        except ProviderError as error:
            log.warning("Outlook sync skips event %s: %s", item_id, error.detail)
            continue
        etag = str(read.get("@odata.etag") or read.get("changeKey") or "")
        master = str(row.get("seriesMasterId") or "")
        if master:
            series.add(master)
        quiet = row.get("type") == "occurrence"
        how = WHOLE if item_id in whole else ""
        found.changed.append(Found(item_id, how, etag, event.version, [event], quiet=quiet))
    found.series = sorted(series)
    return found
