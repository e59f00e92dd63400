"""Operator keys: they sign in to the console (/console) and see every tenant. Stored as
SHA-256 digests like API keys (:mod:`calgate.store.keys`), in a table of their own, so that no
API key can ever open the console and no operator key can call the API."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from calgate.store import tables as t
from calgate.store.db import now_us
from calgate.store.ids import new_id
from calgate.store.keys import digest

t_admin = t.admin_keys


@dataclass(frozen=True, slots=True)
class AdminKey:
    id: str
    name: str
    prefix: str
    created_at: int
    revoked_at: int | None


def _key(row: object) -> AdminKey:
    return AdminKey(
        row.id,  # type: ignore[attr-defined]
        row.name,  # type: ignore[attr-defined]
        row.prefix,  # type: ignore[attr-defined]
        row.created_at,  # type: ignore[attr-defined]
        row.revoked_at,  # type: ignore[attr-defined]
    )


def create(conn: Connection, name: str) -> tuple[AdminKey, str]:
    """A new operator key; returns its info and the raw key (shown once)."""
    raw = "cga_" + secrets.token_urlsafe(30)
    key = AdminKey(new_id(), name, raw[:8], now_us(), None)
    conn.execute(
        insert(t_admin).values(
            id=key.id,
            name=name,
            key_hash=digest(raw),
            prefix=key.prefix,
            created_at=key.created_at,
        )
    )
    return key, raw


def list_all(conn: Connection) -> list[AdminKey]:
    return [_key(r) for r in conn.execute(select(t_admin).order_by(t_admin.c.created_at))]


def revoke(conn: Connection, key_id: str) -> bool:
    result = conn.execute(
        update(t_admin)
        .where(t_admin.c.id == key_id, t_admin.c.revoked_at.is_(None))
        .values(revoked_at=now_us())
    )
    return bool(result.rowcount)


def authenticate(conn: Connection, raw: str) -> AdminKey | None:
    """The live operator key matching ``raw``, or None."""
    wanted = digest(raw)
    row = conn.execute(select(t_admin).where(t_admin.c.key_hash == wanted)).first()
    if row is None or not hmac.compare_digest(row.key_hash, wanted) or row.revoked_at is not None:
        return None
    return _key(row)


def live(conn: Connection, key_id: str) -> bool:
    """Whether ``key_id`` is an operator key not revoked (checked on every console request)."""
    row = conn.execute(
        select(t_admin.c.id).where(t_admin.c.id == key_id, t_admin.c.revoked_at.is_(None))
    ).first()
    return row is not None
