"""A series' occurrence starts as UTC instants: rules, dates and exclusions merged lazily.

Rules run in wall-clock time; each wall time becomes an instant in the series' zone (a wall time
in a DST gap moves forward, an ambiguous one is the first, RFC 5545 section 3.3.5, except in the
repeated hour of a DTSTART that is the second pass: see :meth:`.Series.instant`).
"""

from __future__ import annotations

import datetime as dt
import functools
import heapq
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator

from calgate.domain.recurrence import scan
from calgate.domain.recurrence.budget import Budget
from calgate.domain.recurrence.rule import Rule
from calgate.domain.recurrence.series import Series

UTC = dt.UTC
HOUR = dt.timedelta(hours=1)
TICK = dt.timedelta(microseconds=1)


def instances(
    series: Series, lo: dt.datetime | None, hi: dt.datetime | None, budget: Budget
) -> Iterator[dt.datetime]:
    """Occurrence starts from ``lo`` to ``hi`` (both included, None: open), in order.

    DTSTART, RRULEs and RDATEs, without EXDATEs and EXRULEs; every candidate paid from
    ``budget`` (one that EXDATE or EXRULE removes too).
    """
    rdates = series.rdates
    begin = 0 if lo is None else bisect_left(rdates, lo)
    end = len(rdates) if hi is None else bisect_right(rdates, hi)
    streams: list[Iterable[dt.datetime]] = [
        [t for t in (series.first,) if (lo is None or lo <= t) and (hi is None or t <= hi)],
        rdates[begin:end],
        *(
            rule_instants(series, rule, lo, hi, budget, dtstart_counts=True)
            for rule in series.rules("RRULE")
        ),
    ]
    exrules = [
        rule_instants(series, r, lo, hi, budget, dtstart_counts=False)
        for r in series.rules("EXRULE")
    ]
    excluded = heapq.merge(*exrules)
    next_excluded = next(excluded, None)
    previous = None
    for instant in heapq.merge(*streams):
        budget.spend()
        if instant == previous or instant in series.exdates:
            continue
        previous = instant
        while next_excluded is not None and next_excluded < instant:
            next_excluded = next(excluded, None)
        if instant != next_excluded:
            yield instant


def first_in(
    series: Series, lo: dt.datetime | None, hi: dt.datetime | None, budget: Budget
) -> dt.datetime | None:
    return next(instances(series, lo, hi, budget), None)


def rule_instants(
    series: Series,
    rule: Rule,
    lo: dt.datetime | None,
    hi: dt.datetime | None,
    budget: Budget,
    *,
    dtstart_counts: bool,
) -> Iterator[dt.datetime]:
    """One rule's occurrence starts from ``lo`` to ``hi`` (both included), in order."""
    zone, dtstart = series.zone, series.dtstart
    wall_lo = dtstart if lo is None else _wall(lo, -1, zone, dtstart)
    wall_hi = scan.WALL_MAX if hi is None else _wall(hi, 1, zone, scan.WALL_MAX)
    bound = hi
    if rule.count is not None:
        last = scan.last_wall(rule, dtstart, dtstart_counts, budget)
        if last is None:
            return
        wall_hi = min(wall_hi, last)
    elif isinstance(rule.until, dt.datetime):
        wall_hi = min(wall_hi, _wall(rule.until, 1, zone, scan.WALL_MAX))
        bound = rule.until if hi is None else min(hi, rule.until)
    elif rule.until is not None:
        wall_hi = min(wall_hi, dt.datetime.combine(rule.until, dt.time()))
    for instant in in_order(scan.walls(rule, dtstart, wall_lo, wall_hi, budget), series):
        if bound is not None and instant > bound:
            return
        if lo is None or instant >= lo:
            yield instant


def rule_last(series: Series, rule: Rule, budget: Budget) -> dt.datetime | None:
    """The latest instant a bounded rule can reach: COUNT's last occurrence or UNTIL."""
    if rule.count is not None:
        last = scan.last_wall(rule, series.dtstart, True, budget)
        return None if last is None else _instant(last, series)
    if isinstance(rule.until, dt.datetime):
        return rule.until
    if rule.until is not None:
        return dt.datetime.combine(rule.until, dt.time(), UTC)
    return None


def last_instance(
    series: Series, first: dt.datetime, top: dt.datetime, budget: Budget
) -> dt.datetime:
    """The last occurrence start, given an occurrence ``first`` and that none is after ``top``.

    A bisection on "is there an occurrence from t on": about 60 short scans at worst.
    """
    if first_in(series, top, top, budget) == top:
        return top
    last, gap = first, top
    while gap - last > TICK:
        middle = last + (gap - last) / 2
        probe = first_in(series, middle, gap - TICK, budget)
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


def _wall(instant: dt.datetime, side: int, zone: dt.tzinfo, default: dt.datetime) -> dt.datetime:
    """The wall time of ``instant`` in ``zone``, widened on ``side`` (-1 earlier, +1 later) by
    the offset changes near it; ``default`` past the datetime range.

    Wall times a daylight saving change skips map to instants one gap later, and the repeated
    ones to the first pass: so the wall times that reach an instant lie within the size of the
    changes around it (an hour, mostly), not a whole day, which would be 86,400 candidates of a
    SECONDLY rule.
    """
    try:
        return (instant + side * _changes_near(instant, zone)).astimezone(zone).replace(tzinfo=None)
    except OverflowError:
        return default


def _changes_near(instant: dt.datetime, zone: dt.tzinfo) -> dt.timedelta:
    """How much ``zone``'s UTC offset varies within two days of ``instant``."""
    if zone is UTC:
        return dt.timedelta(0)
    return _changes_around(instant.date(), zone)


@functools.lru_cache(maxsize=4096)
def _changes_around(day: dt.date, zone: dt.tzinfo) -> dt.timedelta:
    """The spread of ``zone``'s offsets from two days before ``day`` to three after, sampled
    hourly (offsets change at most a few times a year, so no change hides between two
    samples); once per zone and day."""
    midnight = dt.datetime.combine(day, dt.time(), UTC)
    offsets = set()
    for hours in range(-48, 73):
        try:
            offset = (midnight + hours * HOUR).astimezone(zone).utcoffset()
        except OverflowError:
            continue
        if offset is not None:
            offsets.add(offset)
    return max(offsets) - min(offsets) if len(offsets) > 1 else dt.timedelta(0)
