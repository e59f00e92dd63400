"""The occurrences of series, kept per 30-day bucket: a booking page asks about the same people
again and again, and a series' occurrences in a bucket never change unless the series does.

The key is the series' content (id, start, end, recurrence lines) and the calendar's zone, so
an edited series or a calendar moved to another zone is simply another key; old entries age
out (least recently used first).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Hashable

from calgate.domain import freebusy as fb
from calgate.domain import recurrence
from calgate.domain.model import Event

BUCKET = 30 * 86_400_000_000  # microseconds


class OccurrenceCache:
    """A :data:`calgate.domain.freebusy.Expander` that remembers (thread-safe)."""

    def __init__(self, size: int = 50_000) -> None:
        self.size = size
        self._entries: OrderedDict[Hashable, list[fb.Occurrence]] = OrderedDict()
        self._lock = threading.Lock()

    def _bucket(
        self,
        master: Event,
        index: int,
        calendar_zone: str,
        budget: recurrence.Budget | None,
    ) -> list[fb.Occurrence]:
        f = master.fields
        key = (master.id, f.start, f.end, f.recurrence, calendar_zone, index)
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                return found
        lo, hi = fb.from_us(index * BUCKET), fb.from_us((index + 1) * BUCKET)
        found = fb.series_occurrences(master, lo, hi, calendar_zone, budget)
        with self._lock:
            self._entries[key] = found
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return found

    def __call__(
        self,
        master: Event,
        start: dt.datetime,
        end: dt.datetime,
        calendar_zone: str,
        budget: recurrence.Budget | None,
    ) -> list[fb.Occurrence]:
        """Every occurrence overlapping ``[start, end)`` (and maybe some near it: the caller
        clips), each once."""
        first, last = fb.to_us(start) // BUCKET, (fb.to_us(end) - 1) // BUCKET
        if first == last:
            return self._bucket(master, first, calendar_zone, budget)
        seen: dict[str, fb.Occurrence] = {}
        for index in range(first, last + 1):
            for occurrence in self._bucket(master, index, calendar_zone, budget):
                seen[occurrence[2]] = occurrence
        return list(seen.values())
