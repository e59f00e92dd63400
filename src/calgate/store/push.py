"""The push channels: one Google watch channel or Graph subscription per synced calendar,
shared by every process through the database.

A row exists for each synced calendar of a push-capable account type. Its ``renew_at`` says
when a process must (re)create or renew it; a process claims that work with a lease, as sync
claims its jobs (:mod:`calgate.store.mirror`), so that one calendar has one channel however many
processes run. The channel's secret (Google's ``token``, Graph's ``clientState``) is kept only
as a SHA-256 digest: a notification is checked against it, a copy of the database cannot forge
one.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    String,
    Table,
    Text,
    and_,
    bindparam,
    delete,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Connection

from calgate.store import tables as t

push_channels = Table(
    "push_channels",
    t.metadata,
    Column("account_id", String(40), primary_key=True),
    Column("calendar_id", String(255), primary_key=True),
    Column("tenant_id", String(40), nullable=False),
    Column("kind", String(20), nullable=False),  # the account type
    Column("channel_id", String(200), nullable=True, unique=True),  # Google id / Graph id
    Column("resource_id", String(200), nullable=False, default=""),  # Google's resourceId
    Column("secret_hash", String(64), nullable=False, default=""),
    Column("expires_at", BigInteger, nullable=False, default=0),
    Column("renew_at", BigInteger, nullable=False, default=0),
    Column("lease_owner", String(40), nullable=True),
    Column("lease_until", BigInteger, nullable=False, default=0),
    Column("last_error", Text, nullable=False, default=""),
    Column("failures", Integer, nullable=False, default=0),
    Column("notifications", BigInteger, nullable=False, default=0),
    Column("last_notification_at", BigInteger, nullable=True),
    Column("renewals", Integer, nullable=False, default=0),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Index("ix_push_channels_renew", "renew_at"),
)
pc = push_channels
sc = t.sync_calendars


@dataclass(frozen=True, slots=True)
class Channel:
    account_id: str
    calendar_id: str
    tenant_id: str
    kind: str
    channel_id: str | None
    resource_id: str
    secret_hash: str
    expires_at: int
    renew_at: int
    last_error: str
    failures: int
    notifications: int
    last_notification_at: int | None
    renewals: int
    gone: bool = False  # the calendar is no longer synced: stop the channel


def _channel(row: Any, gone: bool = False) -> Channel:
    return Channel(
        row.account_id,
        row.calendar_id,
        row.tenant_id,
        row.kind,
        row.channel_id,
        row.resource_id,
        row.secret_hash,
        row.expires_at,
        row.renew_at,
        row.last_error,
        row.failures,
        row.notifications,
        row.last_notification_at,
        row.renewals,
        gone,
    )


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(channel: Channel, secret: str | None) -> bool:
    return bool(secret) and hmac.compare_digest(channel.secret_hash, digest(secret or ""))


def _key(account_id: str, calendar_id: str) -> Any:
    return and_(pc.c.account_id == account_id, pc.c.calendar_id == calendar_id)


def _synced() -> Any:
    return (
        select(sc.c.calendar_id)
        .where(sc.c.account_id == pc.c.account_id, sc.c.calendar_id == pc.c.calendar_id)
        .exists()
    )


# The keepers' work -------------------------------------------------------------------------


def enroll(conn: Connection, kinds: Iterable[str], now: int) -> None:
    """A row (due now) for every synced calendar of ``kinds``; rows of deleted accounts go
    (their channels cannot be stopped without the account: they expire)."""
    a = t.accounts
    missing = (
        select(sc.c.account_id, sc.c.calendar_id, sc.c.tenant_id, a.c.type)
        .join(a, a.c.id == sc.c.account_id)
        .where(
            a.c.type.in_(sorted(kinds)),
            ~select(pc.c.account_id)
            .where(pc.c.account_id == sc.c.account_id, pc.c.calendar_id == sc.c.calendar_id)
            .exists(),
        )
        .add_columns(*(literal(now, BigInteger) for _ in range(3)))
    )
    conn.execute(
        insert(pc).from_select(
            [
                "account_id",
                "calendar_id",
                "tenant_id",
                "kind",
                "renew_at",
                "created_at",
                "updated_at",
            ],
            missing,
        )
    )
    conn.execute(delete(pc).where(~select(a.c.id).where(a.c.id == pc.c.account_id).exists()))


def claim(conn: Connection, *, token: str, now: int, lease_until: int, limit: int) -> list[Channel]:
    """Claim the channels to create, renew or stop (their calendar is no longer synced)."""
    gone = ~_synced()
    due = (
        select(pc, gone.label("gone"))
        .where(or_(pc.c.lease_owner.is_(None), pc.c.lease_until <= now))
        .where(or_(pc.c.renew_at <= now, gone))
        .order_by(pc.c.renew_at)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True, of=pc)
    rows = conn.execute(due).all()
    for row in rows:
        conn.execute(
            update(pc)
            .where(_key(row.account_id, row.calendar_id))
            .values(lease_owner=token, lease_until=lease_until)
        )
    return [_channel(r, bool(r.gone)) for r in rows]


def established(
    conn: Connection,
    channel: Channel,
    *,
    token: str,
    now: int,
    channel_id: str,
    resource_id: str,
    secret_hash: str,
    expires_at: int,
    renew_at: int,
) -> bool:
    """Record a channel made or renewed (only while this process holds it); the calendar is
    synced now (a change between the old channel and the new one is not missed)."""
    done = conn.execute(
        update(pc)
        .where(_key(channel.account_id, channel.calendar_id), pc.c.lease_owner == token)
        .values(
            channel_id=channel_id,
            resource_id=resource_id,
            secret_hash=secret_hash,
            expires_at=expires_at,
            renew_at=renew_at,
            lease_owner=None,
            lease_until=0,
            last_error="",
            failures=0,
            renewals=pc.c.renewals + (1 if channel.channel_id else 0),
            updated_at=now,
        )
    )
    make_due(conn, channel.account_id, channel.calendar_id, now)
    return bool(done.rowcount)


def failed(
    conn: Connection, channel: Channel, *, token: str, now: int, error: str, retry_at: int
) -> None:
    conn.execute(
        update(pc)
        .where(_key(channel.account_id, channel.calendar_id), pc.c.lease_owner == token)
        .values(
            lease_owner=None,
            lease_until=0,
            renew_at=retry_at,
            last_error=error[:2000],
            failures=pc.c.failures + 1,
            updated_at=now,
        )
    )


def remove(conn: Connection, account_id: str, calendar_id: str | None = None) -> None:
    where = pc.c.account_id == account_id
    if calendar_id is not None:
        where = _key(account_id, calendar_id)
    conn.execute(delete(pc).where(where))


def renew_now(conn: Connection, channel: Channel, now: int, *, lost: bool = False) -> None:
    """Renew (``lost``: make again, the provider removed it) at the next keeper tick."""
    values: dict[str, Any] = {"renew_at": now, "updated_at": now}
    if lost:
        values |= {"channel_id": None, "resource_id": "", "secret_hash": ""}
    conn.execute(update(pc).where(_key(channel.account_id, channel.calendar_id)).values(**values))


def rearm(conn: Connection, account_id: str, now: int) -> None:
    """Every channel of the account made or renewed at the keeper's next look, its failures
    forgotten (the account has new credentials: the growing retry delay no longer applies)."""
    conn.execute(
        update(pc)
        .where(pc.c.account_id == account_id)
        .values(renew_at=now, failures=0, updated_at=now)
    )


# Notifications -----------------------------------------------------------------------------


def by_channel_id(conn: Connection, channel_id: str) -> Channel | None:
    row = conn.execute(select(pc).where(pc.c.channel_id == channel_id)).first()
    return _channel(row) if row else None


def of_account(conn: Connection, account_id: str | None = None) -> list[Channel]:
    query = select(pc).order_by(pc.c.account_id, pc.c.calendar_id)
    if account_id is not None:
        query = query.where(pc.c.account_id == account_id)
    return [_channel(r) for r in conn.execute(query)]


def watched(account_id: str, calendar_id: str, now: int) -> Any:
    """An EXISTS: the calendar has a live channel (made, not expired, not failing)."""
    return (
        select(pc.c.account_id)
        .where(_key(account_id, calendar_id), pc.c.channel_id.is_not(None))
        .where(pc.c.expires_at > now, pc.c.last_error == "")
        .exists()
    )


def make_due(conn: Connection, account_id: str, calendar_id: str, now: int) -> None:
    """The calendar's sync is due now (a run in progress keeps it due: see mirror.finish)."""
    conn.execute(
        update(sc)
        .where(sc.c.account_id == account_id, sc.c.calendar_id == calendar_id)
        .values(due_at=now)
    )


# The two statements of `notified`, built once: the push routes' hot path (one write per group
# of notifications) would otherwise spend more time building them than running them.
_DUE = (
    update(sc)
    .where(sc.c.account_id == bindparam("a"), sc.c.calendar_id == bindparam("c"))
    .values(due_at=bindparam("now"))
)
_COUNTED = (
    update(pc)
    .where(pc.c.account_id == bindparam("a"), pc.c.calendar_id == bindparam("c"))
    .values(
        notifications=pc.c.notifications + bindparam("n"), last_notification_at=bindparam("now")
    )
)


def notified(conn: Connection, counts: Iterable[tuple[str, str, int]], now: int) -> None:
    """Record notifications durably, ``(account_id, calendar_id, how many)`` each: those
    calendars' syncs are due now (what `make_due` does, for many calendars at once)."""
    rows = [{"a": a, "c": c, "n": n, "now": now} for a, c, n in counts]
    if rows:
        conn.execute(_DUE, rows)
        conn.execute(_COUNTED, rows)


__all__ = [
    "Channel",
    "by_channel_id",
    "claim",
    "digest",
    "enroll",
    "established",
    "failed",
    "make_due",
    "notified",
    "of_account",
    "push_channels",
    "rearm",
    "remove",
    "renew_now",
    "secret_matches",
    "watched",
]
