"""RDATE and EXDATE lines (RFC 5545 sections 3.8.5.1 and 3.8.5.2).

Values are read with icalendar's value types (DATE, DATE-TIME, PERIOD) as the line's ``VALUE``
parameter says, and must be of the event start's kind: dates for an all-day event, date-times
otherwise. A date-time with ``TZID`` is a wall time in that zone, one ending in ``Z`` is UTC, one
with neither is a wall time in the event start's zone. A wall time that a daylight saving change
skips is read with the offset from before the change, so it moves forward by the length of the
gap; an ambiguous one is the first of the two (RFC 5545 section 3.3.5).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from icalendar.parser import Parameters
from icalendar.prop import vDDDLists

from calgate.domain import zones
from calgate.domain.recurrence import ical
from calgate.domain.recurrence.rule import Problem
from calgate.domain.times import EventTime

Period = ical.Period
Value = dt.date | Period
"""A date, a date-time (naive, or aware in UTC) or a PERIOD (start, end or duration)."""

KINDS: dict[str, tuple[str, ...]] = {
    "RDATE": ("DATE-TIME", "DATE", "PERIOD"),
    "EXDATE": ("DATE-TIME", "DATE"),
}
"""The value types each property may hold; the first is the default."""
PARAMETERS = ("TZID", "VALUE")


@dataclass(frozen=True, slots=True)
class DateList:
    """A checked RDATE or EXDATE line."""

    name: str
    params: tuple[tuple[str, str], ...]
    values: tuple[Value, ...]
    instants: tuple[dt.datetime, ...]
    """The values' start instants in UTC; an all-day date counts from midnight UTC."""

    def to_ical(self) -> str:
        return ical.write_line(self.name, dict(self.params), vDDDLists(list(self.values)))

    def with_value(self, value: Value, instant: dt.datetime) -> DateList:
        return DateList(self.name, self.params, (*self.values, value), (*self.instants, instant))


def parse_dates(name: str, params: Parameters, text: str, start: EventTime) -> DateList:
    """Read one RDATE or EXDATE line's parameters and values."""
    given = {key.upper(): value for key, value in params.items()}
    for key, value in given.items():
        if key not in PARAMETERS:
            raise Problem(f"parameter {key} is not allowed on {name} (only TZID and VALUE)")
        if not isinstance(value, str):
            raise Problem(f"parameter {key} must have one value")
    kind = given.get("VALUE", KINDS[name][0]).upper()
    if kind not in KINDS[name]:
        raise Problem(f"VALUE={kind} is not allowed on {name} (use {' or '.join(KINDS[name])})")
    zone_name = _zone_name(given.get("TZID"), kind)
    if start.is_all_day and kind != "DATE":
        raise Problem(
            f"{name} values must be dates ({name};VALUE=DATE:YYYYMMDD) because the event is all-day"
        )
    if not start.is_all_day and kind == "DATE":
        raise Problem(
            f"{name} values must be date-times because the event start has a time "
            "(VALUE=DATE is for all-day events)"
        )
    if not text:
        raise Problem(f"{name} has no value")
    zone_of_walls = zone_name or start.tz
    values: list[Value] = []
    instants: list[dt.datetime] = []
    for item in text.upper().split(","):
        value = _value(kind, item, zone_name)
        values.append(value)
        instants.append(_instant(value[0] if isinstance(value, tuple) else value, zone_of_walls))
    written: tuple[tuple[str, str], ...] = (("TZID", zone_name),) if zone_name else ()
    if kind != KINDS[name][0]:
        written += (("VALUE", kind),)
    return DateList(name, written, tuple(values), tuple(instants))


def date_value(occurrence: EventTime, start: EventTime) -> tuple[Value, dict[str, str]]:
    """How an EXDATE names ``occurrence``: a date, a UTC time, or a wall time in start's zone.

    The second of two equal wall times is a UTC time: a TZID wall time names the first.
    """
    if occurrence.date is not None:
        return occurrence.date, {"VALUE": "DATE"}
    instant = occurrence.utc.replace(microsecond=0)
    if zones.canonical(start.tz) in zones.UTC_NAMES:
        return instant, {}
    wall = EventTime.at(instant, start.tz).wall
    assert wall is not None
    if wall.fold:
        return instant, {}
    return wall, {"TZID": zones.canonical(start.tz)}


def _zone_name(tzid: str | None, kind: str) -> str | None:
    if tzid is None:
        return None
    if kind == "DATE":
        raise Problem("TZID cannot be used with VALUE=DATE (dates have no time zone)")
    try:
        return zones.canonical(tzid)
    except KeyError:
        raise Problem(f"TZID {tzid!r} is not a known time zone") from None


def _value(kind: str, item: str, zone_name: str | None) -> Value:
    if kind == "DATE":
        try:
            return ical.read_date(item)
        except ValueError:
            raise Problem(f"value {item!r} is not a date (YYYYMMDD)") from None
    if kind == "PERIOD":
        return _period(item, zone_name)
    return _datetime(item, zone_name)


def _datetime(item: str, zone_name: str | None) -> dt.datetime:
    try:
        value = ical.read_datetime(item)
    except ValueError:
        hint = "" if zone_name else ", with Z for UTC"
        raise Problem(f"value {item!r} is not a date-time (YYYYMMDDTHHMMSS{hint})") from None
    if zone_name and value.tzinfo is not None:
        raise Problem(f"value {item!r} is in UTC (Z), which the TZID parameter does not allow")
    return value


def _period(item: str, zone_name: str | None) -> Period:
    begin, slash, finish = item.partition("/")
    if not slash:
        raise Problem(f"value {item!r} is not a period (start/end or start/duration)")
    first = _datetime(begin, zone_name)
    try:
        period = ical.read_period(item)
    except ValueError:
        raise Problem(f"value {item!r} is not a period (start/end or start/duration)") from None
    end = period[1]
    if isinstance(end, dt.datetime):
        end = _datetime(finish, zone_name)
        if (end.tzinfo is None) != (first.tzinfo is None) or end <= first:
            raise Problem(f"period {item!r} must end after it starts, in the same time form")
    elif not isinstance(end, dt.timedelta) or end <= dt.timedelta(0):
        raise Problem(f"period {item!r} must have a positive duration")
    return first, end


def _instant(value: dt.date, zone_name: str) -> dt.datetime:
    try:
        if not isinstance(value, dt.datetime):
            return dt.datetime.combine(value, dt.time(), dt.UTC)
        if value.tzinfo is None:
            value = value.replace(tzinfo=zones.zone(zone_name))
        return value.astimezone(dt.UTC)
    except OverflowError:
        raise Problem(f"value {value.isoformat()!r} is out of range") from None
