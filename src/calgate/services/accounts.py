"""Accounts: lookup within a tenant, status checks, LOCAL creation."""

from __future__ import annotations

from sqlalchemy.engine import Connection

from calgate.cache import TTLCache
from calgate.errors import STATUS_ERRORS, CalgateError, NotFound
from calgate.providers.base import AccountContext
from calgate.store import accounts as store
from calgate.store.accounts import AccountRecord
from calgate.store.db import Database


def context_of(record: AccountRecord, secrets: dict[str, str] | None = None) -> AccountContext:
    return AccountContext(
        id=record.id,
        tenant_id=record.tenant_id,
        type=record.type,
        name=record.name,
        email=record.email,
        params=record.params,
        secrets=secrets or {},
    )


class AccountService:
    def __init__(self, db: Database, cache_seconds: float = 0.0) -> None:
        self.db = db
        self.cache: TTLCache[tuple[str, str], AccountRecord] = TTLCache(cache_seconds)

    async def record(self, tenant_id: str, account_id: str) -> AccountRecord:
        found = self.cache.get((tenant_id, account_id))
        if found is not None:
            return found
        found = await self.db.read(lambda c: store.get_account(c, account_id, tenant_id))
        if found is None:
            raise NotFound(f"account {account_id!r} not found")
        self.cache.put((tenant_id, account_id), found)
        return found

    async def set_status(self, record: AccountRecord, status: str) -> None:
        await self.db.write(lambda c: store.set_status(c, record.id, status))
        self.cache.discard((record.tenant_id, record.id))

    async def usable(self, tenant_id: str, account_id: str) -> AccountContext:
        """The account as a provider sees it; refuses accounts whose source is not OK."""
        record = await self.record(tenant_id, account_id)
        if record.status != "OK":
            raise CalgateError(
                f"account {account_id!r} source status is {record.status}: reconnect it",
                type=STATUS_ERRORS.get(record.status, "errors/disconnected_account"),
            )
        return context_of(record)

    async def create_local(
        self, tenant_id: str, name: str, *, email: str = "", timezone: str = "UTC"
    ) -> AccountRecord:
        def op(conn: Connection) -> AccountRecord:
            record = store.create_account(conn, tenant_id, "LOCAL", name, email=email)
            store.create_calendar(
                conn, record.id, name or "Calendar", timezone=timezone, is_default=True
            )
            return record

        return await self.db.write(op)

    async def list(
        self, tenant_id: str | None, *, after: str | None = None, limit: int = 100
    ) -> list[AccountRecord]:
        return await self.db.read(
            lambda c: store.list_accounts(c, tenant_id, after=after, limit=limit)
        )

    async def delete(self, tenant_id: str, account_id: str) -> None:
        await self.record(tenant_id, account_id)
        await self.db.write(lambda c: store.delete_account(c, account_id))
        self.cache.discard((tenant_id, account_id))
