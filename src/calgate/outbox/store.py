"""The outbox tables: deliveries written with the change that causes them, claimed by workers.

A delivery is ``pending`` until a worker records it ``delivered`` or, after its last attempt,
``failed``. ``next_attempt_at`` says when it is due; a worker claims a due delivery by moving
``next_attempt_at`` to the end of a lease and setting ``claim`` to a token of its own, in one
transaction serialised with the other claims (PostgreSQL: an advisory lock; SQLite: the write
lock). A worker that dies
holding a claim leaves a delivery that is due again when the lease ends: delivery is at least
once, never lost.

Plain functions over a connection, run through :meth:`calgate.store.db.Database.write` (safe
to re-run: each is one set of statements with its inputs fixed by the caller).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from sqlalchemy import and_, delete, func, insert, or_, select, text, update
from sqlalchemy.engine import Connection

from calgate.store import tables as t

Status = Literal["pending", "delivered", "failed"]
o = t.outbox
# PostgreSQL advisory lock serialising claims (any fixed number unique to this purpose).
CLAIM_LOCK = 0x6361_6C67_6174_6501


@dataclass(frozen=True, slots=True)
class NewDelivery:
    channel: str
    target: str
    topic: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Delivery:
    id: str
    tenant_id: str
    account_id: str
    channel: str
    target: str
    topic: str
    change_id: str
    event_id: str
    payload_id: str
    data: dict[str, Any]
    status: Status
    attempts: int
    next_attempt_at: int
    claim: str | None
    last_code: int | None
    last_error: str
    created_at: int
    updated_at: int
    delivered_at: int | None


def _delivery(row: Any) -> Delivery:
    return Delivery(
        id=row.id,
        tenant_id=row.tenant_id,
        account_id=row.account_id,
        channel=row.channel,
        target=row.target,
        topic=row.topic,
        change_id=row.change_id,
        event_id=row.event_id,
        payload_id=row.payload_id,
        data=orjson.loads(row.data),
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        claim=row.claim,
        last_code=row.last_code,
        last_error=row.last_error,
        created_at=row.created_at,
        updated_at=row.updated_at,
        delivered_at=row.delivered_at,
    )


def enqueue(
    conn: Connection,
    *,
    ids: list[str],
    payload_id: str,
    payload: dict[str, Any],
    tenant_id: str,
    account_id: str,
    change_id: str,
    event_id: str,
    deliveries: list[NewDelivery],
    now: int,
) -> None:
    """Store one shared payload and its deliveries (``ids[i]`` is the id of ``deliveries[i]``)."""
    if not deliveries:
        return
    conn.execute(
        insert(t.outbox_payloads).values(
            id=payload_id, data=orjson.dumps(payload).decode(), created_at=now
        )
    )
    conn.execute(
        insert(o),
        [
            {
                "id": delivery_id,
                "tenant_id": tenant_id,
                "account_id": account_id,
                "channel": d.channel,
                "target": d.target,
                "topic": d.topic,
                "change_id": change_id,
                "event_id": event_id,
                "payload_id": payload_id,
                "data": orjson.dumps(d.data).decode(),
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "claim": None,
                "last_code": None,
                "last_error": "",
                "created_at": now,
                "updated_at": now,
                "delivered_at": None,
            }
            for delivery_id, d in zip(ids, deliveries, strict=True)
        ],
    )


# The oldest pending delivery of each target with pending deliveries, when it is due and no
# delivery of its target is in flight (claimed, lease not over). A recursive CTE walks the
# distinct targets through the index (a skip scan: SQLite and PostgreSQL have no loose index
# scan of their own).
_HEADS = text(
    """
    WITH RECURSIVE targets(target) AS (
        SELECT MIN(target) FROM outbox WHERE status = 'pending'
        UNION ALL
        SELECT (SELECT MIN(o.target) FROM outbox o
                WHERE o.status = 'pending' AND o.target > targets.target)
        FROM targets WHERE targets.target IS NOT NULL
    ),
    heads(id) AS (
        SELECT (SELECT o.id FROM outbox o
                WHERE o.status = 'pending' AND o.target = targets.target
                ORDER BY o.next_attempt_at, o.id LIMIT 1)
        FROM targets
        WHERE targets.target IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM outbox b
                          WHERE b.status = 'pending' AND b.target = targets.target
                            AND b.next_attempt_at > :now AND b.claim IS NOT NULL)
    )
    SELECT o.id, o.tenant_id, o.next_attempt_at FROM heads JOIN outbox o ON o.id = heads.id
    WHERE o.next_attempt_at <= :now
    """
)


def claim(
    conn: Connection,
    *,
    token: str,
    now: int,
    lease_until: int,
    limit: int,
    per_tenant: int | None = None,
    held: Mapping[str, int] | None = None,
) -> list[Delivery]:
    """Claim up to ``limit`` due deliveries for the worker holding ``token``, fairly.

    Fair means: at most one delivery per target (webhook, mail recipient) in flight across all
    workers (a target with a live claim is skipped), the oldest due delivery of each target
    first, tenants taken in turn (each tenant's oldest target, then each one's second...),
    and a tenant given at most ``per_tenant`` deliveries in flight in this worker, counting
    the ``held`` ones (tenant id -> in flight). So a receiver that never answers holds one
    slot, and one tenant's slow receivers never hold every slot.

    Claims are serialised (SQLite: the write lock; PostgreSQL: a transaction advisory lock, so
    that each claim sees the ones committed before it and two workers never pick the same
    rows or two deliveries of one target). The candidates are the oldest pending delivery of
    each target, found by a skip scan over the targets (:data:`_HEADS`, index
    ``ix_outbox_pending_target``): the cost grows with the number of targets that have
    pending deliveries, not with the number of deliveries waiting. Then exactly the picked
    rows are updated. (One ``UPDATE ... WHERE id IN (SELECT ... LIMIT n)`` is not safe:
    PostgreSQL may run the subquery again and claim more than ``n`` rows.)"""
    if conn.dialect.name == "postgresql":
        conn.execute(select(func.pg_advisory_xact_lock(CLAIM_LOCK)))
    cap = per_tenant if per_tenant is not None else limit
    held = held or {}
    heads = [
        (row.id, row.tenant_id, row.next_attempt_at) for row in conn.execute(_HEADS, {"now": now})
    ]
    # Tenants in turn: each one's oldest due target, then each one's second...
    rank: Counter[str] = Counter()
    ordered: list[tuple[int, int, str, str]] = []
    for delivery_id, tenant_id, due_at in sorted(heads, key=lambda h: (h[2], h[0])):
        rank[tenant_id] += 1
        ordered.append((rank[tenant_id], due_at, delivery_id, tenant_id))
    picked: list[str] = []
    for turn, _, delivery_id, tenant_id in sorted(ordered):
        if len(picked) == limit:
            break
        if turn <= cap - held.get(tenant_id, 0):
            picked.append(delivery_id)
    if not picked:
        return []
    rows = conn.execute(
        update(o)
        .where(o.c.id.in_(picked), o.c.status == "pending", o.c.next_attempt_at <= now)
        .values(claim=token, next_attempt_at=lease_until, attempts=o.c.attempts + 1, updated_at=now)
        .returning(*o.c)
    )
    return sorted((_delivery(r) for r in rows), key=lambda d: (d.created_at, d.id))


def payloads(conn: Connection, payload_ids: set[str]) -> dict[str, dict[str, Any]]:
    rows = conn.execute(
        select(t.outbox_payloads.c.id, t.outbox_payloads.c.data).where(
            t.outbox_payloads.c.id.in_(sorted(payload_ids))
        )
    )
    return {r.id: orjson.loads(r.data) for r in rows}


def succeed(conn: Connection, delivery_id: str, *, now: int, code: int | None) -> None:
    """Record a delivery as done. Any worker's success counts, even after its lease ended."""
    conn.execute(
        update(o)
        .where(o.c.id == delivery_id, o.c.status == "pending")
        .values(
            status="delivered",
            claim=None,
            last_code=code,
            last_error="",
            delivered_at=now,
            updated_at=now,
        )
    )


def fail(
    conn: Connection,
    delivery_id: str,
    *,
    token: str,
    now: int,
    code: int | None,
    error: str,
    retry_at: int | None,
) -> None:
    """Record a failed attempt: due again at ``retry_at``, or ``failed`` when None. Only the
    worker still holding the claim may record it (a late worker must not reschedule a
    delivery that another worker has claimed since)."""
    values: dict[str, Any] = {
        "claim": None,
        "last_code": code,
        "last_error": error[:2000],
        "updated_at": now,
    }
    if retry_at is None:
        values["status"] = "failed"
    else:
        values["next_attempt_at"] = retry_at
    conn.execute(
        update(o)
        .where(o.c.id == delivery_id, o.c.claim == token, o.c.status == "pending")
        .values(**values)
    )


def release(conn: Connection, token: str, ids: list[str], *, now: int) -> None:
    """Give back claims not attempted (worker stopping): due now, the attempt not counted."""
    if not ids:
        return
    conn.execute(
        update(o)
        .where(o.c.id.in_(ids), o.c.claim == token, o.c.status == "pending")
        .values(claim=None, next_attempt_at=now, attempts=o.c.attempts - 1, updated_at=now)
    )


def get(conn: Connection, delivery_id: str) -> Delivery | None:
    row = conn.execute(select(o).where(o.c.id == delivery_id)).first()
    return _delivery(row) if row else None


def for_target(
    conn: Connection,
    channel: str,
    target: str,
    *,
    status: str | None = None,
    before: tuple[int, str] | None = None,
    limit: int = 100,
) -> list[Delivery]:
    """Deliveries to one target, newest first; ``before`` is the (created_at, id) to page on."""
    query = (
        select(o)
        .where(o.c.target == target, o.c.channel == channel)
        .order_by(o.c.created_at.desc(), o.c.id.desc())
        .limit(limit)
    )
    if status is not None:
        query = query.where(o.c.status == status)
    if before is not None:
        query = query.where(
            or_(
                o.c.created_at < before[0],
                and_(o.c.created_at == before[0], o.c.id < before[1]),
            )
        )
    return [_delivery(r) for r in conn.execute(query)]


def redeliver(conn: Connection, delivery_id: str, *, now: int) -> None:
    """Make a failed or delivered delivery pending again, with a fresh set of attempts."""
    conn.execute(
        update(o)
        .where(o.c.id == delivery_id, o.c.status != "pending")
        .values(
            status="pending",
            attempts=0,
            next_attempt_at=now,
            claim=None,
            delivered_at=None,
            updated_at=now,
        )
    )


def drop_target(conn: Connection, channel: str, target: str) -> None:
    """Forget every delivery to ``target`` (its webhook was deleted)."""
    conn.execute(delete(o).where(o.c.target == target, o.c.channel == channel))


def counts_by_change(conn: Connection, change_ids: set[str]) -> dict[str, dict[str, int]]:
    """change id -> {status: number of mail deliveries}."""
    if not change_ids:
        return {}
    rows = conn.execute(
        select(o.c.change_id, o.c.status, func.count())
        .where(o.c.change_id.in_(sorted(change_ids)), o.c.channel == "mail")
        .group_by(o.c.change_id, o.c.status)
    )
    out: dict[str, dict[str, int]] = {}
    for change_id, status, count in rows:
        out.setdefault(change_id, {})[status] = count
    return out


def depth(conn: Connection) -> dict[tuple[str, str], int]:
    """(channel, status) -> number of deliveries still kept, for the metrics."""
    rows = conn.execute(
        select(o.c.channel, o.c.status, func.count())
        .where(o.c.status.in_(("pending", "failed")))
        .group_by(o.c.channel, o.c.status)
    )
    return {(channel, status): int(count) for channel, status, count in rows}


def prune(conn: Connection, cutoff: int) -> int:
    """Delete deliveries finished before ``cutoff`` and payloads no delivery uses any more
    (settle the invitation notices first: :func:`calgate.outbox.notices.settle`)."""
    done = conn.execute(
        delete(o).where(o.c.status.in_(("delivered", "failed")), o.c.updated_at < cutoff)
    )
    conn.execute(
        delete(t.outbox_payloads).where(
            t.outbox_payloads.c.created_at < cutoff,
            ~select(o.c.id).where(o.c.payload_id == t.outbox_payloads.c.id).exists(),
        )
    )
    return int(done.rowcount or 0)
