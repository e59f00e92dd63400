"""The times of a rule shorter than a day (HOURLY, MINUTELY, SECONDLY), by arithmetic.

dateutil tries such a rule's periods one by one and tests each against BYHOUR, BYMINUTE and
BYSECOND: a rule that keeps one second a day costs it 86,400 tries (some 15 ms of CPU) between
two times. Here the work follows the times kept instead. Times are counted in seconds since the
proleptic Gregorian day 0 (``ordinal * 86400 + second of the day``); one period of the rule
starts every ``stride`` seconds from DTSTART's period (``origin``). Of the periods, a day holds
those whose start is one of the day's ``starts`` (the hours, minutes or seconds the BYxxx parts
allow, RFC 5545's "limit"), and each period holds the same ``offsets`` (the minutes and seconds
the parts "expand" to, after BYSETPOS). Two ways to find a window's periods, the cheaper one for
the rule:

* along the stride, testing each period's start against the allowed ones (no BYxxx part, or
  many allowed starts and few periods a day);
* from day to day, taking the allowed starts that fall on the stride that day. A start ``p``
  falls on it on the days ``d`` with ``d * 86400 + p ≡ origin (mod stride)``: a class of days
  modulo ``stride / gcd(86400, stride)``, so the next such day is found by arithmetic, not by
  walking the days in between.

Rules whose allowed starts never fall on the stride have no time at all (dateutil finds them
empty too). The caller gives a rule without day parts (BYMONTH, BYDAY, ...): :mod:`.scan` finds
those days first.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import itertools
import math
from collections.abc import Iterator

from calgate.domain.recurrence.budget import Budget
from calgate.domain.recurrence.rule import DAILY, Rule

DAY = 86_400
_UNIT = (3600, 60, 1)
"""Seconds in an hour, a minute, a second: the period of HOURLY, MINUTELY and SECONDLY
(indexed by ``freq - HOURLY``)."""
HOURLY = DAILY + 1
TRIES_PER_STEP = 8
"""Periods or allowed starts tried without a time, to one step of the work budget (a step is
about 5 µs of CPU; a period tried along the stride about 0.7 µs)."""
PLANS_SIZE = 1_000_000
"""Allowed starts the remembered plans may hold in all (a plan holds up to 86,400)."""


@dataclasses.dataclass(frozen=True, slots=True)
class _Plan:
    stride: int
    origin: int
    offsets: tuple[int, ...]
    """Seconds from a period's start to each of its times, in order."""
    limits: tuple[frozenset[int] | None, ...]
    """The hours (, minutes (, seconds)) a period may start at (None: any)."""
    along: bool
    """Whether testing each period is cheaper than taking the allowed starts of each day."""
    cycle: int = 1
    """Days after which the stride falls on the same seconds of the day again."""
    residues: tuple[int, ...] = ()
    """The day classes (modulo ``cycle``) on which some allowed start falls on the stride."""
    on_days: dict[int, tuple[int, ...]] = dataclasses.field(default_factory=dict)
    """For each class of ``residues``, the allowed starts that fall on the stride, in order."""

    def allows(self, start: int) -> bool:
        hour, rest = divmod(start % DAY, 3600)
        values = (hour, *divmod(rest, 60))
        return all(part is None or values[i] in part for i, part in enumerate(self.limits))


_PLANS: dict[tuple[Rule, dt.datetime], _Plan | None] = {}
_held = [0]  # the allowed starts the plans of _PLANS hold
_MISSING = object()


def times(
    rule: Rule, dtstart: dt.datetime, lo: dt.datetime, hi: dt.datetime, budget: Budget
) -> Iterator[dt.datetime]:
    """The rule's wall times from ``lo`` to ``hi`` (both included, ``lo >= dtstart``), in order.

    Each time costs a step of ``budget``; periods and starts tried without one cost a step per
    :data:`TRIES_PER_STEP`, and so does making a rule's plan (once per rule and start)."""
    plan = _plan(rule, dtstart, budget)
    if plan is None:
        return
    first, last = _seconds(lo), _seconds(hi)
    if plan.along:
        yield from _along(plan, first, last, budget)
    else:
        yield from _by_day(plan, first, last, budget)


def _along(plan: _Plan, first: int, last: int, budget: Budget) -> Iterator[dt.datetime]:
    stride, offsets = plan.stride, plan.offsets
    any_start = not any(plan.limits)
    k = max(0, -(-(first - offsets[-1] - plan.origin) // stride))
    start = plan.origin + k * stride
    tried = 0
    while start <= last:
        if any_start or plan.allows(start):
            for offset in offsets:
                second = start + offset
                if second > last:
                    break
                if second >= first:
                    budget.spend()
                    yield _wall(second)
        else:
            tried += 1
            if tried == TRIES_PER_STEP:
                budget.spend()
                tried = 0
        start += stride


def _by_day(plan: _Plan, first: int, last: int, budget: Budget) -> Iterator[dt.datetime]:
    cycle, residues, offsets = plan.cycle, plan.residues, plan.offsets
    day = first // DAY
    tried = 0
    while True:
        here = day % cycle
        index = bisect.bisect_left(residues, here)
        if index < len(residues):
            day += residues[index] - here
        else:
            day += cycle - here + residues[0]
        midnight = day * DAY
        if midnight > last:
            return
        starts = plan.on_days[day % cycle]
        tried += 1 + len(starts)
        if tried >= TRIES_PER_STEP:
            budget.spend(tried // TRIES_PER_STEP)
            tried %= TRIES_PER_STEP
        for start in starts:
            for offset in offsets:
                second = midnight + start + offset
                if second > last:
                    return
                if second >= first:
                    budget.spend()
                    yield _wall(second)
        day += 1


def _plan(rule: Rule, dtstart: dt.datetime, budget: Budget) -> _Plan | None:
    key = (rule, dtstart)
    found = _PLANS.get(key, _MISSING)  # one read: another thread may clear the dict
    if found is not _MISSING:
        return found  # type: ignore[return-value]  # a plan or None, as stored
    plan = _make_plan(rule, dtstart, budget)
    size = 1 if plan is None else 1 + sum(map(len, plan.on_days.values()))
    if len(_PLANS) > 1024 or _held[0] + size > PLANS_SIZE:
        _PLANS.clear()
        _held[0] = 0
    _PLANS[key] = plan
    _held[0] += size
    return plan


def _make_plan(rule: Rule, dtstart: dt.datetime, budget: Budget) -> _Plan | None:
    level = rule.freq - HOURLY  # 0 hours, 1 minutes, 2 seconds
    seconds = tuple(second for second in rule.bysecond if second < 60)  # no leap seconds
    if rule.bysecond and not seconds:
        return None
    given = (rule.byhour, rule.byminute, seconds)
    defaults = ((dtstart.hour,), (dtstart.minute,), (dtstart.second,))
    # A part of the period's own unit or longer limits which periods count; a shorter one
    # expands each period to several times (from DTSTART when absent).
    limits = [given[i] or range((24, 60, 60)[i]) for i in range(level + 1)]
    expands = [given[i] or defaults[i] for i in range(level + 1, 3)]
    offsets = sorted({_sum_of(values, level + 1) for values in itertools.product(*expands)})
    if rule.bysetpos:
        picked = {
            offsets[position - 1 if position > 0 else position]
            for position in rule.bysetpos
            if abs(position) <= len(offsets)
        }
        offsets = sorted(picked)
    if not offsets:
        return None
    unit_start = dtstart.replace(
        minute=0 if level == 0 else dtstart.minute, second=0 if level < 2 else dtstart.second
    )
    origin = _seconds(unit_start)
    stride = rule.step * _UNIT[level]
    allowed = tuple(frozenset(values) if values else None for values in given[: level + 1])
    starts = math.prod(len(values) for values in limits)
    common = math.gcd(DAY, stride)
    if not any(allowed):
        return _Plan(stride, origin, tuple(offsets), allowed, along=True)
    if stride < DAY and starts * TRIES_PER_STEP > DAY // stride:
        # Many allowed starts, many periods a day: walk the stride, once it is known to reach
        # one of them (it reaches the seconds of the day ``origin + j * common``, no other).
        along = _Plan(stride, origin, tuple(offsets), allowed, along=True)
        if common == 1:
            return along
        budget.spend(min(starts, DAY // common) // TRIES_PER_STEP)
        if starts < DAY // common:
            reached = any(
                (_sum_of(values, 0) - origin) % common == 0 for values in itertools.product(*limits)
            )
        else:
            reached = any(along.allows(origin + j * common) for j in range(DAY // common))
        return along if reached else None
    budget.spend(starts // TRIES_PER_STEP)  # the work of finding the day classes
    cycle = stride // common
    # d * DAY + p ≡ origin (mod stride) has a solution only if common divides origin - p;
    # then d ≡ (origin - p) / common * (DAY / common)^-1  (mod cycle).
    inverse = pow(DAY // common, -1, cycle) if cycle > 1 else 0
    on_days: dict[int, list[int]] = {}
    for start in sorted(_sum_of(values, 0) for values in itertools.product(*limits)):
        gap = origin - start
        if gap % common == 0:
            on_days.setdefault(gap // common * inverse % cycle, []).append(start)
    if not on_days:
        return None  # the stride never falls on an allowed start
    return _Plan(
        stride,
        origin,
        tuple(offsets),
        allowed,
        along=False,
        cycle=cycle,
        residues=tuple(sorted(on_days)),
        on_days={day: tuple(values) for day, values in on_days.items()},
    )


def _sum_of(values: tuple[int, ...], level: int) -> int:
    """Seconds of hours, minutes, seconds given from ``level`` (0 hours, 1 minutes, 2 seconds)."""
    return sum(value * _UNIT[level + i] for i, value in enumerate(values))


def _seconds(wall: dt.datetime) -> int:
    return wall.toordinal() * DAY + wall.hour * 3600 + wall.minute * 60 + wall.second


def _wall(second: int) -> dt.datetime:
    day, rest = divmod(second, DAY)
    return dt.datetime.fromordinal(day) + dt.timedelta(seconds=rest)
