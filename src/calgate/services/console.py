"""What the operator console (/console) shows and does, over the same services and stores as
the API and the CLI: tenants, accounts with their status and sync state, calendars, webhooks
with their recent deliveries, the outbox's depth, API keys."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Connection

from calgate.domain.model import Calendar
from calgate.errors import NotFound
from calgate.outbox import store as outbox_store
from calgate.outbox.store import Delivery
from calgate.runtime import Runtime
from calgate.store import accounts as account_store
from calgate.store import admin_keys, keys, mirror
from calgate.store.accounts import AccountRecord
from calgate.store.db import now_us
from calgate.sync.status import state_to_wire
from calgate.webhooks.store import Webhook

RECENT_DELIVERIES = 10
MAX_ACCOUNTS = 1000


@dataclass(frozen=True, slots=True)
class TenantRow:
    id: str
    name: str
    accounts: int
    live_keys: int


@dataclass(frozen=True, slots=True)
class Overview:
    tenants: list[TenantRow]
    outbox: list[tuple[str, str, int]]  # channel, status, deliveries


@dataclass(frozen=True, slots=True)
class AccountRow:
    record: AccountRecord
    sync: list[dict[str, Any]] | None  # None: the provider has no sync


@dataclass(frozen=True, slots=True)
class HookRow:
    webhook: Webhook
    deliveries: list[Delivery]


@dataclass(frozen=True, slots=True)
class TenantView:
    id: str
    name: str
    accounts: list[AccountRow]
    webhooks: list[HookRow]
    keys: list[keys.ApiKeyInfo] = field(default_factory=list)


class Console:
    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime

    async def signed_in(self, raw: str) -> admin_keys.AdminKey | None:
        return await self.rt.db.read(lambda c: admin_keys.authenticate(c, raw))

    async def key_is_live(self, key_id: str) -> bool:
        return await self.rt.db.read(lambda c: admin_keys.live(c, key_id))

    async def overview(self) -> Overview:
        def op(conn: Connection) -> Overview:
            accounts: dict[str, int] = {}
            for record in _accounts(conn, None):
                accounts[record.tenant_id] = accounts.get(record.tenant_id, 0) + 1
            live: dict[str, int] = {}
            for key in keys.list_keys(conn):
                if key.revoked_at is None:
                    live[key.tenant_id] = live.get(key.tenant_id, 0) + 1
            tenants = [
                TenantRow(i, name, accounts.get(i, 0), live.get(i, 0))
                for i, name in keys.list_tenants(conn)
            ]
            depth = sorted((c, s, n) for (c, s), n in outbox_store.depth(conn).items())
            return Overview(tenants, depth)

        return await self.rt.db.read(op)

    async def tenant(self, tenant_id: str) -> TenantView:
        def op(conn: Connection) -> tuple[str, list[AccountRow], list[keys.ApiKeyInfo]]:
            names = dict(keys.list_tenants(conn))
            if tenant_id not in names:
                raise NotFound(f"tenant {tenant_id!r} not found")
            now = now_us()
            rows = []
            for record in _accounts(conn, tenant_id):
                sync = None
                if self.rt.sync_feeds.get(record.type) is not None:
                    states = mirror.calendar_states(conn, record.id)
                    sync = [state_to_wire(s, now) for s in states]
                rows.append(AccountRow(record, sync))
            return names[tenant_id], rows, keys.list_keys(conn, tenant_id)

        name, accounts, api_keys = await self.rt.db.read(op)
        hooks = [
            HookRow(
                hook, await self.rt.webhooks.deliveries(tenant_id, hook.id, limit=RECENT_DELIVERIES)
            )
            for hook in await self.rt.webhooks.list_page(tenant_id, limit=100)
        ]
        return TenantView(tenant_id, name, accounts, hooks, api_keys)

    async def calendars(
        self, tenant_id: str, account_id: str
    ) -> tuple[AccountRecord, list[Calendar]]:
        """The account and its calendars (read from its provider, as the API does)."""
        record = await self.rt.accounts.record(tenant_id, account_id)
        return record, await self.rt.events.list_calendars(tenant_id, account_id)

    async def create_key(self, tenant_id: str, name: str) -> str:
        """A new API key of the tenant (as `calgate keys create`); returns the raw key."""
        await self.tenant_exists(tenant_id)
        _, raw = await self.rt.db.write(lambda c: keys.create_key(c, tenant_id, name))
        return raw

    async def revoke_key(self, tenant_id: str, key_id: str) -> None:
        def op(conn: Connection) -> bool:
            owned = any(k.id == key_id for k in keys.list_keys(conn, tenant_id))
            return owned and keys.revoke_key(conn, key_id)

        if not await self.rt.db.write(op):
            raise NotFound(f"no live key {key_id!r} for this tenant")
        self.rt.keys.clear()  # this process refuses the key at once

    async def tenant_exists(self, tenant_id: str) -> None:
        if not await self.rt.db.read(lambda c: keys.tenant_exists(c, tenant_id)):
            raise NotFound(f"tenant {tenant_id!r} not found")


def _accounts(conn: Connection, tenant_id: str | None) -> list[AccountRecord]:
    return account_store.list_accounts(conn, tenant_id, limit=MAX_ACCOUNTS)
