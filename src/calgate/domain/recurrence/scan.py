"""The wall times one rule produces, driven by dateutil without walking from the series start.

Two facts keep every scan short and bounded:

* Once the defaults a rule takes from DTSTART are spelled out (the day of the month of a MONTHLY
  rule, the hour of a DAILY one, ...), its occurrences in one period (a year for YEARLY, a week for
  WEEKLY, ...) depend on that period alone. So a scan starts at the period that holds the window
  start, counted in INTERVALs from DTSTART's period, instead of at DTSTART.
* The Gregorian calendar repeats every 400 years (146097 days, a whole number of weeks). So a scan
  runs 400·k years later, as close to the year 9999 as it fits, and moved back. dateutil stops at
  a rule's UNTIL only once it finds a later occurrence, but always at the year 9999: this bounds
  what it walks past the window even for a rule with no occurrence left.

A rule is "endless" here: COUNT and UNTIL are the caller's business (:func:`last_wall` helps).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import math
from collections.abc import Iterator
from typing import Any, Literal

from dateutil import rrule as du

from calgate.domain.recurrence import subdaily
from calgate.domain.recurrence.budget import Budget
from calgate.domain.recurrence.limits import SEARCH_YEARS
from calgate.domain.recurrence.rule import DAILY, MONTHLY, WEEKLY, YEARLY, Rule

WALL_MAX = dt.datetime.max.replace(microsecond=0)
LAST_SECOND = dt.timedelta(days=1, seconds=-1)
SETUP_STEPS = 10
"""What setting up one dateutil walk costs, in steps (about ten candidates' worth)."""
_FREQUENCIES: tuple[Literal[0, 1, 2, 3, 4, 5, 6], ...] = (
    du.YEARLY,
    du.MONTHLY,
    du.WEEKLY,
    du.DAILY,
    du.HOURLY,
    du.MINUTELY,
    du.SECONDLY,
)
"""dateutil's frequencies, indexed like :data:`.rule.FREQS`."""
_STEP_DAYS = {du.YEARLY: 365, du.MONTHLY: 28, du.WEEKLY: 7, du.DAILY: 1}
"""The shortest length of each frequency's period, in days."""


def walls(
    rule: Rule, dtstart: dt.datetime, lo: dt.datetime, hi: dt.datetime, budget: Budget
) -> Iterator[dt.datetime]:
    """The rule's wall times from ``lo`` to ``hi`` (both included), in order.

    A rule shorter than a day that keeps only some days (BYMONTH, BYMONTHDAY, BYDAY, ...) is
    scanned in two levels: a YEARLY rule finds the days it keeps (a year per step), then the rule
    without those parts runs on each such day. dateutil alone crosses every day in between
    second by second (seconds of CPU for a rule that matches once in four years). Rules shorter
    than a day are not walked by dateutil at all: :mod:`.subdaily` finds their times by
    arithmetic.
    """
    lo = max(lo, dtstart)
    if hi < lo:
        return
    if rule.freq <= DAILY or not _keeps_some_days(rule):
        yield from _walls(rule, dtstart, lo, hi, budget)
        return
    each_day = dataclasses.replace(
        rule, bymonth=(), bymonthday=(), byyearday=(), byweekno=(), byday=()
    )
    midnight = dt.datetime.combine(dtstart.date(), dt.time())
    first_day = dt.datetime.combine(lo.date(), dt.time())
    for day in _walls(_days(rule, dtstart), midnight, first_day, hi, budget):
        budget.spend()
        yield from _walls(each_day, dtstart, max(lo, day), min(hi, day + LAST_SECOND), budget)


def _walls(
    rule: Rule, dtstart: dt.datetime, lo: dt.datetime, hi: dt.datetime, budget: Budget
) -> Iterator[dt.datetime]:
    """dateutil's walk from the period that holds ``lo``, each step paid for (for a rule of a
    day or longer; :mod:`.subdaily` gives the times of a shorter one).

    dateutil does not show the periods it walks without an occurrence: they are paid for when
    the next occurrence comes (the time since the last one, in days).
    """
    lo = max(lo, dtstart)
    if hi < lo:
        return
    if rule.freq > DAILY:
        budget.spend()
        yield from subdaily.times(rule, dtstart, lo, hi, budget)
        return
    budget.spend(SETUP_STEPS)
    shift = SEARCH_YEARS * ((dt.MAXYEAR - hi.year) // SEARCH_YEARS)
    first = _years_later(_period_start(rule, dtstart, lo), shift)
    recurrence = _rrule(rule, dtstart, first, _years_later(hi, shift))
    if recurrence is None:
        return
    days = _STEP_DAYS[rule.freq] * rule.step
    for shifted in _iterate(recurrence):
        budget.spend(1 + (shifted - first).days // days)
        first = shifted
        wall = _years_later(shifted, -shift)
        if wall >= lo:
            yield wall


def _keeps_some_days(rule: Rule) -> bool:
    return bool(rule.bymonth or rule.bymonthday or rule.byyearday or rule.byweekno or rule.byday)


def occurs(rule: Rule, dtstart: dt.datetime, budget: Budget) -> bool:
    """Whether the rule produces an occurrence within SEARCH_YEARS of DTSTART.

    Two cheap necessary conditions answer first, so most rules that never occur are told apart
    in milliseconds (the full search walks up to 800 years of periods): BYSETPOS must fit in the
    largest set one period can hold, and the days the BYxxx parts allow must exist (a YEARLY
    search, which walks one period per year).
    """
    if rule.bysetpos and min(abs(position) for position in rule.bysetpos) > _largest_set(rule):
        return False
    midnight = dt.datetime.combine(dtstart.date(), dt.time())
    if first_wall(_days(rule, dtstart), midnight, budget) is None:
        return False
    return first_wall(rule, dtstart, budget) is not None


def first_wall(rule: Rule, dtstart: dt.datetime, budget: Budget) -> dt.datetime | None:
    """The rule's first wall time within SEARCH_YEARS of DTSTART; None if it never occurs."""
    if dtstart.year + SEARCH_YEARS <= dt.MAXYEAR:
        hi = _years_later(dtstart, SEARCH_YEARS)
    else:
        hi = WALL_MAX
    return next(walls(rule, dtstart, dtstart, hi, budget), None)


_LAST: dict[tuple[Rule, dt.datetime, bool], dt.datetime | None] = {}
_MISSING = object()


def last_wall(
    rule: Rule, dtstart: dt.datetime, dtstart_counts: bool, budget: Budget
) -> dt.datetime | None:
    """The wall time of a COUNT rule's last occurrence; None if it adds none.

    With ``dtstart_counts`` (RRULE), DTSTART is the first of the COUNT occurrences even when the
    rule does not produce it (RFC 5545 section 3.3.10). Cost: COUNT steps, once per rule.
    """
    assert rule.count is not None
    key = (rule, dtstart, dtstart_counts)
    found = _LAST.get(key, _MISSING)  # one read: another thread may clear the dict
    if found is not _MISSING:
        return found  # type: ignore[return-value]  # a wall time or None, as stored
    produced = walls(rule, dtstart, dtstart, WALL_MAX, budget)
    first = next(produced, None)
    last = None
    if first is not None:
        count = rule.count - (1 if dtstart_counts and first != dtstart else 0)
        if count >= 1:
            last = first
            for last in itertools.islice(produced, count - 1):  # noqa: B007  # finds the last
                pass
    if len(_LAST) > 4096:
        _LAST.clear()
    _LAST[key] = last
    return last


def _largest_set(rule: Rule) -> int:
    """How many occurrences one period of the rule can hold at most, before BYSETPOS."""
    seconds = tuple(second for second in rule.bysecond if second < 60)
    counts = (len(rule.byhour or (0,)), len(rule.byminute or (0,)), len(seconds or (0,)))
    times = math.prod(counts[max(rule.freq - DAILY, 0) :])
    if rule.freq == WEEKLY:
        return times * (len({day for day, _ in rule.byday}) or 1)
    if rule.freq == MONTHLY:
        if rule.bymonthday:
            return times * len(rule.bymonthday)
        return times * (sum(1 if ordinal else 5 for _, ordinal in rule.byday) or 1)
    return times * (366 if rule.freq == YEARLY else 1)


def _days(rule: Rule, dtstart: dt.datetime) -> Rule:
    """A YEARLY rule for the days that ``rule``'s BYxxx parts allow: a superset of its days."""
    bymonth, bymonthday, byday = _day_parts(rule, dtstart)
    if not (rule.byweekno or rule.byyearday or bymonthday or byday):
        bymonthday = tuple(range(1, 32))  # DAILY and shorter: any day
    if rule.freq == MONTHLY and any(ordinal for _, ordinal in byday):
        bymonth = bymonth or tuple(range(1, 13))  # ordinals count within each month
    return Rule(
        YEARLY,
        bymonth=bymonth,
        bymonthday=bymonthday,
        byyearday=rule.byyearday,
        byweekno=rule.byweekno,
        byday=byday,
        wkst=rule.wkst,
    )


def _period_start(rule: Rule, dtstart: dt.datetime, lo: dt.datetime) -> dt.datetime:
    """The start of the period that holds ``lo`` (DTSTART itself in DTSTART's own period)."""
    step = rule.step
    if rule.freq == YEARLY:
        k = (lo.year - dtstart.year) // step
        first = dt.datetime(dtstart.year + k * step, 1, 1)
    elif rule.freq == MONTHLY:
        k = ((lo.year - dtstart.year) * 12 + lo.month - dtstart.month) // step
        index = dtstart.month - 1 + k * step
        first = dt.datetime(dtstart.year + index // 12, index % 12 + 1, 1)
    else:  # WEEKLY, DAILY
        days = 7 if rule.freq == WEEKLY else 1
        wkst = rule.wkst or 0
        origin = dtstart.date() - dt.timedelta(days=(dtstart.weekday() - wkst) % days)
        k = (lo.date() - origin).days // days // step
        first = dt.datetime.combine(origin + dt.timedelta(days=k * step * days), dt.time())
    return dtstart if k <= 0 else first


def _rrule(
    rule: Rule, dtstart: dt.datetime, first: dt.datetime, until: dt.datetime | None
) -> du.rrule | None:
    """dateutil's rrule from ``first`` with DTSTART's defaults spelled out; None if empty."""
    parts = _explicit_parts(rule, dtstart)
    if parts is None:
        return None
    try:
        return du.rrule(
            _FREQUENCIES[rule.freq],
            dtstart=first,
            until=until,
            interval=rule.step,
            wkst=rule.wkst or 0,
            cache=False,
            **parts,
        )
    except ValueError:  # dateutil finds some HOURLY..SECONDLY rules empty from the start
        return None


def _explicit_parts(rule: Rule, dtstart: dt.datetime) -> dict[str, Any] | None:
    """The BYxxx parts with the defaults dateutil would take from DTSTART made explicit."""
    bymonth, bymonthday, byday = _day_parts(rule, dtstart)
    seconds = tuple(second for second in rule.bysecond if second < 60)  # no leap seconds
    if rule.bysecond and not seconds:
        return None
    return {
        "bymonth": bymonth or None,
        "bymonthday": bymonthday or None,
        "byyearday": rule.byyearday or None,
        "byweekno": rule.byweekno or None,
        "byweekday": [du.weekday(day, ordinal or None) for day, ordinal in byday] or None,
        "bysetpos": rule.bysetpos or None,
        "byhour": rule.byhour or ((dtstart.hour,) if rule.freq <= DAILY else None),
        "byminute": rule.byminute or ((dtstart.minute,) if rule.freq <= du.HOURLY else None),
        "bysecond": seconds or ((dtstart.second,) if rule.freq <= du.MINUTELY else None),
    }


def _day_parts(
    rule: Rule, dtstart: dt.datetime
) -> tuple[tuple[int, ...], tuple[int, ...], tuple[tuple[int, int], ...]]:
    """BYMONTH, BYMONTHDAY and BYDAY with the days RFC 5545 takes from DTSTART when none is set."""
    bymonth, bymonthday, byday = rule.bymonth, rule.bymonthday, rule.byday
    if not (rule.byweekno or rule.byyearday or rule.bymonthday or rule.byday):
        if rule.freq == YEARLY:
            bymonth = bymonth or (dtstart.month,)
            bymonthday = (dtstart.day,)
        elif rule.freq == MONTHLY:
            bymonthday = (dtstart.day,)
        elif rule.freq == WEEKLY:
            byday = ((dtstart.weekday(), 0),)
    return bymonth, bymonthday, byday


def _iterate(recurrence: du.rrule) -> Iterator[dt.datetime]:
    try:
        yield from recurrence
    except ValueError:  # dateutil: "Invalid combination of interval and byhour ..."
        return


def _years_later(wall: dt.datetime, years: int) -> dt.datetime:
    """``wall`` moved by a multiple of 400 years: the same weekday, Feb 29 stays valid."""
    return wall.replace(year=wall.year + years)
