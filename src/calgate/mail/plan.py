"""Which invitation mails one event change calls for (RFC 5546 iTIP over RFC 6047 iMIP).

Pure: a :class:`~calgate.providers.base.Change` and the account's invitation mode in, a
:class:`Plan` out. The rules:

- created, ``notify`` true: a REQUEST to every attendee (the organizer excepted).
- updated: when a significant field (time, place, title, recurrence, attendees) really changed,
  or ``notify`` was just turned on: a REQUEST (the event's new SEQUENCE) to every attendee and a
  CANCEL to each attendee removed. Other updates (colour, body...) send nothing and leave the
  event's notification state as it was.
- deleted: a CANCEL to every attendee (for an occurrence: with its RECURRENCE-ID).
- ``notify`` false sends nothing (``notify`` is stored with the event: a PATCH without it keeps
  the event's value; a DELETE uses the stored value).

Where the provider sends invitations itself (``provider``: Google with sendUpdates) or always
does (``forced``: Exchange), calgate sends nothing and only records what the provider did.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from calgate.domain.model import Attendee, Event
from calgate.domain.rules import SIGNIFICANT
from calgate.providers.base import Change, InvitationMode

Method = Literal["REQUEST", "CANCEL", "REPLY"]


@dataclass(frozen=True, slots=True)
class Mail:
    method: Method
    attendee: Attendee
    # List only the recipient (hidden attendee list, or a CANCEL to a removed attendee).
    alone: bool


@dataclass(frozen=True, slots=True)
class Plan:
    # The event's new notification state; None: this change leaves it as it was.
    state: str | None
    mails: list[Mail] = field(default_factory=list)


def recipients(event: Event, organizer_email: str) -> list[Attendee]:
    """The attendees who receive mail: all but the organizer."""
    organizer = organizer_email.lower()
    return [
        a for a in event.fields.attendees if not a.is_organizer and a.email.lower() != organizer
    ]


def _invited(event: Event, name: str) -> object:
    """A significant field; for ``attendees``, who is invited and how, not their answers (an
    answer to an invitation sends no new one)."""
    value = getattr(event.fields, name)
    if name == "attendees":
        return [(a.email.lower(), a.display_name, a.optional, a.is_resource) for a in value]
    return value


def significant_changes(before: Event, after: Event) -> set[str]:
    return {name for name in SIGNIFICANT if _invited(before, name) != _invited(after, name)}


def _provider_state(mode: InvitationMode, notify: bool, anyone: bool) -> str:
    if not anyone:
        return "none"
    if mode == "forced":
        return "forced_by_provider"
    return "sent" if notify else "none"


def plan(change: Change, mode: InvitationMode, organizer_email: str) -> Plan:
    event = change.event
    notify = event.fields.notify
    to = recipients(event, organizer_email)
    if change.kind == "created":
        if mode != "calgate" or not notify or not to:
            return Plan(_provider_state(mode, notify, bool(to)))
        return Plan(
            "queued", [Mail("REQUEST", a, event.fields.is_attendees_list_hidden) for a in to]
        )
    if change.kind == "deleted":
        if mode != "calgate" or not notify or not to:
            return Plan(None)
        return Plan(None, [Mail("CANCEL", a, event.fields.is_attendees_list_hidden) for a in to])
    before = change.before
    if before is None:
        return Plan(None)
    turned_on = notify and not before.fields.notify
    if not significant_changes(before, event) and not turned_on:
        return Plan(None)
    kept = {a.email.lower() for a in to}
    removed = [a for a in recipients(before, organizer_email) if a.email.lower() not in kept]
    if mode != "calgate" or not notify:
        return Plan(_provider_state(mode, notify, bool(to or removed)))
    hidden = event.fields.is_attendees_list_hidden
    mails = [Mail("REQUEST", a, hidden) for a in to]
    mails += [Mail("CANCEL", a, True) for a in removed]
    return Plan("queued" if mails else "none", mails)
