"""The occurrences of many series merged into one page, from plain values: the recurrence work
of an expanded list, done where :func:`calgate.offload.run_apart` sends it (a worker process,
with ``recurrence_processes``). What goes in and comes out is tuples of dates, datetimes and
strings, quick to send between processes (an event pickled costs about 30 µs; its start, end
and lines about 1.5 µs); the caller makes the occurrences it pages events.
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
from collections.abc import Iterator

from calgate.domain import recurrence
from calgate.domain.freebusy import to_us
from calgate.domain.times import EventTime

Time = tuple[dt.date | None, dt.datetime | None, str]
"""An :class:`EventTime` as plain values: (date, wall, tz); the wall time keeps its fold."""

Series = tuple[str, Time, Time, tuple[str, ...], frozenset[str]]
"""A series to expand: its id, start, end, recurrence lines, and the tokens of its occurrences
that stored exceptions replace."""

Found = tuple[int, str, int, Time]
"""An occurrence: its start in epoch microseconds, its id, its series' index, its start."""


def plain(time: EventTime) -> Time:
    return time.date, time.wall, time.tz


def event_time(plain: Time) -> EventTime:
    return EventTime(date=plain[0], wall=plain[1], tz=plain[2])


def first_occurrences(
    series: list[Series],
    window_start: dt.datetime | None,
    window_end: dt.datetime | None,
    after: tuple[int, str] | None,
    limit: int,
    budget: recurrence.Budget,
) -> list[Found]:
    """The first ``limit + 1`` occurrences of ``series`` in (start, id) order, past ``after``
    (a cursor's start and id): the series' occurrences are merged lazily, so this costs about
    ``limit`` occurrences whatever the number of series."""
    streams = [
        _occurrences(index, one, window_start, window_end, after, budget)
        for index, one in enumerate(series)
    ]
    merged = heapq.merge(*streams, key=order)
    return list(itertools.islice(merged, limit + 1))


def order(item: tuple[int, str, int, object]) -> tuple[int, str]:
    """The (start, id) an occurrence (or an event beside it, as a like tuple) is paged by."""
    return item[0], item[1]


def _occurrences(
    index: int,
    series: Series,
    window_start: dt.datetime | None,
    window_end: dt.datetime | None,
    after: tuple[int, str] | None,
    budget: recurrence.Budget,
) -> Iterator[Found]:
    master_id, start, end, lines, replaced = series
    for occurrence in recurrence.occurrences(
        event_time(start), event_time(end), lines, window_start, window_end, budget=budget
    ):
        token = occurrence.token
        if token in replaced:
            continue
        key = to_us(occurrence.utc)
        occurrence_id = f"{master_id}_{token}"
        if after is not None and (key, occurrence_id) <= after:
            continue
        yield key, occurrence_id, index, plain(occurrence)
