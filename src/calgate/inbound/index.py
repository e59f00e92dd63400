"""The effect that remembers the events calgate invites attendees to, so that their REPLY
mail finds the event again by its UID."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.engine import Connection

from calgate.providers.base import AccountContext, Capabilities, Change
from calgate.store import replies
from calgate.store.db import now_us

CapabilitiesOf = Callable[[AccountContext], Capabilities]


class InvitationIndex:
    def __init__(self, capabilities_of: CapabilitiesOf) -> None:
        self.capabilities_of = capabilities_of

    def __call__(self, conn: Connection, change: Change) -> None:
        event, account = change.event, change.account
        if change.kind == "deleted" or not event.fields.notify or not event.fields.attendees:
            return
        if self.capabilities_of(account).invitations != "calgate":
            return
        invited = replies.Invited(
            account.tenant_id, account.id, change.calendar_id, event.master_event_id or event.id
        )
        replies.remember(conn, invited, event.ical_uid, now_us())
