"""Idempotency keys: one row per (tenant, key), claimed by the first request that carries it.

A row is *pending* (``status`` NULL) while its first request runs, and holds that request's
answer afterwards (its body sealed by the middleware). The primary key (tenant_id, key) is what
makes two concurrent requests, on one instance or on two, agree on which of them does the work.
A pending row's lease is renewed while its request runs; past it, its process is taken to be
dead. Expired rows (an answer past its time to live, an abandoned pending row) count as absent,
except that a retry of the same request takes an abandoned row over with its first claim time
(``since``), from which the event id of a create is derived: a retry after a crash makes the
event the first attempt may already have made at the provider, not a second one. Where the
provider chooses the id of what it makes (a Google or Outlook calendar), an attempt *notes* on
its row, committed before the provider is called, what will tell a retry which one it made
(:attr:`Active.note`); a retry that takes the row over gets that note (:attr:`Active.noted`).

:data:`current` is the key of the request being served (set by the middleware), so that
LOCAL can record the answer in the transaction of the change itself (:func:`answerer`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Protocol

import orjson
from sqlalchemy import delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from calgate.errors import Conflict
from calgate.store import tables as t

T = t.idempotency_keys

# What a request answers: status, headers, body (sealed).
Answer = tuple[int, list[tuple[str, str]], bytes]


@dataclass(frozen=True, slots=True)
class Claim:
    """``key`` is now held by this request; ``since`` is when its first attempt claimed it;
    ``noted``: what an abandoned attempt noted before it died (see :func:`note`), when this
    request took its row over."""

    since: int
    noted: str | None = None


async def _cannot_note(text: str) -> None:
    raise RuntimeError("this request's Idempotency-Key takes no note")


@dataclass(frozen=True, slots=True)
class Active:
    """The Idempotency-Key of the request being served."""

    tenant_id: str
    key: str
    owner: str
    fingerprint: str
    since: int
    expires_at: int  # of the answer, once given
    # The answer the request will give for a change (kind, object id, what else the answer
    # shows) it makes, when the route is one whose answer follows from its change; else None.
    answer: Callable[[str, str, Mapping[str, object]], Answer | None]
    # What an earlier attempt of this key noted before calling its provider, when this attempt
    # took the key over from it (its process died): None on a first attempt, or when the dead
    # one had noted nothing.
    noted: str | None = None
    # Notes ``text`` on the key, committed, for a retry after a crash (a 409 when a retry took
    # the key over meanwhile).
    note: Callable[[str], Awaitable[None]] = _cannot_note

    @property
    def event_id(self) -> str:
        """The id of the event a create with this key makes: the same for every attempt."""
        seed = f"{self.tenant_id}\0{self.key}\0{self.fingerprint}\0{self.since}"
        return hashlib.sha256(seed.encode()).hexdigest()[:32]


current: ContextVar[Active | None] = ContextVar("calgate_idempotency", default=None)


def event_id() -> str | None:
    """The event id a create must use under the current Idempotency-Key, if any."""
    active = current.get()
    return None if active is None else active.event_id


class Answerer(Protocol):
    def __call__(
        self, conn: Connection, kind: str, object_id: str, extra: Mapping[str, object] = ...
    ) -> None: ...


_NOTHING: Mapping[str, object] = {}


def _no_answer(
    conn: Connection, kind: str, object_id: str, extra: Mapping[str, object] = _NOTHING
) -> None:
    return None


def answerer() -> Answerer:
    """For the current request (call it where the request runs, not in a database thread): a
    function that records its answer to change (kind, object id; ``extra``: what else the
    answer shows, such as a webhook's secret or the created calendar) in the change's own
    transaction, so that a crash after the commit still leaves the answer for a retry. Raises
    409 (and so rolls the change back) when a retry took the key over meanwhile."""
    active = current.get()
    if active is None:
        return _no_answer

    def record(
        conn: Connection, kind: str, object_id: str, extra: Mapping[str, object] = _NOTHING
    ) -> None:
        answer = active.answer(kind, object_id, extra)
        if answer is None:
            return
        status, headers, body = answer
        kept = finish(
            conn,
            active.tenant_id,
            active.key,
            owner=active.owner,
            status=status,
            headers=headers,
            body=body,
            expires_at=active.expires_at,
        )
        if not kept:
            raise Conflict(
                f"Idempotency-Key {active.key!r}: a retry took this key over while this request "
                "was still running; its answer is the one that counts"
            )

    return record


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
) -> Claim | Stored:
    """Take ``key`` for this request: a :class:`Claim` when it is now ours (a pending row was
    written, or an abandoned one of the same request taken over), otherwise the live row that
    holds it. Safe to re-run."""
    taken = conn.execute(
        update(T)
        .where(
            T.c.tenant_id == tenant_id,
            T.c.key == key,
            T.c.status.is_(None),
            T.c.expires_at <= now,
            T.c.fingerprint == fingerprint,
        )
        .values(owner=owner, expires_at=lease_until)
        .returning(T.c.created_at, T.c.noted)
    ).first()
    if taken is not None:
        return Claim(int(taken.created_at), taken.noted)
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
            return Claim(now)
        # PostgreSQL: the row in the way may have been released since; look again.
        found = get(conn, tenant_id, key, now)
        if found is not None:
            return found
    raise RuntimeError(f"idempotency key {key!r}: could not claim nor read it")


def renew(conn: Connection, tenant_id: str, key: str, owner: str, lease_until: int) -> bool:
    """Extend the lease of a pending key this request still holds (its process is alive)."""
    result = conn.execute(
        update(T)
        .where(
            T.c.tenant_id == tenant_id,
            T.c.key == key,
            T.c.owner == owner,
            T.c.status.is_(None),
        )
        .values(expires_at=lease_until)
    )
    return bool(result.rowcount)


def note(conn: Connection, tenant_id: str, key: str, owner: str, text: str) -> bool:
    """Note ``text`` on the pending key this request holds (what a retry after a crash needs
    to recognise what this attempt is about to make); False if it no longer holds it."""
    result = conn.execute(
        update(T)
        .where(
            T.c.tenant_id == tenant_id,
            T.c.key == key,
            T.c.owner == owner,
            T.c.status.is_(None),
        )
        .values(noted=text)
    )
    return bool(result.rowcount)


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
    """Forget ``key`` (its request failed), so that a retry does the work; an answer already
    recorded with the change it describes is kept (the change was made)."""
    conn.execute(
        delete(T).where(
            T.c.tenant_id == tenant_id,
            T.c.key == key,
            T.c.owner == owner,
            T.c.status.is_(None),
        )
    )


def purge_expired(conn: Connection, now: int, keep_abandoned_us: int) -> int:
    """Delete every expired answer, and the keys abandoned (pending, lease lapsed) more than
    ``keep_abandoned_us`` ago: until then a retry can take one over with its first claim time
    (and so make a create's retry find the event its first attempt made). Returns how many."""
    result = conn.execute(
        delete(T).where(
            T.c.expires_at <= now,
            or_(T.c.status.is_not(None), T.c.expires_at <= now - keep_abandoned_us),
        )
    )
    return int(result.rowcount or 0)
