"""What happened to the invitations of an event's latest invitation-relevant change.

A notice is written with the change (``none``, ``queued``, ``sent``, ``forced_by_provider``,
``failed``). ``queued`` is resolved when read, from the mail deliveries of that change: any
still pending -> ``queued``; else any failed -> ``failed``; else ``sent``. Before old
deliveries are pruned, the notices that depend on them are settled to that final state.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from calgate.outbox import store
from calgate.store import tables as t
from calgate.store.bare import ReadNotices

n = t.notices


def _upsert(dialect: Any) -> Any:
    stmt = dialect.insert(n)
    return stmt.on_conflict_do_update(
        index_elements=[n.c.account_id, n.c.event_id],
        set_={
            "change_id": stmt.excluded.change_id,
            "state": stmt.excluded.state,
            "updated_at": stmt.excluded.updated_at,
        },
    )


# Built once: executed with bound values, so the compiled statement is reused on every change.
_UPSERTS: dict[str, Any] = {"postgresql": _upsert(postgresql), "sqlite": _upsert(sqlite)}


def put(
    conn: Connection, account_id: str, event_id: str, change_id: str, state: str, now: int
) -> None:
    values = {
        "account_id": account_id,
        "event_id": event_id,
        "change_id": change_id,
        "state": state,
        "updated_at": now,
    }
    stmt = _UPSERTS.get(conn.dialect.name)
    if stmt is None:  # pragma: no cover - calgate runs on SQLite and PostgreSQL
        conn.execute(n.delete().where(n.c.account_id == account_id, n.c.event_id == event_id))
        conn.execute(insert(n), values)
        return
    conn.execute(stmt, values)


def resolve(state: str, counts: dict[str, int]) -> str:
    if state != "queued":
        return state
    if counts.get("pending"):
        return "queued"
    if counts.get("failed"):
        return "failed"
    return "sent"


def states(
    conn: Connection | ReadNotices, account_id: str, event_ids: Iterable[str]
) -> dict[str, str]:
    """event id -> notification state, for the events that have a notice. ``conn``: a
    connection, or the notices a bare read (calgate.store.bare) read with the events."""
    ids = set(event_ids)
    if not ids:
        return {}
    if isinstance(conn, ReadNotices):
        if conn.account_id != account_id or not conn.ids.issuperset(ids):
            raise ValueError("notices asked of a read that did not read them")
        counts = conn.counts
        return {
            i: resolve(n.state, counts.get(n.change_id, {}))
            for i, n in conn.found.items()
            if i in ids
        }
    rows = conn.execute(
        select(n.c.event_id, n.c.change_id, n.c.state).where(
            n.c.account_id == account_id, n.c.event_id.in_(sorted(ids))
        )
    ).all()
    queued = {r.change_id for r in rows if r.state == "queued"}
    counts = store.counts_by_change(conn, queued)
    return {r.event_id: resolve(r.state, counts.get(r.change_id, {})) for r in rows}


def settle(conn: Connection, cutoff: int) -> None:
    """Fix the final state of queued notices whose deliveries are about to be pruned."""
    o = t.outbox
    finishing = select(o.c.change_id).where(
        o.c.channel == "mail",
        o.c.status.in_(("delivered", "failed")),
        o.c.updated_at < cutoff,
    )
    rows = conn.execute(
        select(n.c.account_id, n.c.event_id, n.c.change_id).where(
            n.c.state == "queued", n.c.change_id.in_(finishing)
        )
    ).all()
    counts = store.counts_by_change(conn, {r.change_id for r in rows})
    for r in rows:
        final = resolve("queued", counts.get(r.change_id, {}))
        if final != "queued":
            conn.execute(
                update(n)
                .where(n.c.account_id == r.account_id, n.c.event_id == r.event_id)
                .values(state=final)
            )
