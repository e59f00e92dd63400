"""Expanding a series: its occurrences in a window, its bounds, membership of one time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

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
) -> list[EventTime]:
    """The start times of the occurrences that overlap the window, in order, at most ``limit``.

    An occurrence lasts ``end - start`` and overlaps ``[window_start, window_end)`` when it starts
    before the window ends and ends after it starts (an occurrence that began before the window
    and is still running is in). The window bounds are aware datetimes; None leaves a side open.
    """
    series = parse(lines, start)
    lo, hi = _aware(window_start, "window_start"), _aware(window_end, "window_end")
    duration = max(end.utc - start.utc, dt.timedelta(0))
    found: list[EventTime] = []
    if limit < 1 or (lo is not None and hi is not None and hi < lo):
        return found
    for instant in instances(series, None if lo is None else shifted(lo, -duration), hi):
        if overlaps(instant, shifted(instant, duration), lo, hi):
            found.append(series.event_time(instant))
            if len(found) >= limit:
                break
    return found


def series_bounds(
    start: EventTime, end: EventTime, lines: Sequence[str]
) -> tuple[dt.datetime, dt.datetime | None]:
    """The first occurrence's start and the last one's end, in UTC; None: the series is endless.

    EXDATEs and EXRULEs are taken into account. A series whose every instance is excluded gets
    the master's own start and end.
    """
    series = parse(lines, start)
    duration = max(end.utc - start.utc, dt.timedelta(0))
    first = first_in(series, None, None)
    rrules = series.rules("RRULE")
    if any(rule.endless for rule in rrules):
        return (series.first if first is None else first), None
    if first is None:
        return series.first, shifted(series.first, duration)
    tops = [rule_last(series, rule) for rule in rrules]
    top = max([first, *series.rdates[-1:], *(t for t in tops if t is not None)])
    return first, shifted(last_instance(series, first, top), duration)


def is_occurrence(
    start: EventTime, end: EventTime, lines: Sequence[str], candidate: EventTime
) -> bool:
    """Whether ``candidate`` is the start of one of the series' occurrences."""
    if candidate.is_all_day != start.is_all_day:
        return False
    series = parse(lines, start)
    instant = candidate.utc
    return first_in(series, instant, instant) == instant


def _aware(value: dt.datetime | None, name: str) -> dt.datetime | None:
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime")
    return value.astimezone(dt.UTC)
