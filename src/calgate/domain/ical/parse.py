"""Reading ``.ics`` files: every VEVENT as calgate fields, or a 400 that says what is wrong.

Rules for real-world input, beyond what :mod:`.export` writes:

- End: DTEND or DURATION (not both). DURATION days are wall-clock days (RFC 5545 section 3.3.6),
  its hours, minutes and seconds exact. With neither, an all-day event lasts one day; a timed
  event is zero-length by RFC 5545, and calgate needs its end after its start, so a zero-length
  timed event (no end, a zero DURATION, or DTEND equal to DTSTART) lasts
  :data:`ZERO_LENGTH_STANDIN`; an all-day one lasts one day.
- Zones: see :mod:`.instants` (IANA, Windows and path TZIDs keep their wall time; other custom
  VTIMEZONEs give a UTC time; a UTC time with ``X-CALGATE-TZID``, as calgate writes the second
  of two equal wall times, is read in that zone). Floating times are read in ``floating_tz``
  (default UTC).
- No UID: a UID is made from a hash of the VEVENT's text, so importing the same file twice gives
  the same UIDs.
- Attendees and organizers whose address is not an email (``urn:uuid:…``) are left out; the
  attendee with the ORGANIZER's email (or ROLE=CHAIR) is marked ``is_organizer``.
- Recurrence lines come back as :func:`.recurrence.canonical` gives them (RRULE, EXRULE, RDATE,
  EXDATE; ``FREQ`` first). Their rules are parsed, not checked for sense (``BYHOUR=99`` passes):
  that is calgate's recurrence validator's job.
- Text: escapes (``\\,`` ``\\;`` ``\\n``) are undone; folds are undone on the bytes, so a fold
  inside a UTF-8 sequence is fine. A broken CREATED or LAST-MODIFIED reads as ``None``; a
  broken value in a property calgate uses is an error naming the VEVENT and the property.
- Limits: at most :data:`MAX_IMPORT_EVENTS` VEVENTs per file (400 ``content_too_large``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

from icalendar import Calendar as VCalendar
from icalendar import Event as VEvent
from icalendar import GloballyUniqueTZIDGuessed, vBroken

from calgate.domain import zones
from calgate.domain.ical import tables
from calgate.domain.ical.instants import read_time
from calgate.domain.ical.parse_parts import (
    attendees,
    color,
    conference,
    flag,
    organizer,
    recurrence,
    text,
)
from calgate.domain.model import EventFields, Organizer
from calgate.domain.times import EventTime
from calgate.errors import ContentTooLarge, InvalidParameters

MAX_IMPORT_EVENTS: Final = 100_000
ZERO_LENGTH_STANDIN: Final = dt.timedelta(minutes=1)

UTC = dt.UTC
_FOLD = re.compile(rb"\r?\n[ \t]")

# Properties this module reads: a value icalendar could not parse in one of them is an error.
# (A broken CREATED or LAST-MODIFIED only loses its bookkeeping time: it reads as None.)
_READ: Final = frozenset(
    {
        "UID", "DTSTART", "DTEND", "DURATION", "RECURRENCE-ID", "SEQUENCE", "STATUS", "SUMMARY",
        "DESCRIPTION", "LOCATION", "TRANSP", "CLASS", "ORGANIZER", "ATTENDEE", "COLOR",
        "CONFERENCE", *tables.RECURRENCE_PROPERTIES,
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class ParsedEvent:
    """One VEVENT of a file: a series master, a single event or an exception."""

    uid: str
    fields: EventFields
    recurrence_id: EventTime | None
    sequence: int
    is_cancelled: bool
    organizer: Organizer | None
    created_at: dt.datetime | None
    updated_at: dt.datetime | None


def _one(vevent: VEvent, name: str) -> Any:
    value = vevent.get(name)
    if isinstance(value, list):
        raise InvalidParameters(f"{name}: appears {len(value)} times; expected once")
    return value


def _time(vevent: VEvent, name: str, floating_tz: str) -> EventTime | None:
    prop = _one(vevent, name)
    if prop is None:
        return None
    params = prop.params
    return read_time(prop.dt, params.get("TZID"), floating_tz, name, params.get(tables.X_TZID))


def _after(start: EventTime, duration: dt.timedelta) -> EventTime:
    if start.date is not None:
        return EventTime(date=start.date + dt.timedelta(days=duration.days))
    # Wall-clock days (aware arithmetic drops fold=1: no days, no wall clock).
    days = dt.timedelta(days=duration.days)
    base = (start.aware + days).astimezone(UTC) if days else start.utc
    exact = dt.timedelta(seconds=duration.seconds, microseconds=duration.microseconds)
    return EventTime.at(base + exact, start.tz)


def _standin_end(start: EventTime) -> EventTime:
    if start.date is not None:
        return EventTime(date=start.date + dt.timedelta(days=1))
    return EventTime.at(start.utc + ZERO_LENGTH_STANDIN, start.tz)


def _end(vevent: VEvent, start: EventTime, floating_tz: str) -> EventTime:
    end = _time(vevent, "DTEND", floating_tz)
    duration = _one(vevent, "DURATION")
    if end is not None and duration is not None:
        raise InvalidParameters("DTEND and DURATION: give one of them, not both")
    if end is not None:
        if end.is_all_day != start.is_all_day:
            kinds = ("a DATE", "a DATE-TIME") if end.is_all_day else ("a DATE-TIME", "a DATE")
            raise InvalidParameters(f"DTEND: is {kinds[0]} but DTSTART is {kinds[1]}")
        if end.utc < start.utc:
            raise InvalidParameters("DTEND: is before DTSTART")
        return end if end.utc > start.utc else _standin_end(start)
    if duration is None:
        return _standin_end(start)
    length = duration.dt
    if not isinstance(length, dt.timedelta):
        raise InvalidParameters("DURATION: expected a duration such as PT1H or P1D")
    if length < dt.timedelta(0):
        raise InvalidParameters("DURATION: must not be negative")
    if start.is_all_day and length % dt.timedelta(days=1):
        raise InvalidParameters(
            "DURATION: an all-day event (DTSTART is a DATE) lasts whole days or weeks"
        )
    return _after(start, length) if length else _standin_end(start)


def _stamp(vevent: VEvent, name: str) -> dt.datetime | None:
    prop = vevent.get(name)
    if isinstance(prop, list):
        prop = prop[0]
    if prop is None or isinstance(prop, vBroken):
        return None
    value = prop.dt
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time(), UTC)
    return None


def _sequence(vevent: VEvent) -> int:
    value = _one(vevent, "SEQUENCE")
    if value is None:
        return 0
    sequence = int(value)
    if sequence < 0:
        raise InvalidParameters(f"SEQUENCE: {sequence} is negative")
    return sequence


def _uid(vevent: VEvent) -> str:
    value = vevent.get("UID")
    uid = str(value[0] if isinstance(value, list) else value or "").strip()
    if uid:
        return uid
    digest: str = hashlib.sha256(vevent.to_ical()).hexdigest()
    return f"calgate-{digest[:32]}"


def _read(vevent: VEvent, uid: str, floating_tz: str) -> ParsedEvent:
    for name, message in vevent.errors:
        if name in _READ:
            raise InvalidParameters(f"{name}: {message}")
    start = _time(vevent, "DTSTART", floating_tz)
    if start is None:
        raise InvalidParameters("DTSTART: missing (an imported VEVENT needs a start)")
    chosen = organizer(vevent)
    fields = EventFields(
        title=text(vevent, "SUMMARY"),
        start=start,
        end=_end(vevent, start, floating_tz),
        body=text(vevent, "DESCRIPTION"),
        location=text(vevent, "LOCATION"),
        transparency=tables.TRANSP_IN.get(text(vevent, "TRANSP").upper(), "opaque"),
        visibility=tables.CLASS_IN.get(text(vevent, "CLASS").upper(), "default"),
        conference=conference(vevent),
        is_attendees_list_hidden=flag(vevent, tables.X_HIDE_ATTENDEES),
        attendees=attendees(vevent, chosen),
        recurrence=recurrence(vevent, floating_tz),
        color=color(vevent),
        guests_can_modify=flag(vevent, tables.X_GUESTS_CAN_MODIFY),
    )
    return ParsedEvent(
        uid=uid,
        fields=fields,
        recurrence_id=_time(vevent, "RECURRENCE-ID", floating_tz),
        sequence=_sequence(vevent),
        is_cancelled=text(vevent, "STATUS").upper() == "CANCELLED",
        organizer=chosen,
        created_at=_stamp(vevent, "CREATED"),
        updated_at=_stamp(vevent, "LAST-MODIFIED"),
    )


def _vevents(data: bytes | str) -> list[VEvent]:
    if isinstance(data, bytes):
        # Unfold before decoding: a fold may split a UTF-8 sequence (RFC 5545 section 3.1).
        data = _FOLD.sub(b"", data)
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise InvalidParameters(f"iCalendar: not UTF-8 text ({error})") from None
    data = data.removeprefix("\ufeff")
    if data.upper().count("BEGIN:VEVENT") > MAX_IMPORT_EVENTS:
        raise ContentTooLarge(f"iCalendar: more than {MAX_IMPORT_EVENTS} VEVENTs in one file")
    try:
        with warnings.catch_warnings():
            # "/vendor/Europe/Paris" TZIDs: calgate reads them as their IANA suffix on purpose
            # (see .instants), so icalendar's warning that it guessed the same is noise. Should
            # threads interleave here, the worst outcome is that this warning stays ignored.
            warnings.simplefilter("ignore", GloballyUniqueTZIDGuessed)
            components = VCalendar.from_ical(data, multiple=True)
    except (ValueError, KeyError, IndexError, TypeError) as error:
        raise InvalidParameters(f"iCalendar: {error}") from None
    if not components:
        raise InvalidParameters(
            "iCalendar: no complete VCALENDAR (BEGIN:VCALENDAR … END:VCALENDAR) in the file"
        )
    vevents = [v for c in components for v in c.walk("VEVENT") if isinstance(v, VEvent)]
    if len(vevents) > MAX_IMPORT_EVENTS:
        raise ContentTooLarge(f"iCalendar: more than {MAX_IMPORT_EVENTS} VEVENTs in one file")
    return vevents


def iter_ics(data: bytes | str, *, floating_tz: str = "UTC") -> Iterator[ParsedEvent]:
    """The VEVENTs of ``data`` one by one (the file is parsed whole first)."""
    floating = zones.resolve(floating_tz, "floating_tz")
    for index, vevent in enumerate(_vevents(data), 1):
        uid = _uid(vevent)
        try:
            parsed = _read(vevent, uid, floating)
        except InvalidParameters as error:
            raise InvalidParameters(f"VEVENT {index} (UID {uid}): {error.detail}") from None
        yield parsed


def parse_ics(data: bytes | str, *, floating_tz: str = "UTC") -> list[ParsedEvent]:
    """Every VEVENT of ``data``; raises :class:`InvalidParameters` naming the first bad one."""
    return list(iter_ics(data, floating_tz=floating_tz))
