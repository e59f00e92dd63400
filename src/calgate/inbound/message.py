"""An iTIP message (REPLY or COUNTER, RFC 5546) read from a raw RFC 5322 mail (RFC 6047)."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import getaddresses
from typing import Any

from icalendar import Calendar as VCalendar

from calgate.domain.ical.instants import read_time
from calgate.domain.ical.tables import PARTSTAT_IN
from calgate.domain.model import ResponseStatus
from calgate.domain.times import EventTime
from calgate.errors import CalgateError

METHODS = ("REPLY", "COUNTER")


class Dropped(ValueError):
    """A message calgate does not apply (the reason is the message)."""


@dataclass(frozen=True, slots=True)
class Itip:
    method: str
    uid: str
    sequence: int
    attendee: str
    status: ResponseStatus
    sender: str
    comment: str = ""
    recurrence_id: EventTime | None = None
    # A COUNTER's proposed times.
    start: EventTime | None = None
    end: EventTime | None = None


def _calendar_part(message: EmailMessage) -> bytes:
    for part in message.walk():
        if part.get_content_type() in ("text/calendar", "application/ics"):
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                return payload
    raise Dropped("the message holds no text/calendar part")


def _address(value: object) -> str:
    return str(value).strip().removeprefix("mailto:").removeprefix("MAILTO:").strip().lower()


def _time(vevent: Any, name: str) -> EventTime | None:
    prop = _one(vevent, name)
    if prop is None:
        return None
    try:
        return read_time(prop.dt, prop.params.get("TZID"), "UTC", name)
    except CalgateError as exc:
        raise Dropped(exc.detail) from None


def read(raw: bytes) -> Itip:
    """The iTIP message in ``raw``; :class:`Dropped` with the reason when there is none."""
    try:
        return _read(raw)
    except Dropped:
        raise
    except Exception as exc:  # whatever a hostile message breaks, the message is dropped
        raise Dropped(f"the message cannot be read ({type(exc).__name__}: {exc})"[:300]) from None


def _one(vevent: Any, name: str) -> Any:
    value = vevent.get(name)
    if isinstance(value, list):
        raise Dropped(f"{name} appears {len(value)} times in the VEVENT")
    return value


def _read(raw: bytes) -> Itip:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    if not isinstance(message, EmailMessage) or message.get("From") is None:
        raise Dropped("the message has no From header")
    senders = [addr for _, addr in getaddresses([str(message["From"])]) if addr]
    if len(senders) != 1:
        raise Dropped("the From header does not hold one address")
    try:
        calendar = VCalendar.from_ical(_calendar_part(message))
    except ValueError as exc:
        raise Dropped(f"the calendar part cannot be read ({exc})") from None
    method = str(calendar.get("METHOD", "")).upper()
    if method not in METHODS:
        raise Dropped(f"METHOD {method or '(none)'} is not a REPLY or COUNTER")
    vevents = calendar.walk("VEVENT")
    if not vevents:
        raise Dropped("the calendar part holds no VEVENT")
    vevent = vevents[0]
    uid = str(_one(vevent, "UID") or "").strip()
    if not uid:
        raise Dropped("the VEVENT has no UID")
    attendees = vevent.get("ATTENDEE")
    listed = attendees if isinstance(attendees, list) else [attendees] if attendees else []
    if len(listed) != 1:
        raise Dropped(f"a {method} names exactly one ATTENDEE, this one {len(listed)}")
    attendee = listed[0]
    partstat = str(attendee.params.get("PARTSTAT", "NEEDS-ACTION")).upper()
    given = _one(vevent, "SEQUENCE") or 0
    try:
        sequence = int(given)
    except ValueError:
        raise Dropped("SEQUENCE is not a number") from None
    comment = vevent.get("COMMENT")
    return Itip(
        method=method,
        uid=uid,
        sequence=sequence,
        attendee=_address(attendee),
        status=PARTSTAT_IN.get(partstat, "noreply"),
        sender=senders[0].lower(),
        comment=str(comment[0] if isinstance(comment, list) else comment or "").strip(),
        recurrence_id=_time(vevent, "RECURRENCE-ID"),
        start=_time(vevent, "DTSTART") if method == "COUNTER" else None,
        end=_time(vevent, "DTEND") if method == "COUNTER" else None,
    )


def stamp(time: EventTime | None) -> str | None:
    """A proposed time as the API shows instants (UTC, or the date of an all-day time)."""
    if time is None:
        return None
    if time.date is not None:
        return time.date.isoformat()
    return time.utc.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
