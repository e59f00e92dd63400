"""One VTIMEZONE for each TZID a calendar uses, built from the ``tzdata`` zone.

Each VTIMEZONE holds the zone's real offset changes from 1 January of the first year a value in
that zone falls in to 1 January after the last (past :data:`SETTLED`, where every zone keeps a
yearly rule, that rule). A series without an end (an RRULE with COUNT or with neither COUNT nor
UNTIL) counts as lasting :data:`OPEN_SERIES_YEARS` years after its last dated value.

The observances are written so that every common reader sees the same offsets (Mozilla's
ical.js reads only the first value of an RDATE property and skips the DTSTART of an observance
that has RDATEs; dateutil, behind the icalendar package, never joins RRULE and RDATE):

- the first observance holds the offset in force on 1 January of the first year;
- changes that follow a yearly rule (same month and time, same day rule such as the last Sunday,
  the second Sunday, the Friday on or after the 23rd, or a fixed date) in consecutive years are
  one observance with an ``RRULE``; it has no ``UNTIL`` when the rule still holds every year of
  the :data:`LOOKAHEAD_YEARS` after the covered ones (so a reader is right past them too), else
  its ``UNTIL`` is the last change (in UTC, and no earlier than its wall time: dateutil reads a
  UTC ``UNTIL`` as a wall time);
- other changes of the same kind are one observance whose ``DTSTART`` is the first change and
  with one ``RDATE`` property per change, the first included;
- ``DTSTART`` and ``RDATE`` are wall times in the offset before the change (``TZOFFSETFROM``).
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Final
from zoneinfo import ZoneInfo

from icalendar import Event as VEvent
from icalendar import Timezone, TimezoneDaylight, TimezoneStandard, vDDDLists, vDDDTypes, vRecur

from calgate.domain import zones

OPEN_SERIES_YEARS: Final = 10
# Within 12 years a date falls on every weekday: enough to tell rules such as the fourth
# Friday and the Friday on or after the 23rd apart.
LOOKAHEAD_YEARS: Final = 11

UTC = dt.UTC
# tzdata lists each zone's changes up to 2087 at most; after that every zone keeps a yearly rule.
# So no year past SETTLED + LOOKAHEAD_YEARS is looked at: the rules found by then go on.
SETTLED: Final = 2100
# Changes are looked for day by day from 1900 on, where tzdata has some only four days apart (no
# zone changes twice within a day), and four weeks at a time before, where they are months apart
# (checked over every zone: none under 60 days in 1700-1900; earlier, only local mean time).
DETAILED: Final = dt.datetime(1900, 1, 1, tzinfo=UTC)
DAY: Final = dt.timedelta(days=1)
WEEKS: Final = dt.timedelta(days=28)
WEEKDAYS: Final = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
FIRST: Final = dt.datetime(1, 1, 2, tzinfo=UTC)  # room for any offset on either side
LAST: Final = dt.datetime(9999, 12, 31, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Offset:
    """What a zone says at one instant."""

    utcoffset: dt.timedelta
    is_dst: bool
    name: str


@dataclass(frozen=True, slots=True)
class Change:
    """One change of offset: its onset (a wall time in the offset before it), before and after."""

    onset: dt.datetime
    before: dt.timedelta
    after: Offset


def _offset(zone: ZoneInfo, instant: dt.datetime) -> Offset:
    local = instant.astimezone(zone)
    utcoffset = local.utcoffset() or dt.timedelta(0)
    return Offset(utcoffset, bool(local.dst()), local.tzname() or "")


def _next(here: dt.datetime, end: dt.datetime) -> dt.datetime:
    if here < DETAILED:
        return min(here + WEEKS, DETAILED, end)
    return min(here + DAY, end)


def _changes(zone: ZoneInfo, start: dt.datetime, end: dt.datetime) -> Iterator[Change]:
    """The zone's changes in ``[start, end)`` (UTC), found step by step, then to the second."""
    here, now = start, _offset(zone, start)
    while here < end:
        there = _next(here, end)
        then = _offset(zone, there)
        if then != now:
            low, high = here, there  # the change is in (low, high]
            while high - low > dt.timedelta(seconds=1):
                middle = low + (high - low) / 2
                middle = middle.replace(microsecond=0)
                if _offset(zone, middle) == now:
                    low = middle
                else:
                    high = middle
            after = _offset(zone, high)
            onset = (high + now.utcoffset).replace(tzinfo=None)
            yield Change(onset, now.utcoffset, after)
            there, then = high, after
        here, now = there, then


def _day_rules(onset: dt.datetime) -> list[str]:
    """The yearly rules (BYxxx parts under ``BYMONTH``) whose day is ``onset``'s, best first."""
    day, weekday = onset.day, WEEKDAYS[onset.weekday()]
    length = calendar.monthrange(onset.year, onset.month)[1]
    shortest = 28 if onset.month == 2 else length
    rules = [f"BYDAY={(day - 1) // 7 + 1}{weekday}"] if day <= 28 else []
    if day + 7 > length:
        rules.append(f"BYDAY=-1{weekday}")
    rules.append(f"BYMONTHDAY={day}")
    for first in range(max(1, day - 6), min(day, shortest - 6) + 1):
        if first % 7 != 1:  # 1, 8, 15 and 22 are the ordinals above
            days = ",".join(str(first + n) for n in range(7))
            rules.append(f"BYDAY={weekday};BYMONTHDAY={days}")
    return rules


@dataclass(slots=True)
class Run:
    """Changes in consecutive years that one yearly rule gives."""

    onsets: list[dt.datetime]
    rules: list[str]

    def takes(self, onset: dt.datetime) -> bool:
        last = self.onsets[-1]
        if onset.year != last.year + 1 or (onset.month, onset.time()) != (last.month, last.time()):
            return False
        fits = set(_day_rules(onset))
        common = [rule for rule in self.rules if rule in fits]
        if not common:
            return False
        self.onsets.append(onset)
        self.rules = common
        return True


def _runs(onsets: Iterable[dt.datetime]) -> list[Run]:
    runs: list[Run] = []
    for onset in onsets:
        if not (runs and runs[-1].takes(onset)):
            runs.append(Run([onset], _day_rules(onset)))
    return runs


def _observance(key: tuple[dt.timedelta, Offset], onset: dt.datetime) -> Any:
    before, after = key
    part = TimezoneDaylight() if after.is_dst else TimezoneStandard()
    part.add("DTSTART", onset)
    part.add("TZNAME", after.name)
    part.add("TZOFFSETFROM", before)
    part.add("TZOFFSETTO", after.utcoffset)
    return part


def _observances(changes: Iterable[Change], last_year: int) -> list[Any]:
    """The observances of ``changes`` up to ``last_year``; later ones say if a rule goes on."""
    horizon = min(last_year + LOOKAHEAD_YEARS, dt.MAXYEAR)
    onsets: dict[tuple[dt.timedelta, Offset], list[dt.datetime]] = defaultdict(list)
    for change in changes:
        onsets[change.before, change.after].append(change.onset)
    parts: list[Any] = []
    for key, times in onsets.items():
        singles: list[dt.datetime] = []
        for run in _runs(times):
            kept = [onset for onset in run.onsets if onset.year <= last_year]
            goes_on = run.onsets[-1].year == horizon
            if not kept or len(run.onsets) < 2 or (len(kept) < 2 and not goes_on):
                singles.extend(kept)
                continue
            part = _observance(key, kept[0])
            rule = f"FREQ=YEARLY;BYMONTH={kept[0].month};{run.rules[0]}"
            if not goes_on:
                until = max(kept[-1], kept[-1] - key[0]).replace(tzinfo=UTC)
                rule += f";UNTIL={until:%Y%m%dT%H%M%SZ}"
            part.add("RRULE", vRecur.from_ical(rule))
            parts.append(part)
        if singles:
            part = _observance(key, singles[0])
            for onset in singles if len(singles) > 1 else ():
                part.add("RDATE", onset)
            parts.append(part)
    return sorted(parts, key=lambda part: part.decoded("DTSTART"))


@functools.lru_cache(maxsize=256)
def _zone_changes(tzid: str, first: int, last: int) -> tuple[Change, tuple[Change, ...]]:
    """The offset in force on 1 January of ``first`` (as a change to itself), then the changes."""
    zone = zones.zone(tzid)
    start = FIRST if first == 1 else dt.datetime(first, 1, 1, tzinfo=zone).astimezone(UTC)
    end_year = last + LOOKAHEAD_YEARS + 1
    end = dt.datetime(end_year, 1, 1, tzinfo=UTC) if end_year <= dt.MAXYEAR else LAST
    initial = _offset(zone, start)
    onset = (start + initial.utcoffset).replace(tzinfo=None)
    return Change(onset, initial.utcoffset, initial), tuple(_changes(zone, start, end))


def vtimezone(tzid: str, first: int, last: int) -> Timezone:
    """The VTIMEZONE of ``tzid`` for the years ``first`` to ``last``."""
    settled = min(last, max(first, SETTLED))  # the last year looked at, but for the look-ahead
    initial, changes = _zone_changes(tzid, first, settled)
    timezone = Timezone()
    timezone.add("TZID", tzid)
    covered = f"{first:04d}-01-01 to " + (f"{last + 1:04d}-01-01" if last < 9999 else "9999-12-31")
    timezone.add("COMMENT", f"This timezone only works from {covered}.")
    timezone.add_component(_observance((initial.before, initial.after), initial.onset))
    for part in _observances(changes, settled):
        timezone.add_component(part)
    return timezone


def _years(value: Any) -> list[int]:
    if isinstance(value, vDDDLists):
        return [year for item in value.dts for year in _years(item)]
    if isinstance(value, vDDDTypes):
        inner = value.dt
        if isinstance(inner, tuple):  # a PERIOD
            inner = inner[0]
        return [inner.year] if isinstance(inner, dt.date) else []
    return []


def _span(vevent: VEvent) -> tuple[set[str], int, int] | None:
    """The TZIDs one VEVENT uses and the years its zoned values cover."""
    tzids: set[str] = set()
    years: list[int] = []
    open_ended = False
    for _name, value in vevent.property_items(recursive=False, sorted=False):
        if isinstance(value, vRecur):
            until = value.get("UNTIL")
            if until:
                years.extend(item.year for item in until)
            else:
                open_ended = True
            continue
        params = getattr(value, "params", None)
        tzid = params.get("TZID") if params is not None else None
        if tzid:
            tzids.add(str(tzid))
            years.extend(_years(value))
    if not tzids or not years:
        return None
    last = max(years) + (OPEN_SERIES_YEARS if open_ended else 0)
    return tzids, min(years), min(last, dt.MAXYEAR)


def vtimezones(vevents: Iterable[VEvent]) -> list[Timezone]:
    """The VTIMEZONE components for ``vevents``, in TZID order."""
    spans: dict[str, tuple[int, int]] = {}
    for vevent in vevents:
        span = _span(vevent)
        if span is None:
            continue
        tzids, first, last = span
        for tzid in tzids:
            low, high = spans.get(tzid, (first, last))
            spans[tzid] = (min(low, first), max(high, last))
    return [vtimezone(tzid, first, last) for tzid, (first, last) in sorted(spans.items())]
