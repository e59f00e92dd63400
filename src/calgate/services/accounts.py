"""Accounts: lookup within a tenant, status checks, LOCAL creation."""

from __future__ import annotations

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
    def __init__(self, db: Database) -> None:
        self.db = db

    async def record(self, tenant_id: str, account_id: str) -> AccountRecord:
        async with self.db.read() as conn:
            found = await store.get_account(conn, account_id, tenant_id)
        if found is None:
            raise NotFound(f"account {account_id!r} not found")
        return found

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
        async with self.db.write() as conn:
            record = await store.create_account(conn, tenant_id, "LOCAL", name, email=email)
            await store.create_calendar(
                conn, record.id, name or "Calendar", timezone=timezone, is_default=True
            )
        return record

    async def list(
        self, tenant_id: str | None, *, after: str | None = None, limit: int = 100
    ) -> list[AccountRecord]:
        async with self.db.read() as conn:
            return await store.list_accounts(conn, tenant_id, after=after, limit=limit)

    async def delete(self, tenant_id: str, account_id: str) -> None:
        await self.record(tenant_id, account_id)
        async with self.db.write() as conn:
            await store.delete_account(conn, account_id)
