"""What a provider's change feed found: one object with its events in calgate's model.

Light on purpose (no database, no HTTP): the readings of big provider answers that make these
run in calgate's worker processes (:mod:`calgate.processes`), which import only what they
read with.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from calgate.domain.model import Event
from calgate.domain.times import EventTime

__all__ = ["Found"]


@dataclass(slots=True)
class Found:
    """One provider object as the feed read it, with its events in calgate's model (for a
    CalDAV resource: the master and its modified occurrences)."""

    item_id: str
    href: str
    etag: str
    version: int
    events: list[Event] = field(default_factory=list)
    # A cancelled occurrence the provider names only by its series and original start
    # (Google): the engine builds the event from the mirrored series.
    cancels: tuple[str, EventTime] | None = None
    # Mirrored but never reported as such: an occurrence that only follows its series
    # (Graph lists every occurrence of a calendar view; the series reports the change).
    quiet: bool = False
