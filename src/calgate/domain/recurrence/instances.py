"""A series' occurrence starts as UTC instants: rules, dates and exclusions merged lazily.

Rules run in wall-clock time; each wall time becomes an instant in the series' zone (a wall time
in a DST gap moves forward, an ambiguous one is the first, RFC 5545 section 3.3.5, except in the
repeated hour of a DTSTART that is the second pass: see :meth:`.Series.instant`).
"""

from __future__ import annotations

import datetime as dt
import heapq
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator

from calgate.domain.recurrence import scan
from calgate.domain.recurrence.limits import MAX_SCANNED
from calgate.domain.recurrence.rule import Rule
from calgate.domain.recurrence.series import Series

UTC = dt.UTC
DAY = dt.timedelta(days=1)
TICK = dt.timedelta(microseconds=1)


def instances(
    series: Series, lo: dt.datetime | None, hi: dt.datetime | None
) -> Iterator[dt.datetime]:
    """Occurrence starts from ``lo`` to ``hi`` (both included, None: open), in order.

    DTSTART, RRULEs and RDATEs, without EXDATEs and EXRULEs; at most MAX_SCANNED candidates.
    """
    rdates = series.rdates
    begin = 0 if lo is None else bisect_left(rdates, lo)
    end = len(rdates) if hi is None else bisect_right(rdates, hi)
    streams: list[Iterable[dt.datetime]] = [
        [t for t in (series.first,) if (lo is None or lo <= t) and (hi is None or t <= hi)],
        rdates[begin:end],
        *(
            rule_instants(series, rule, lo, hi, dtstart_counts=True)
            for rule in series.rules("RRULE")
        ),
    ]
    exrules = [
        rule_instants(series, r, lo, hi, dtstart_counts=False) for r in series.rules("EXRULE")
    ]
    excluded = heapq.merge(*exrules)
    next_excluded = next(excluded, None)
    previous = None
    for scanned, instant in enumerate(heapq.merge(*streams)):
        if scanned >= MAX_SCANNED:
            return
        if instant == previous or instant in series.exdates:
            continue
        previous = instant
        while next_excluded is not None and next_excluded < instant:
            next_excluded = next(excluded, None)
        if instant != next_excluded:
            yield instant


def first_in(series: Series, lo: dt.datetime | None, hi: dt.datetime | None) -> dt.datetime | None:
    return next(instances(series, lo, hi), None)


def rule_instants(
    series: Series,
    rule: Rule,
    lo: dt.datetime | None,
    hi: dt.datetime | None,
    *,
    dtstart_counts: bool,
) -> Iterator[dt.datetime]:
    """One rule's occurrence starts from ``lo`` to ``hi`` (both included), in order."""
    zone, dtstart = series.zone, series.dtstart
    wall_lo = dtstart if lo is None else _wall(lo, -DAY, zone, dtstart)
    wall_hi = scan.WALL_MAX if hi is None else _wall(hi, DAY, zone, scan.WALL_MAX)
    bound = hi
    if rule.count is not None:
        last = scan.last_wall(rule, dtstart, dtstart_counts)
        if last is None:
            return
        wall_hi = min(wall_hi, last)
    elif isinstance(rule.until, dt.datetime):
        wall_hi = min(wall_hi, _wall(rule.until, DAY, zone, scan.WALL_MAX))
        bound = rule.until if hi is None else min(hi, rule.until)
    elif rule.until is not None:
        wall_hi = min(wall_hi, dt.datetime.combine(rule.until, dt.time()))
    for instant in in_order(scan.walls(rule, dtstart, wall_lo, wall_hi), series):
        if bound is not None and instant > bound:
            return
        if lo is None or instant >= lo:
            yield instant


def rule_last(series: Series, rule: Rule) -> dt.datetime | None:
    """The latest instant a bounded rule can reach: COUNT's last occurrence or UNTIL."""
    if rule.count is not None:
        last = scan.last_wall(rule, series.dtstart, True)
        return None if last is None else _instant(last, series)
    if isinstance(rule.until, dt.datetime):
        return rule.until
    if rule.until is not None:
        return dt.datetime.combine(rule.until, dt.time(), UTC)
    return None


def last_instance(series: Series, first: dt.datetime, top: dt.datetime) -> dt.datetime:
    """The last occurrence start, given an occurrence ``first`` and that none is after ``top``.

    A bisection on "is there an occurrence from t on": about 60 short scans at worst.
    """
    if first_in(series, top, top) == top:
        return top
    last, gap = first, top
    while gap - last > TICK:
        middle = last + (gap - last) / 2
        probe = first_in(series, middle, gap - TICK)
        if probe is None:
            gap = middle
        else:
            last = probe
    return last


def in_order(walls: Iterable[dt.datetime], series: Series) -> Iterator[dt.datetime]:
    """The instants of wall times that come in order, sorted and without repeats.

    Wall times outside DST gaps map to instants in the same order. A wall time in a gap maps to
    the instant of the wall time one gap later, past wall times still to come: it waits in a heap
    until an instant at least as late shows up.
    """
    zone = series.zone
    pending: list[dt.datetime] = []
    previous = None
    for wall in walls:
        instant = _instant(wall, series)
        if instant is None:  # past the year 9999
            break
        if zone is not UTC and instant.astimezone(zone).replace(tzinfo=None) != wall:
            heapq.heappush(pending, instant)
            continue
        while pending and pending[0] <= instant:
            ready = heapq.heappop(pending)
            if ready != previous:
                previous = ready
                yield ready
        if instant != previous:
            previous = instant
            yield instant
    while pending:
        ready = heapq.heappop(pending)
        if ready != previous:
            previous = ready
            yield ready


def overlaps(
    start: dt.datetime, end: dt.datetime, lo: dt.datetime | None, hi: dt.datetime | None
) -> bool:
    """Whether [start, end) meets the window [lo, hi); an empty event or window is a point."""
    if start == end:
        if lo is not None and lo == hi:
            return start == lo
        return (lo is None or lo <= start) and (hi is None or start < hi)
    if lo is not None and lo == hi:
        return start <= lo < end
    return (hi is None or start < hi) and (lo is None or lo < end)


def shifted(instant: dt.datetime, delta: dt.timedelta) -> dt.datetime:
    """``instant + delta``, held at the ends of the datetime range."""
    try:
        return instant + delta
    except OverflowError:
        return (dt.datetime.max if delta > dt.timedelta(0) else dt.datetime.min).replace(tzinfo=UTC)


def _instant(wall: dt.datetime, series: Series) -> dt.datetime | None:
    try:
        return series.instant(wall)
    except OverflowError:
        return None


def _wall(
    instant: dt.datetime, margin: dt.timedelta, zone: dt.tzinfo, default: dt.datetime
) -> dt.datetime:
    """The wall time of ``instant + margin`` in ``zone``; ``default`` past the datetime range."""
    try:
        return (instant + margin).astimezone(zone).replace(tzinfo=None)
    except OverflowError:
        return default
