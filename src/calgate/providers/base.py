"""The provider seam: every calendar backend (LOCAL, CalDAV, Google, Outlook) implements this.

Routes call services, services call a :class:`Provider` chosen by the account's type in
:mod:`calgate.providers.registry`. A provider raises only :mod:`calgate.errors` exceptions:
vendor and transport exceptions are translated at this boundary.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from calgate.domain.model import Calendar, Event, EventFields, EventQuery, Page

ColorSupport = Literal["any", "palette", "stored"]
InvitationMode = Literal["calgate", "provider", "forced"]


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a provider can hold; requests asking for more get 501 before any provider call."""

    colors: ColorSupport = "any"
    palette: tuple[str, ...] = ()
    conference_create: frozenset[str] = frozenset()
    recurrence: Literal["rfc5545", "graph"] = "rfc5545"
    invitations: InvitationMode = "calgate"
    hidden_attendees: bool = True
    guests_can_modify: bool = True
    calendar_management: bool = False

    def to_wire(self) -> dict[str, Any]:
        return {
            "colors": self.colors,
            "palette": list(self.palette),
            "conference_create": sorted(self.conference_create),
            "recurrence": self.recurrence,
            "invitations": self.invitations,
            "hidden_attendees": self.hidden_attendees,
            "guests_can_modify": self.guests_can_modify,
            "calendar_management": self.calendar_management,
        }


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


class Provider(Protocol):
    kind: str
    capabilities: Capabilities

    async def list_calendars(self, account: AccountContext) -> list[Calendar]: ...

    async def get_calendar(self, account: AccountContext, calendar_id: str) -> Calendar: ...

    async def create_event(
        self, account: AccountContext, calendar_id: str, fields: EventFields, *, event_id: str
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
    ) -> Event:
        """Apply a partial update (keys are :data:`calgate.domain.model.PATCHABLE` names)."""
        ...

    async def delete_event(self, account: AccountContext, calendar_id: str, event_id: str) -> Event:
        """Delete (or cancel one occurrence of) an event; returns what was deleted."""
        ...

    async def create_calendar(self, account: AccountContext, calendar: Calendar) -> Calendar:
        """Create a calendar (only where ``capabilities.calendar_management``)."""
        ...

    async def delete_calendar(self, account: AccountContext, calendar_id: str) -> None: ...
