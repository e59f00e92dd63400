"""Tenants and API keys. Keys are stored as SHA-256 digests and compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from calgate.store import tables as t
from calgate.store.db import now_us
from calgate.store.ids import new_id


@dataclass(frozen=True, slots=True)
class ApiKeyInfo:
    id: str
    tenant_id: str
    name: str
    prefix: str
    created_at: int
    revoked_at: int | None


def digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def generate_key() -> str:
    return "cg_" + secrets.token_urlsafe(30)


def create_tenant(conn: Connection, name: str) -> str:
    tenant_id = new_id()
    conn.execute(insert(t.tenants).values(id=tenant_id, name=name, created_at=now_us()))
    return tenant_id


def list_tenants(conn: Connection) -> list[tuple[str, str]]:
    rows = conn.execute(select(t.tenants.c.id, t.tenants.c.name).order_by(t.tenants.c.created_at))
    return [(r.id, r.name) for r in rows]


def tenant_exists(conn: Connection, tenant_id: str) -> bool:
    row = conn.execute(select(t.tenants.c.id).where(t.tenants.c.id == tenant_id))
    return row.first() is not None


def create_key(
    conn: Connection, tenant_id: str, name: str, raw: str | None = None
) -> tuple[ApiKeyInfo, str]:
    """Store a new key (random unless ``raw`` is given); returns its info and the raw key."""
    raw = raw or generate_key()
    info = ApiKeyInfo(new_id(), tenant_id, name, raw[:8], now_us(), None)
    conn.execute(
        insert(t.api_keys).values(
            id=info.id,
            tenant_id=tenant_id,
            name=name,
            key_hash=digest(raw),
            prefix=info.prefix,
            created_at=info.created_at,
        )
    )
    return info, raw


def list_keys(conn: Connection, tenant_id: str | None = None) -> list[ApiKeyInfo]:
    query = select(t.api_keys).order_by(t.api_keys.c.created_at)
    if tenant_id:
        query = query.where(t.api_keys.c.tenant_id == tenant_id)
    rows = conn.execute(query)
    return [
        ApiKeyInfo(r.id, r.tenant_id, r.name, r.prefix, r.created_at, r.revoked_at) for r in rows
    ]


def revoke_key(conn: Connection, key_id: str) -> bool:
    result = conn.execute(
        update(t.api_keys)
        .where(t.api_keys.c.id == key_id, t.api_keys.c.revoked_at.is_(None))
        .values(revoked_at=now_us())
    )
    return bool(result.rowcount)


def count_keys(conn: Connection) -> int:
    rows = conn.execute(select(t.api_keys.c.id))
    return len(rows.all())


def authenticate(conn: Connection, raw: str) -> ApiKeyInfo | None:
    """The live key matching ``raw``, or None."""
    wanted = digest(raw)
    row = (conn.execute(select(t.api_keys).where(t.api_keys.c.key_hash == wanted))).first()
    if row is None or not hmac.compare_digest(row.key_hash, wanted) or row.revoked_at is not None:
        return None
    return ApiKeyInfo(row.id, row.tenant_id, row.name, row.prefix, row.created_at, row.revoked_at)
