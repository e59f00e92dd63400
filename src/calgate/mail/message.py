"""iMIP messages (RFC 6047): a ``multipart/alternative`` mail with a readable ``text/plain``
part and a ``text/calendar; method=REQUEST|CANCEL`` part holding one VCALENDAR.

Built from what the outbox stored, the same way on every attempt: the Message-ID is the
delivery id, the Date its creation time and the MIME boundary derived from it, so that a retry
sends the very same message (a receiving server that already has it can drop it).

Header values never carry a line break (client text is flattened to one line before it goes
into a header), and the calendar part is written by :mod:`calgate.domain.ical`, whose TEXT
values cannot break a content line.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import re
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from calgate.domain import zones
from calgate.domain.ical import to_vcalendar, to_vevent
from calgate.domain.model import Attendee, Event, EventFields, Organizer
from calgate.mail import snapshot
from calgate.mail.plan import Method
from calgate.store.codec import us_to_dt

POLICY = policy.SMTP
MAX_SUBJECT = 180
DASH = " \u2013 "
_CONTROLS = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\x85]+")


def header_text(text: str, limit: int = MAX_SUBJECT) -> str:
    """``text`` on one line: control characters (CR, LF...) become spaces, runs of blanks one."""
    flat = " ".join(_CONTROLS.sub(" ", text).split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def _day(d: dt.date) -> str:
    return d.strftime("%a %d %b %Y")


def when(fields: EventFields) -> str:
    """The event's time as people read it, in the zone of its start."""
    start, end = fields.start, fields.end
    if start.date is not None and end.date is not None:
        last = end.date - dt.timedelta(days=1)
        days = _day(start.date) if last <= start.date else f"{_day(start.date)}{DASH}{_day(last)}"
        return f"{days} (all day)"
    begin = start.aware
    finish = end.utc.astimezone(zones.zone(start.tz))
    if finish.date() == begin.date():
        span = f"{_day(begin.date())} {begin:%H:%M}{DASH}{finish:%H:%M}"
    else:
        span = f"{_day(begin.date())} {begin:%H:%M}{DASH}{_day(finish.date())} {finish:%H:%M}"
    return f"{span} ({start.tz})"


def _lead(method: Method, kind: str, organizer: Organizer) -> tuple[str, str]:
    """(subject prefix, first sentence)."""
    who = organizer.display_name or organizer.email
    if method == "CANCEL":
        if kind == "updated":
            return "Removed", f"{who} removed you from this event."
        return "Cancelled", f"{who} cancelled this event."
    if kind == "updated":
        return "Updated invitation", f"{who} updated this event."
    return "Invitation", f"{who} invites you to this event."


def text_part(event: Event, method: Method, kind: str, organizer: Organizer, listed: bool) -> str:
    f = event.fields
    _, lead = _lead(method, kind, organizer)
    lines = [lead, "", f.title or "(no title)", "", f"When: {when(f)}"]
    lines += [f"Repeats: {line}" for line in f.recurrence]
    if event.recurrence_id is not None:
        lines.append("(this occurrence only)")
    if f.location:
        lines.append(f"Where: {f.location}")
    if f.conference is not None and f.conference.url:
        lines.append(f"Join: {f.conference.url}")
    lines.append(
        f"Organizer: {organizer.display_name} <{organizer.email}>"
        if organizer.display_name
        else f"Organizer: {organizer.email}"
    )
    if listed and f.attendees:
        lines.append("Guests:")
        lines += [
            f"- {a.display_name} <{a.email}>" if a.display_name else f"- {a.email}"
            for a in f.attendees
        ]
    if f.body:
        lines += ["", f.body]
    lines += [
        "",
        "-- ",
        "Your calendar application reads the attached invitation"
        + (" and lets you answer it." if method == "REQUEST" else "."),
    ]
    text = "\n".join(lines)
    return text.replace("\r\n", "\n").replace("\r", "\n") + "\n"


def subject(event: Event, method: Method, kind: str, organizer: Organizer) -> str:
    prefix, _ = _lead(method, kind, organizer)
    return header_text(f"{prefix}: {event.fields.title or '(no title)'} @ {when(event.fields)}")


def attendee_of(data: dict[str, Any]) -> Attendee:
    email, name, optional, resource = data["attendee"]
    return Attendee(email=email, display_name=name, optional=optional, is_resource=resource)


def build(
    delivery_id: str,
    created_us: int,
    method: Method,
    data: dict[str, Any],
    payload: dict[str, Any],
    sender: Address,
    domain: str,
) -> EmailMessage:
    """The iMIP mail of one outbox delivery (``data``: the delivery's own JSON, ``payload``:
    the change's shared JSON). Raises ValueError or :class:`calgate.errors.InvalidParameters`
    for an address that cannot be written (a permanent failure)."""
    event = snapshot.load(payload["event"])
    organizer = Organizer(*payload["organizer"])
    kind: str = payload["kind"]
    attendee = attendee_of(data)
    alone: bool = data["alone"]
    if alone:
        event = dataclasses.replace(
            event, fields=dataclasses.replace(event.fields, attendees=(attendee,))
        )
    if method == "CANCEL":
        event = dataclasses.replace(event, is_cancelled=True)
    ics = to_vcalendar([to_vevent(event, organizer=organizer)], method=method).to_ical()

    msg = headed(
        subject(event, method, kind, organizer),
        sender,
        organizer.display_name or sender.display_name,
        (organizer.email, organizer.display_name),
        (attendee.email, attendee.display_name),
        created_us,
        f"<{delivery_id}@{domain}>",
    )
    msg["Auto-Submitted"] = "auto-generated"
    add_parts(msg, text_part(event, method, kind, organizer, not alone), ics, method)
    return msg


def headed(
    title: str,
    sender: Address,
    from_name: str,
    reply_to: tuple[str, str],
    to: tuple[str, str],
    created_us: int,
    message_id: str,
) -> EmailMessage:
    """A message whose ``From:`` is the configured sender under ``from_name`` (mail servers
    check who may send from a domain) and whose ``Reply-To:`` is the author (email, name)."""
    msg = EmailMessage(policy=POLICY)
    msg["Subject"] = title
    msg["From"] = Address(display_name=header_text(from_name, 100), addr_spec=sender.addr_spec)
    if reply_to[0].lower() != sender.addr_spec.lower():
        msg["Reply-To"] = Address(display_name=header_text(reply_to[1], 100), addr_spec=reply_to[0])
    msg["To"] = Address(display_name=header_text(to[1], 100), addr_spec=to[0])
    msg["Date"] = format_datetime(us_to_dt(created_us))
    msg["Message-ID"] = message_id
    return msg


def add_parts(msg: EmailMessage, text: str, ics: bytes, method: Method) -> None:
    """The readable ``text/plain`` part and the ``text/calendar; method=…`` part."""
    msg.set_content(text, cte="quoted-printable")
    # Plain 7bit when ASCII (the lines are folded at 75 octets), else base64: never 8bit.
    cte = "7bit" if ics.isascii() else "base64"
    msg.add_alternative(ics.decode("utf-8"), subtype="calendar", params={"method": method}, cte=cte)
    calendar_part = next(p for p in msg.iter_parts() if p.get_content_subtype() == "calendar")
    del calendar_part["MIME-Version"]
    # A boundary that is the same on every attempt and cannot occur in the parts it separates.
    digest = hashlib.sha256(text.encode() + b"\0" + ics).hexdigest()
    msg.set_boundary(f"=_calgate_{digest[:32]}")


def organizer_for(email: str, name: str, sender: Address | None) -> Organizer:
    """The ORGANIZER: the account's address, else the configured From address."""
    if email:
        return Organizer(email, name)
    if sender is not None:
        return Organizer(sender.addr_spec, name or sender.display_name)
    return Organizer("", name)
