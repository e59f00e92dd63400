"""``account_status`` webhooks: when an account's status changes (a provider refused its
credentials: ``CREDENTIALS``; connected again: ``OK``…), each of the tenant's
``account_status`` webhooks that wants the account gets Unipile's payload
``{"AccountStatus": {"account_id", "account_type", "message"}}`` (``message``: the new
status), written to the outbox in the transaction that records the status."""

from __future__ import annotations

from sqlalchemy.engine import Connection

from calgate.outbox import NewDelivery, Outbox
from calgate.store.ids import new_id
from calgate.webhooks import store
from calgate.webhooks.service import MAX_WEBHOOKS, STATUS_SOURCE


class AccountStatusEffect:
    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox

    def __call__(
        self, conn: Connection, tenant_id: str, account_id: str, account_type: str, status: str
    ) -> None:
        if not store.any_for(conn, tenant_id):
            return
        hooks = [
            h
            for h in store.list_for(conn, tenant_id, limit=MAX_WEBHOOKS)
            if h.source == STATUS_SOURCE and h.matches(STATUS_SOURCE, account_id)
        ]
        if not hooks:
            return
        status_of = {"account_id": account_id, "account_type": account_type, "message": status}
        self.outbox.add(
            conn,
            tenant_id=tenant_id,
            account_id=account_id,
            change_id=new_id(),
            event_id=account_id,
            # The webhook channel sends payload["event"] flattened: Unipile's body.
            payload={"event": {"AccountStatus": status_of}},
            deliveries=[
                NewDelivery("webhook", h.id, STATUS_SOURCE, {"webhook_name": h.name}) for h in hooks
            ],
        )
