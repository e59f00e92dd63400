"""The ``webhooks`` table: plain functions over a connection."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import delete, func, insert, select
from sqlalchemy.engine import Connection

from calgate.store import tables as t

w = t.webhooks


@dataclass(frozen=True, slots=True)
class Webhook:
    id: str
    tenant_id: str
    name: str
    source: str
    request_url: str
    events: list[str]
    account_ids: list[str]
    headers: list[dict[str, str]]
    secret: str  # sealed
    enabled: bool
    created_at: int
    api_version: str = "v1"

    def matches(self, event: str, account_id: str) -> bool:
        return (
            self.enabled
            and event in self.events
            and (not self.account_ids or account_id in self.account_ids)
        )


def _webhook(row: Any) -> Webhook:
    return Webhook(
        id=row.id,
        tenant_id=row.tenant_id,
        name=row.name,
        source=row.source,
        request_url=row.request_url,
        events=orjson.loads(row.events),
        account_ids=orjson.loads(row.account_ids),
        headers=orjson.loads(row.headers),
        secret=row.secret,
        enabled=row.enabled,
        created_at=row.created_at,
        api_version=row.api_version,
    )


def insert_webhook(conn: Connection, hook: Webhook) -> None:
    conn.execute(
        insert(w).values(
            id=hook.id,
            tenant_id=hook.tenant_id,
            name=hook.name,
            source=hook.source,
            request_url=hook.request_url,
            events=orjson.dumps(hook.events).decode(),
            account_ids=orjson.dumps(hook.account_ids).decode(),
            headers=orjson.dumps(hook.headers).decode(),
            secret=hook.secret,
            enabled=hook.enabled,
            created_at=hook.created_at,
            api_version=hook.api_version,
        )
    )


def count(conn: Connection, tenant_id: str) -> int:
    return int(conn.execute(select(func.count()).where(w.c.tenant_id == tenant_id)).scalar_one())


def get(conn: Connection, tenant_id: str | None, webhook_id: str) -> Webhook | None:
    query = select(w).where(w.c.id == webhook_id)
    if tenant_id is not None:
        query = query.where(w.c.tenant_id == tenant_id)
    row = conn.execute(query).first()
    return _webhook(row) if row else None


_ANY = "SELECT 1 FROM webhooks WHERE tenant_id = ? LIMIT 1"


def any_for(conn: Connection, tenant_id: str) -> bool:
    """Whether the tenant has any webhook (checked on every change: kept cheap)."""
    if conn.dialect.name == "sqlite":
        driver = conn.connection.driver_connection
        assert driver is not None
        return driver.execute(_ANY, (tenant_id,)).fetchone() is not None
    query = select(w.c.id).where(w.c.tenant_id == tenant_id).limit(1)
    return conn.execute(query).first() is not None


def list_for(
    conn: Connection, tenant_id: str, *, after: str | None = None, limit: int = 100
) -> list[Webhook]:
    query = select(w).where(w.c.tenant_id == tenant_id).order_by(w.c.id).limit(limit)
    if after:
        query = query.where(w.c.id > after)
    return [_webhook(r) for r in conn.execute(query)]


def update(conn: Connection, tenant_id: str, webhook_id: str, values: dict[str, Any]) -> bool:
    """Set ``values`` (column names; lists are stored as JSON) on the tenant's webhook."""
    row = {k: orjson.dumps(v).decode() if isinstance(v, list) else v for k, v in values.items()}
    done = conn.execute(
        w.update().where(w.c.id == webhook_id, w.c.tenant_id == tenant_id).values(**row)
    )
    return bool(done.rowcount)


def remove(conn: Connection, tenant_id: str, webhook_id: str) -> bool:
    done = conn.execute(delete(w).where(w.c.id == webhook_id, w.c.tenant_id == tenant_id))
    return bool(done.rowcount)


def existing_accounts(conn: Connection, tenant_id: str, account_ids: list[str]) -> set[str]:
    rows = conn.execute(
        select(t.accounts.c.id).where(
            t.accounts.c.tenant_id == tenant_id, t.accounts.c.id.in_(account_ids)
        )
    )
    return {r.id for r in rows}
