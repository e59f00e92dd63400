"""Answers to invitations: the account's own (RSVP) and those attendees mail back (iMIP REPLY).

Pure: an event and a :class:`Response` in, the event with that attendee's answer out, or an
:class:`~calgate.errors.InvalidParameters` saying why the answer does not apply.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

from calgate.domain.model import Event

Answer = Literal["yes", "no", "maybe"]
ANSWERS: tuple[Answer, ...] = ("yes", "maybe", "no")
MAX_COMMENT = 2000


class NotApplicable(ValueError):
    """An answer that does not fit the event (the reason is the message)."""


@dataclass(frozen=True, slots=True)
class Response:
    """One answer to an invitation.

    ``attendee`` empty: the connected account answers (RSVP); else the address of an attendee
    whose REPLY the organizer received. ``sequence``: the REPLY's SEQUENCE (None for an RSVP).
    """

    status: Answer
    comment: str = ""
    attendee: str = ""
    sequence: int | None = None


def _same(a: str, b: str) -> bool:
    return bool(a) and a.strip().lower() == b.strip().lower()


def organizer_email(event: Event, account_email: str) -> str:
    """Who organises ``event``: its ORGANIZER, else an attendee marked so, else the account
    (an event without an organizer is the account's own)."""
    if event.organizer is not None and event.organizer.email:
        return event.organizer.email
    for attendee in event.fields.attendees:
        if attendee.is_organizer:
            return attendee.email
    return account_email


def answered(event: Event, response: Response, account_email: str) -> Event:
    """``event`` with the answer of ``response``'s attendee (the account when empty) set."""
    organizer = organizer_email(event, account_email)
    # An event without any organizer is the account's own (its invitations name mail_from).
    ours = not organizer or _same(organizer, account_email)
    if event.is_cancelled:
        raise NotApplicable("the event is cancelled")
    if response.attendee:
        who = response.attendee
        if not ours:
            raise NotApplicable(
                f"the event is organised by {organizer}, not by this account ({account_email})"
            )
        if response.sequence is not None and response.sequence < event.sequence:
            raise NotApplicable(
                f"the reply answers SEQUENCE {response.sequence}, older than the event's "
                f"{event.sequence}"
            )
    else:
        if not account_email:
            raise NotApplicable(
                "the account has no e-mail address, so it attends no event (connect it with "
                "an email)"
            )
        who = account_email
        if ours:
            raise NotApplicable(
                f"the account ({account_email}) organises this event; an organizer does not "
                "answer its own invitation"
            )
    attendees = list(event.fields.attendees)
    for i, attendee in enumerate(attendees):
        if _same(attendee.email, who) and not attendee.is_organizer:
            attendees[i] = dataclasses.replace(
                attendee, response_status=response.status, comment=response.comment
            )
            fields = dataclasses.replace(event.fields, attendees=tuple(attendees))
            return dataclasses.replace(event, fields=fields)
    whom = "the account" if not response.attendee else "the sender"
    raise NotApplicable(f"{whom} ({who}) is not an attendee of this event")
