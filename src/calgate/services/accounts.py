"""Accounts: lookup within a tenant, status checks, creation with sealed secrets."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.engine import Connection

from calgate.cache import TTLCache
from calgate.errors import STATUS_ERRORS, CalgateError, NotFound
from calgate.providers.base import AccountContext
from calgate.secrets import SecretBox
from calgate.store import accounts as store
from calgate.store.accounts import AccountRecord
from calgate.store.db import Database

StatusEffect = Callable[[Connection, str, str, str, str], None]


class AccountService:
    def __init__(self, db: Database, box: SecretBox, cache_seconds: float = 0.0) -> None:
        self.db = db
        self.box = box
        self.cache: TTLCache[tuple[str, str], AccountRecord] = TTLCache(cache_seconds)
        # Run in the transaction that changes an account's status (the account_status
        # webhooks): (conn, tenant id, account id, account type, new status).
        self.on_status: list[StatusEffect] = []
        # Run before an account is deleted (push channels are stopped with its credentials).
        self.before_delete: list[Callable[[AccountContext], Awaitable[None]]] = []

    def context_of(self, record: AccountRecord) -> AccountContext:
        return AccountContext(
            id=record.id,
            tenant_id=record.tenant_id,
            type=record.type,
            name=record.name,
            email=record.email,
            params=record.params,
            secrets=self.box.open(record.secrets),
        )

    async def record(self, tenant_id: str, account_id: str) -> AccountRecord:
        found = self.cache.get((tenant_id, account_id))
        if found is not None:
            return found
        found = await self.db.read(lambda c: store.get_account(c, account_id, tenant_id))
        if found is None:
            raise NotFound(f"account {account_id!r} not found")
        self.cache.put((tenant_id, account_id), found)
        return found

    async def usable(self, tenant_id: str, account_id: str) -> AccountContext:
        """The account as a provider sees it; refuses accounts whose source is not OK."""
        record = await self.record(tenant_id, account_id)
        if record.status != "OK":
            raise CalgateError(
                f"account {account_id!r} source status is {record.status}: reconnect it",
                type=STATUS_ERRORS.get(record.status, "errors/disconnected_account"),
            )
        return self.context_of(record)

    async def create(
        self,
        tenant_id: str,
        type_: str,
        name: str,
        *,
        email: str = "",
        params: dict[str, Any] | None = None,
        secrets: dict[str, str] | None = None,
        calendars: list[dict[str, Any]] | None = None,
    ) -> AccountRecord:
        """Store a connected account (secrets sealed) and, optionally, its first calendars
        (keyword arguments of :func:`calgate.store.accounts.create_calendar`)."""
        sealed = self.box.seal(secrets or {})

        def op(conn: Connection) -> AccountRecord:
            record = store.create_account(
                conn, tenant_id, type_, name, email=email, params=params, secrets=sealed
            )
            for calendar in calendars or ():
                store.create_calendar(conn, record.id, **calendar)
            return record

        return await self.db.write(op)

    async def create_local(
        self, tenant_id: str, name: str, *, email: str = "", timezone: str = "UTC"
    ) -> AccountRecord:
        default = {"name": name or "Calendar", "timezone": timezone, "is_default": True}
        return await self.create(tenant_id, "LOCAL", name, email=email, calendars=[default])

    async def update_secrets(self, account: AccountContext, secrets: dict[str, str]) -> None:
        """Replace an account's secrets (e.g. refreshed OAuth tokens)."""
        sealed = self.box.seal(secrets)
        await self.db.write(lambda c: store.update_account(c, account.id, secrets=sealed))
        self.cache.discard((account.tenant_id, account.id))

    def _status(
        self, conn: Connection, record: AccountRecord | AccountContext, status: str
    ) -> None:
        current = store.get_account(conn, record.id, record.tenant_id)
        if current is None or current.status == status:
            return
        store.set_status(conn, record.id, status)
        for effect in self.on_status:
            effect(conn, record.tenant_id, record.id, record.type, status)

    async def set_status(self, record: AccountRecord | AccountContext, status: str) -> None:
        await self.db.write(lambda c: self._status(c, record, status))
        self.cache.discard((record.tenant_id, record.id))

    async def reconnect(self, record: AccountRecord, secrets: dict[str, str]) -> None:
        """New credentials for an account and its status back to OK, in one transaction (the
        status effects run when it was not OK: an ``account_status`` webhook, push re-armed)."""
        sealed = self.box.seal(secrets)

        def op(conn: Connection) -> None:
            store.update_account(conn, record.id, secrets=sealed)
            self._status(conn, record, "OK")

        await self.db.write(op)
        self.cache.discard((record.tenant_id, record.id))

    async def list(
        self,
        tenant_id: str | None,
        *,
        after: str | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> list[AccountRecord]:
        return await self.db.read(
            lambda c: store.list_accounts(c, tenant_id, after=after, offset=offset, limit=limit)
        )

    async def delete(self, tenant_id: str, account_id: str) -> None:
        record = await self.record(tenant_id, account_id)
        for hook in self.before_delete:
            await hook(self.context_of(record))
        await self.db.write(lambda c: store.delete_account(c, account_id))
        self.cache.discard((tenant_id, account_id))
