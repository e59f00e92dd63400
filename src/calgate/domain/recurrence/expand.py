"""Expanding a series: its occurrences in a window, its bounds, membership of one time."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator, Sequence

from calgate.domain.recurrence.budget import Budget
from calgate.domain.recurrence.instances import (
    first_in,
    instances,
    last_instance,
    overlaps,
    rule_last,
    shifted,
)
from calgate.domain.recurrence.limits import MAX_OCCURRENCES
from calgate.domain.recurrence.series import parse
from calgate.domain.times import EventTime


def expand(
    start: EventTime,
    end: EventTime,
    lines: Sequence[str],
    window_start: dt.datetime | None,
    window_end: dt.datetime | None,
    *,
    limit: int = MAX_OCCURRENCES,
    budget: Budget | None = None,
) -> list[EventTime]:
    """The start times of the occurrences that overlap the window, in order, at most ``limit``.

    An occurrence lasts ``end - start`` and overlaps ``[window_start, window_end)`` when it starts
    before the window ends and ends after it starts (an occurrence that began before the window
    and is still running is in). The window bounds are aware datetimes; None leaves a side open.
    The work is paid from ``budget`` (default: a budget of its own).
    """
    found: list[EventTime] = []
    if limit < 1:
        return found
    for occurrence in occurrences(start, end, lines, window_start, window_end, budget=budget):
        found.append(occurrence)
        if len(found) >= limit:
            break
    return found


def occurrences(
    start: EventTime,
    end: EventTime,
    lines: Sequence[str],
    window_start: dt.datetime | None,
    window_end: dt.datetime | None,
    *,
    budget: Budget | None = None,
) -> Iterator[EventTime]:
    """:func:`expand`'s occurrences one by one, computed as they are taken."""
    series = parse(lines, start)
    lo, hi = _aware(window_start, "window_start"), _aware(window_end, "window_end")
    duration = max(end.utc - start.utc, dt.timedelta(0))
    if lo is not None and hi is not None and hi < lo:
        return
    paid = Budget() if budget is None else budget
    for instant in instances(series, None if lo is None else shifted(lo, -duration), hi, paid):
        if overlaps(instant, shifted(instant, duration), lo, hi):
            occurrence = series.event_time(instant)
            try:
                occurrence_end(start, end, occurrence)
            except OverflowError:  # ends after the year 9999, and so do all later ones
                return
            yield occurrence


def occurrence_end(start: EventTime, end: EventTime, occurrence: EventTime) -> EventTime:
    """When the occurrence starting at ``occurrence`` ends: as long as the master, in the
    master end's zone. OverflowError: it would end after the year 9999."""
    if occurrence.date is not None:
        assert start.date is not None and end.date is not None
        return EventTime(date=occurrence.date + (end.date - start.date))
    return EventTime.at(occurrence.utc + (end.utc - start.utc), end.tz)


@functools.lru_cache(maxsize=1024)
def _bounds(
    start: EventTime, fold: int, end: EventTime, lines: tuple[str, ...]
) -> tuple[dt.datetime, dt.datetime | None]:
    # ``fold`` is in the key for the reason :func:`.series._parse` gives.
    return _series_bounds(start, end, lines, Budget())


def series_bounds(
    start: EventTime, end: EventTime, lines: Sequence[str]
) -> tuple[dt.datetime, dt.datetime | None]:
    """The first occurrence's start and the last one's end, in UTC; None: the series is endless.

    EXDATEs and EXRULEs are taken into account. A series whose every instance is excluded gets
    the master's own start and end. Cached: a series is checked off the event loop first, and
    its bounds are then read again when it is stored.
    """
    return _bounds(start, _fold(start), end, tuple(lines))


def _series_bounds(
    start: EventTime, end: EventTime, lines: Sequence[str], budget: Budget
) -> tuple[dt.datetime, dt.datetime | None]:
    series = parse(lines, start)
    duration = max(end.utc - start.utc, dt.timedelta(0))
    first = first_in(series, None, None, budget)
    rrules = series.rules("RRULE")
    if any(rule.endless for rule in rrules):
        return (series.first if first is None else first), None
    if first is None:
        return series.first, shifted(series.first, duration)
    tops = [rule_last(series, rule, budget) for rule in rrules]
    top = max([first, *series.rdates[-1:], *(t for t in tops if t is not None)])
    return first, shifted(last_instance(series, first, top, budget), duration)


def is_occurrence(
    start: EventTime, end: EventTime, lines: Sequence[str], candidate: EventTime
) -> bool:
    """Whether ``candidate`` is the start of one of the series' occurrences.

    Cached like :func:`series_bounds`, for the same reason. An occurrence must end by the year
    9999: one that would end later does not exist.
    """
    if candidate.is_all_day != start.is_all_day:
        return False
    return _is_occurrence(start, _fold(start), end, tuple(lines), candidate, _fold(candidate))


@functools.lru_cache(maxsize=1024)
def _is_occurrence(
    start: EventTime,
    fold: int,
    end: EventTime,
    lines: tuple[str, ...],
    candidate: EventTime,
    candidate_fold: int,
) -> bool:
    series = parse(lines, start)
    try:
        occurrence_end(start, end, candidate)
    except OverflowError:
        return False
    instant = candidate.utc
    return first_in(series, instant, instant, Budget()) == instant


def _fold(time: EventTime) -> int:
    return time.wall.fold if time.wall is not None else 0


def _aware(value: dt.datetime | None, name: str) -> dt.datetime | None:
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime")
    return value.astimezone(dt.UTC)
