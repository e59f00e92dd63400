"""The invitation effect: inside the transaction of an event change, write the iMIP mails it
calls for into the outbox and the event's notification state into its notice.

Registered in :attr:`calgate.services.events.EventService.effects`; runs in the database
transaction of the change (LOCAL) or in one of its own right after the provider confirmed it.
It only writes to the database: the worker builds and sends the mails later.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from email.headerregistry import Address

from sqlalchemy.engine import Connection

from calgate.mail import snapshot
from calgate.mail.message import organizer_for
from calgate.mail.plan import plan
from calgate.outbox import NewDelivery, Outbox, notices
from calgate.providers.base import AccountContext, Capabilities, Change
from calgate.store.codec import us_to_dt
from calgate.store.db import now_ms_us, now_us
from calgate.store.ids import new_id

CapabilitiesOf = Callable[[AccountContext], Capabilities]


class Invitations:
    def __init__(
        self, outbox: Outbox, capabilities_of: CapabilitiesOf, sender: Address | None
    ) -> None:
        """``sender``: the configured From address; None when no SMTP server is configured
        (a requested invitation is then recorded as ``failed``, and nothing is queued)."""
        self.outbox = outbox
        self.capabilities_of = capabilities_of
        self.sender = sender

    def __call__(self, conn: Connection, change: Change) -> None:
        account = change.account
        mode = self.capabilities_of(account).invitations
        organizer = organizer_for(account.email, account.name, self.sender)
        decided = plan(change, mode, organizer.email)
        change_id = new_id()
        event = change.event
        if decided.mails and (self.sender is None or not organizer.email):
            # notify was asked for, but calgate has no way to send mail.
            if decided.state is not None:
                notices.put(conn, account.id, event.id, change_id, "failed", now_us())
            return
        if decided.mails:
            if change.kind == "deleted":
                # A CANCEL carries a higher SEQUENCE than anything sent before, stamped now.
                event = dataclasses.replace(
                    event, sequence=event.sequence + 1, updated_at=us_to_dt(now_ms_us())
                )
            self.outbox.add(
                conn,
                tenant_id=account.tenant_id,
                account_id=account.id,
                change_id=change_id,
                event_id=change.event.id,
                payload={
                    "event": snapshot.dump(event),
                    "organizer": [organizer.email, organizer.display_name],
                    "kind": change.kind,
                },
                deliveries=[
                    NewDelivery(
                        channel="mail",
                        target=m.attendee.email,
                        topic=m.method,
                        data={
                            "attendee": [
                                m.attendee.email,
                                m.attendee.display_name,
                                m.attendee.optional,
                                m.attendee.is_resource,
                            ],
                            "alone": m.alone,
                        },
                    )
                    for m in decided.mails
                ],
            )
        # A new event without a notice reads as "none": only write what says more.
        if decided.state is not None and not (change.kind == "created" and decided.state == "none"):
            notices.put(conn, account.id, change.event.id, change_id, decided.state, now_us())
