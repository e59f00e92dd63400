"""The account's answer to an invitation, mailed to the organizer (iTIP REPLY, RFC 5546 §3.2.3,
over iMIP, RFC 6047) where calgate sends the account's mail (LOCAL, CalDAV without RFC 6638
scheduling).

:class:`Replies` runs in the transaction that records the answer and writes one outbox mail
delivery (topic ``REPLY``, to the organizer); :func:`build` writes the message when the worker
sends it: a ``text/calendar; method=REPLY`` VEVENT with UID, SEQUENCE, DTSTAMP, ORGANIZER, the
one ATTENDEE answering with its PARTSTAT, RECURRENCE-ID for an occurrence, COMMENT when given.
"""

from __future__ import annotations

import dataclasses
import logging
from email.headerregistry import Address
from email.message import EmailMessage
from typing import Any

from sqlalchemy.engine import Connection

from calgate.domain.ical import to_vcalendar, to_vevent
from calgate.domain.ical.text import clean
from calgate.domain.model import Attendee, Event, Organizer
from calgate.domain.rsvp import organizer_email
from calgate.mail import snapshot
from calgate.mail.message import add_parts, headed, header_text, when
from calgate.outbox import NewDelivery, Outbox
from calgate.providers.base import Change
from calgate.store.ids import new_id

log = logging.getLogger("calgate.mail")
_SAID = {"yes": "accepted", "maybe": "tentatively accepted", "no": "declined"}


def _own(event: Event, email: str) -> Attendee | None:
    return next((a for a in event.fields.attendees if a.email.lower() == email.lower()), None)


class Replies:
    """Queue the REPLY of an answer the account gave (the change holds the event answered)."""

    def __init__(self, outbox: Outbox, sender: Address | None) -> None:
        self.outbox = outbox
        self.sender = sender

    def __call__(self, conn: Connection, change: Change) -> None:
        account, event = change.account, change.event
        me = _own(event, account.email)
        to = organizer_email(event, account.email)
        if me is None or not to:
            return
        if self.sender is None:
            log.warning(
                "no SMTP server configured: the answer to %s is not mailed to %s", event.id, to
            )
            return
        name = event.organizer.display_name if event.organizer is not None else ""
        answered = dataclasses.replace(
            event, fields=dataclasses.replace(event.fields, attendees=(me,))
        )
        self.outbox.add(
            conn,
            tenant_id=account.tenant_id,
            account_id=account.id,
            change_id=new_id(),
            event_id=event.id,
            payload={"event": snapshot.dump(answered), "organizer": [to, name], "kind": "reply"},
            deliveries=[
                NewDelivery(
                    channel="mail",
                    target=to,
                    topic="REPLY",
                    data={"attendee": [me.email, me.display_name, me.optional, me.is_resource]},
                )
            ],
        )


def build(
    delivery_id: str,
    created_us: int,
    data: dict[str, Any],
    payload: dict[str, Any],
    sender: Address,
    domain: str,
) -> EmailMessage:
    """The REPLY mail of one outbox delivery."""
    event = snapshot.load(payload["event"])
    organizer = Organizer(*payload["organizer"])
    email, name, _, _ = data["attendee"]
    me = _own(event, email) or Attendee(email, name)
    vevent = to_vevent(event, organizer=organizer)
    if me.comment:
        vevent.add("COMMENT", clean(me.comment))
    ics = to_vcalendar([vevent], method="REPLY").to_ical()
    who = me.display_name or me.email
    said = _SAID.get(me.response_status, "answered")
    title = event.fields.title or "(no title)"

    msg = headed(
        header_text(f"{said.capitalize()}: {title} @ {when(event.fields)}"),
        sender,
        who,
        (me.email, me.display_name),
        (organizer.email, organizer.display_name),
        created_us,
        f"<{delivery_id}@{domain}>",
    )
    msg["Auto-Submitted"] = "auto-replied"
    lines = [f"{who} {said} this invitation.", "", title, f"When: {when(event.fields)}"]
    if me.comment:
        lines += ["", me.comment]
    text = "\n".join(lines).replace("\r\n", "\n").replace("\r", "\n") + "\n"
    add_parts(msg, text, ics, "REPLY")
    return msg
