"""Reading DATE and DATE-TIME values into calgate's times, whatever zone names a file uses.

A TZID is resolved to an IANA zone when it is one, a Windows name (as Outlook writes) or a path
ending in one (``/mozilla.org/20050126_1/Europe/Paris``): the wall time and that zone are kept.
A custom VTIMEZONE whose TZID is none of these still gives the instant through its offsets, and
that instant is kept in UTC. A floating time (no TZID, no ``Z``) is read in ``floating_tz``.

The second of two equal wall times (the repeated hour when daylight saving time ends, Python's
``fold=1``) has no TZID form: RFC 5545 section 3.3.5 reads a TZID wall time that happens twice
as the first. Such a value is written in UTC (``20261025T013000Z``), with the parameter
``X-CALGATE-TZID=Europe/Paris`` naming its zone; reading a UTC value with that parameter gives
the wall time in that zone back (with ``fold=1``). Readers that ignore the parameter, as RFC 5545
lets them, still get the exact instant.
"""

from __future__ import annotations

import datetime as dt

from calgate.domain import zones
from calgate.domain.ical import tables
from calgate.domain.times import EventTime
from calgate.errors import InvalidParameters

UTC = dt.UTC


def iana(tzid: str) -> str | None:
    """The IANA name a TZID stands for, or ``None``."""
    try:
        return zones.canonical(tzid)
    except KeyError:
        pass
    parts = tzid.strip("/").split("/")
    for first in range(1, len(parts) - 1):
        try:
            return zones.canonical("/".join(parts[first:]))
        except KeyError:
            continue
    return None


def _zone_of(value: dt.datetime, tzid: str | None) -> str | None:
    """The IANA zone of an aware ``value``, if it has one."""
    if tzid:
        name = iana(tzid)
        if name:
            return name
    key = getattr(value.tzinfo, "key", None)
    if isinstance(key, str) and (name := iana(key)):
        return name
    if tzid is None and value.utcoffset() == dt.timedelta(0):
        return "UTC"
    return None


def _in_zone(wall: dt.datetime, tz: str) -> EventTime:
    # A wall time in a DST gap means the instant after the gap (RFC 5545 section 3.3.5).
    return EventTime.at(wall.replace(tzinfo=zones.zone(tz)).astimezone(UTC), tz)


def read_datetime(
    value: dt.datetime, tzid: str | None, floating_tz: str, where: str, shown_in: str | None = None
) -> EventTime:
    """The :class:`EventTime` of a DATE-TIME as ``icalendar`` parsed it.

    ``shown_in`` is the value's ``X-CALGATE-TZID`` parameter: the zone of a UTC value (an
    unknown zone name there is ignored: the value stays in UTC).
    """
    if value.tzinfo is None:
        if not tzid:
            return _in_zone(value, floating_tz)
        name = iana(tzid)
        if name is None:
            raise InvalidParameters(
                f"{where}: unknown time zone {tzid!r} (the file has no VTIMEZONE for it, and it "
                "is not an IANA or Windows zone name)"
            )
        return _in_zone(value, name)
    name = _zone_of(value, tzid)
    if name == "UTC" and shown_in and (shown := iana(shown_in)):
        return EventTime.at(value, shown)
    if name is not None:
        return _in_zone(value.replace(tzinfo=None), name)
    return EventTime.at(value, "UTC")


def read_time(
    value: object, tzid: str | None, floating_tz: str, where: str, shown_in: str | None = None
) -> EventTime:
    """A DATE (all-day) or DATE-TIME value; anything else is an error."""
    if isinstance(value, dt.datetime):
        return read_datetime(value, tzid, floating_tz, where, shown_in)
    if isinstance(value, dt.date):
        return EventTime(date=value)
    raise InvalidParameters(f"{where}: expected a DATE or DATE-TIME value")


def is_second_pass(time: EventTime) -> bool:
    """Whether a TZID value of ``time``'s wall time would name another instant (RFC 5545 reads
    a wall time that happens twice as the first)."""
    if time.wall is None:
        return False
    first = time.wall.replace(tzinfo=zones.zone(time.tz), fold=0)
    return first.astimezone(UTC) != time.utc


def aware(time: EventTime) -> dt.datetime | dt.date:
    """The value to hand ``icalendar``: a date, the wall time with its IANA zone, or the UTC
    instant for the second of two equal wall times."""
    if time.date is not None:
        return time.date
    if is_second_pass(time):
        return time.utc
    return time.aware


def parameters(time: EventTime) -> dict[str, str]:
    """The parameters :func:`aware`'s value needs besides TZID: the zone of a UTC value."""
    return {tables.X_TZID: time.tz} if is_second_pass(time) else {}
