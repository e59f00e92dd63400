"""Idempotency keys: one row per (tenant, key), claimed by the first request that carries it.

A row is *pending* (``status`` NULL) while its first request runs, and holds that request's
answer afterwards. The primary key (tenant_id, key) is what makes two concurrent requests,
on one instance or on two, agree on which of them does the work. Expired rows (an answer past
its time to live, or a pending row whose process died: past its lease) count as absent.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson
from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from calgate.store import tables as t

T = t.idempotency_keys


@dataclass(frozen=True, slots=True)
class Stored:
    fingerprint: str
    request: str
    owner: str
    status: int | None
    headers: list[tuple[str, str]]
    body: bytes
    expires_at: int

    @property
    def pending(self) -> bool:
        return self.status is None


def _stored(row: object) -> Stored:
    headers = [(str(k), str(v)) for k, v in orjson.loads(row.headers)]  # type: ignore[attr-defined]
    return Stored(
        row.fingerprint,  # type: ignore[attr-defined]
        row.request,  # type: ignore[attr-defined]
        row.owner,  # type: ignore[attr-defined]
        row.status,  # type: ignore[attr-defined]
        headers,
        bytes(row.body),  # type: ignore[attr-defined]
        row.expires_at,  # type: ignore[attr-defined]
    )


def get(conn: Connection, tenant_id: str, key: str, now: int) -> Stored | None:
    """The live row for ``key``, or None (absent or expired)."""
    row = conn.execute(
        select(T).where(T.c.tenant_id == tenant_id, T.c.key == key, T.c.expires_at > now)
    ).first()
    return None if row is None else _stored(row)


def claim(
    conn: Connection,
    tenant_id: str,
    key: str,
    *,
    fingerprint: str,
    request: str,
    owner: str,
    now: int,
    lease_until: int,
) -> Stored | None:
    """Take ``key`` for this request: None when it is now ours (a pending row was written),
    otherwise the live row that holds it. Safe to re-run."""
    conn.execute(delete(T).where(T.c.tenant_id == tenant_id, T.c.key == key, T.c.expires_at <= now))
    values = {
        "tenant_id": tenant_id,
        "key": key,
        "fingerprint": fingerprint,
        "request": request[:600],
        "owner": owner,
        "status": None,
        "headers": "[]",
        "body": b"",
        "created_at": now,
        "expires_at": lease_until,
    }
    dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    for _ in range(3):
        inserted = conn.execute(
            dialect_insert(T)
            .values(**values)
            .on_conflict_do_nothing(index_elements=[T.c.tenant_id, T.c.key])
        )
        if inserted.rowcount == 1:
            return None
        # PostgreSQL: the row in the way may have been released since; look again.
        found = get(conn, tenant_id, key, now)
        if found is not None:
            return found
    raise RuntimeError(f"idempotency key {key!r}: could not claim nor read it")


def finish(
    conn: Connection,
    tenant_id: str,
    key: str,
    *,
    owner: str,
    status: int,
    headers: list[tuple[str, str]],
    body: bytes,
    expires_at: int,
) -> bool:
    """Store the answer of the request that owns ``key``; False if it no longer owns it."""
    result = conn.execute(
        update(T)
        .where(T.c.tenant_id == tenant_id, T.c.key == key, T.c.owner == owner)
        .values(
            status=status, headers=orjson.dumps(headers).decode(), body=body, expires_at=expires_at
        )
    )
    return bool(result.rowcount)


def release(conn: Connection, tenant_id: str, key: str, owner: str) -> None:
    """Forget ``key`` (its request failed), so that a retry does the work."""
    conn.execute(delete(T).where(T.c.tenant_id == tenant_id, T.c.key == key, T.c.owner == owner))


def purge_expired(conn: Connection, now: int) -> int:
    """Delete every expired row; returns how many."""
    result = conn.execute(delete(T).where(T.c.expires_at <= now))
    return int(result.rowcount or 0)
