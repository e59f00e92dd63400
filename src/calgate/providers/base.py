"""The provider seam: every calendar backend (LOCAL, CalDAV, Google, Outlook) implements this.

Routes call services, services call a :class:`Provider` chosen by the account's type in
:mod:`calgate.providers.registry`. A provider raises only :mod:`calgate.errors` exceptions:
vendor and transport exceptions are translated at this boundary.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from sqlalchemy.engine import Connection

from calgate.domain.model import Calendar, Event, EventFields, EventQuery, Page
from calgate.domain.rsvp import Response
from calgate.store.bare import ReadOn

if TYPE_CHECKING:
    from calgate.services.accounts import AccountService
    from calgate.store.db import Database

ColorSupport = Literal["any", "palette", "stored"]
InvitationMode = Literal["calgate", "provider", "forced"]


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a provider can hold; requests asking for more get 501 before any provider call."""

    colors: ColorSupport = "any"
    palette: tuple[str, ...] = ()
    conference_create: frozenset[str] = frozenset()
    # Conference kinds whose link calgate makes itself for this provider, from the configured
    # meeting service (calgate.meetings): LOCAL and CalDAV cannot create meetings.
    conference_links: frozenset[str] = frozenset()
    recurrence: Literal["rfc5545", "graph"] = "rfc5545"
    invitations: InvitationMode = "calgate"
    hidden_attendees: bool = True
    guests_can_modify: bool = True
    calendar_management: bool = False
    # What calendar create and PATCH may set (calgate.services.calendars.CALENDAR_FIELDS).
    calendar_fields: frozenset[str] = frozenset(
        {"name", "description", "background_color", "timezone"}
    )
    # The calendars live in calgate's own store: .ics export, import and secret feed URLs.
    ics_files: bool = False
    # The event types its events can have (calgate.domain.filters.EVENT_TYPES).
    event_types: frozenset[str] = frozenset({"default"})
    # Who chooses a new calendar's id: calgate (a LOCAL row, a CalDAV collection's path: a
    # create under an Idempotency-Key uses an id derived from the key) or the provider
    # (calgate.services.calendar_creates recognises what a dead attempt made). How calgate
    # makes creates safe to retry, not what the account holds: not shown on the wire.
    calendar_ids: Literal["calgate", "provider"] = "calgate"

    def to_wire(self) -> dict[str, Any]:
        return {
            "colors": self.colors,
            "palette": list(self.palette),
            "conference_create": sorted(self.conference_create),
            "conference_links": sorted(self.conference_links),
            "recurrence": self.recurrence,
            "invitations": self.invitations,
            "hidden_attendees": self.hidden_attendees,
            "guests_can_modify": self.guests_can_modify,
            "calendar_management": self.calendar_management,
            "calendar_fields": sorted(self.calendar_fields) if self.calendar_management else [],
            "ics_files": self.ics_files,
            "event_types": sorted(self.event_types),
        }

    def adjusted(self, params: Mapping[str, Any]) -> Capabilities:
        """These capabilities as one account has them. A provider records at connection what
        differs per account in ``params["capabilities"]`` (e.g. a CalDAV server that sends
        invitations itself, RFC 6638: ``{"invitations": "provider"}``)."""
        given = params.get("capabilities")
        if not isinstance(given, Mapping) or not given:
            return self
        values: dict[str, Any] = {}
        for name, value in given.items():
            if name not in Capabilities.__dataclass_fields__:
                continue
            current = getattr(self, name)
            if isinstance(current, frozenset):
                value = frozenset(value)
            elif isinstance(current, tuple):
                value = tuple(value)
            values[name] = value
        return dataclasses.replace(self, **values)


@dataclass(frozen=True, slots=True)
class AccountContext:
    """What a provider needs to know about the account it acts for."""

    id: str
    tenant_id: str
    type: str
    name: str
    email: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)
    secrets: Mapping[str, str] = field(default_factory=dict)


ChangeKind = Literal["created", "updated", "deleted"]


@dataclass(frozen=True, slots=True)
class Change:
    """One event change made through calgate, handed to the effects (outbox writers)."""

    kind: ChangeKind
    account: AccountContext
    calendar_id: str
    event: Event  # the event after the change (for "deleted": as it was, is_cancelled set)
    before: Event | None = None  # for "updated": the event before the change
    changed: frozenset[str] = frozenset()  # for "updated": the fields the request set


# Runs inside the database transaction that records the change (LOCAL), or in a transaction
# of its own right after the provider confirmed it (remote providers). It must only write to
# the database (e.g. outbox rows), never call out.
Effects = Callable[[Connection, Change], None]

# What an annotator of listed events (calgate.services.events) applies to a page's events in a
# worker process, with what it read for them: a function of the module level (sent by name).
Noted = Callable[[list[Event], Any], list[Event]]
# What such an annotator reads, for the ids of the events a page may hold, on the read of the
# rows (calgate.providers.local.LocalProvider.list_events_encoded; a connection, or the notices
# a bare read read with them): that function and its data.
Note = Callable[[ReadOn, set[str]], tuple[Noted, Any]]


def no_effects(conn: Connection, change: Change) -> None:
    return None


async def record_change(db: Database, effects: Effects, change: Change) -> None:
    """For remote providers: hand a change the provider confirmed to the outbox writers, in a
    database transaction of its own (LOCAL calls ``effects`` inside its own transaction)."""
    if effects is not no_effects:
        await db.write(lambda conn: effects(conn, change))


class Provider(Protocol):
    kind: str
    capabilities: Capabilities

    async def connect(
        self, accounts: AccountService, tenant_id: str, body: Mapping[str, Any]
    ) -> str:
        """Check the credentials in ``body`` (the POST /api/v1/accounts body), store the
        account through ``accounts.create`` and return its id. Bad or unreachable
        credentials raise the seed's 401 types and store nothing."""
        ...

    async def list_calendars(self, account: AccountContext) -> list[Calendar]: ...

    async def get_calendar(self, account: AccountContext, calendar_id: str) -> Calendar: ...

    async def create_event(
        self,
        account: AccountContext,
        calendar_id: str,
        fields: EventFields,
        *,
        event_id: str,
        effects: Effects = no_effects,
    ) -> Event:
        """Create the event; ``event_id`` is chosen by calgate (used for idempotent retries)."""
        ...

    async def get_event(
        self, account: AccountContext, calendar_id: str, event_id: str
    ) -> Event: ...

    async def list_events(
        self, account: AccountContext, calendar_id: str, query: EventQuery
    ) -> Page[Event]: ...

    async def update_event(
        self,
        account: AccountContext,
        calendar_id: str,
        event_id: str,
        changes: Mapping[str, Any],
        *,
        effects: Effects = no_effects,
    ) -> Event:
        """Apply a partial update (keys are :data:`calgate.domain.model.PATCHABLE` names;
        ``_version``, when present, is the version the client expects: 409 if stale)."""
        ...

    async def delete_event(
        self,
        account: AccountContext,
        calendar_id: str,
        event_id: str,
        *,
        effects: Effects = no_effects,
    ) -> Event:
        """Delete (or cancel one occurrence of) an event; returns what was deleted."""
        ...

    async def create_calendar(self, account: AccountContext, calendar: Calendar) -> Calendar:
        """Create a calendar (only where ``capabilities.calendar_management``)."""
        ...

    async def update_calendar(
        self, account: AccountContext, calendar_id: str, changes: Mapping[str, Any]
    ) -> Calendar:
        """Change some of a calendar's ``name``, ``description``, ``background_color`` and
        ``timezone`` (only those in ``capabilities.calendar_fields``); returns it changed."""
        ...

    async def delete_calendar(self, account: AccountContext, calendar_id: str) -> None: ...

    async def respond(
        self,
        account: AccountContext,
        calendar_id: str,
        event_id: str,
        response: Response,
        *,
        effects: Effects = no_effects,
    ) -> Event:
        """Record an answer to the invitation ``event_id`` (an occurrence answers alone): the
        account's own (``response.attendee`` empty: RSVP), or, where calgate sent the
        invitations, an attendee's mailed REPLY. Raises
        :class:`calgate.domain.rsvp.NotApplicable` when the answer does not fit the event."""
        ...
