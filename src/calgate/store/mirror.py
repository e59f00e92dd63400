"""The sync tables: what is due when and who holds it, and the mirror of each synced calendar.

Plain functions over a connection (run through :meth:`calgate.store.db.Database.write`).
A job (an account's calendar list, a calendar's change feed) is claimed by setting
``lease_owner`` and ``lease_until`` in one transaction (PostgreSQL: ``FOR UPDATE SKIP
LOCKED``; SQLite: the write lock); a run commits its results only while it still holds the
lease (:func:`finish`), so two processes never both commit one calendar's changes.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import (
    BigInteger,
    String,
    Table,
    and_,
    bindparam,
    case,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Connection

from calgate.domain.model import Event
from calgate.store import bare
from calgate.store import tables as t
from calgate.store.accounts import AccountRecord, account_from_row
from calgate.store.codec import event_from_json, event_to_json

sa_ = t.sync_accounts
sc = t.sync_calendars
si = t.sync_items
# ``own_version`` of an item calgate itself deleted.
DELETED = -1
# ``version`` of an item sync found deleted (and reported): kept a day as a tombstone, so that
# calgate's own deletion of it, recorded a moment later, is not reported again.
REMOVED = -2
TOMBSTONE_US = 86_400 * 1_000_000
Key = tuple[str, str]  # (account id, calendar id)


@dataclass(frozen=True, slots=True)
class CalendarState:
    account_id: str
    calendar_id: str
    tenant_id: str
    href: str
    mode: str
    cursor: str | None
    due_at: int
    lease_owner: str | None
    lease_until: int
    last_success_at: int | None
    last_error: str
    failures: int
    changes_seen: int
    full_resyncs: int


def _state(row: Any) -> CalendarState:
    return CalendarState(
        row.account_id,
        row.calendar_id,
        row.tenant_id,
        row.href,
        row.mode,
        row.cursor,
        row.due_at,
        row.lease_owner,
        row.lease_until,
        row.last_success_at,
        row.last_error,
        row.failures,
        row.changes_seen,
        row.full_resyncs,
    )


@dataclass(slots=True)
class Item:
    """One provider object as sync last saw it (or as calgate's own write left it)."""

    item_id: str
    href: str
    etag: str
    version: int
    events: list[Event] = field(default_factory=list)
    own_version: int | None = None


def events_to_text(events: Iterable[Event]) -> str:
    return orjson.dumps([event_to_json(e) for e in events]).decode()


def events_from_text(text: str) -> list[Event]:
    return [event_from_json(e) for e in orjson.loads(text)]


def _item(row: Any) -> Item:
    return Item(
        row.item_id, row.href, row.etag, row.version, events_from_text(row.events), row.own_version
    )


# Enrolment ---------------------------------------------------------------------------------


def enroll(conn: Connection, types: Iterable[str], now: int) -> None:
    """Give every account of ``types`` a sync job (due now) and drop the sync state of
    accounts that are gone."""
    a = t.accounts
    stamp = literal(now, BigInteger)
    missing = select(a.c.id, a.c.tenant_id, stamp, stamp).where(
        a.c.type.in_(sorted(types)),
        ~select(sa_.c.account_id).where(sa_.c.account_id == a.c.id).exists(),
    )
    conn.execute(
        insert(sa_).from_select(["account_id", "tenant_id", "due_at", "updated_at"], missing)
    )
    # Found through the (small) account jobs, not by scanning the mirror (calendars and items
    # exist only for accounts with a job).
    gone = list(
        conn.execute(
            select(sa_.c.account_id).where(
                ~select(a.c.id).where(a.c.id == sa_.c.account_id).exists()
            )
        ).scalars()
    )
    for table in (si, sc, sa_) if gone else ():
        conn.execute(delete(table).where(table.c.account_id.in_(gone)))


def make_due(conn: Connection, account_id: str, now: int) -> bool:
    """Make an account's calendar list and every calendar of it due now."""
    done = conn.execute(update(sa_).where(sa_.c.account_id == account_id).values(due_at=now))
    conn.execute(update(sc).where(sc.c.account_id == account_id).values(due_at=now))
    return bool(done.rowcount)


# Claiming ----------------------------------------------------------------------------------


def _free(table: Table, now: Any) -> Any:
    return or_(table.c.lease_owner.is_(None), table.c.lease_until <= now)


def _due_query(table: Table) -> Any:
    a = t.accounts
    now: Any = bindparam("b_now")
    return (
        select(table.c.account_id)
        .join(a, a.c.id == table.c.account_id)
        .where(a.c.status == "OK", table.c.due_at <= now, _free(table, now))
        .limit(1)
    )


# The scheduler's questions, asked at every tick and claim: built and compiled once, run on
# the bare driver (:mod:`calgate.store.bare`; Core's execution cost more than the statement).
_DUE = bare.Statement.of(
    select(_due_query(sa_).exists().label("accounts"), _due_query(sc).exists().label("calendars"))
)


def due_plan(now: int) -> bare.Plan:
    """Whether an account job and whether a calendar job is due and free (a read, so that an
    idle scheduler writes nothing): run by :meth:`Database.read_bare`."""
    [(accounts, calendars)] = yield _DUE, {"b_now": now}
    return bool(accounts), bool(calendars)


def due(conn: Connection, now: int) -> tuple[bool, bool]:
    """:func:`due_plan` in ``conn``'s transaction."""
    return bare.run(due_plan(now), bare.on(conn))  # type: ignore[no-any-return]


def claim_accounts(
    conn: Connection, *, token: str, now: int, lease_until: int, limit: int, account_id: str = ""
) -> list[tuple[str, str]]:
    """Claim accounts whose calendar list is due: ``[(account_id, tenant_id)]``."""
    a = t.accounts
    due = (
        select(sa_.c.account_id, sa_.c.tenant_id)
        .join(a, a.c.id == sa_.c.account_id)
        .where(a.c.status == "OK", _free(sa_, now))
        .order_by(sa_.c.due_at)
        .limit(limit)
    )
    due = (
        due.where(sa_.c.account_id == account_id) if account_id else due.where(sa_.c.due_at <= now)
    )
    if conn.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True, of=sa_)
    rows = conn.execute(due).all()
    if rows:
        conn.execute(
            update(sa_)
            .where(sa_.c.account_id.in_([r.account_id for r in rows]))
            .values(lease_owner=token, lease_until=lease_until)
        )
    return [(r.account_id, r.tenant_id) for r in rows]


def claim_calendars(
    conn: Connection,
    *,
    token: str,
    now: int,
    lease_until: int,
    limit: int,
    per_account: int,
    account_id: str = "",
) -> list[CalendarState]:
    """Claim up to ``limit`` due calendars, at most ``per_account`` running per account
    (counting the runs of every process). ``account_id``: that account's calendars, due or
    not (``calgate sync now``)."""
    plan = claim_plan(
        token=token,
        now=now,
        lease_until=lease_until,
        limit=limit,
        per_account=per_account,
        account_id=account_id,
    )
    states, _ = bare.run(plan, bare.on(conn))
    return states  # type: ignore[no-any-return]


def claim_plan(
    *,
    token: str,
    now: int,
    lease_until: int,
    limit: int,
    per_account: int,
    account_id: str = "",
    accounts: bool = False,
) -> bare.Steps:
    """:func:`claim_calendars` as statements for a write transaction
    (:func:`calgate.store.bare.on`): (the calendars claimed, their accounts as they are now
    if ``accounts``, read once each)."""
    query = _CANDIDATES[bool(account_id)]
    params = {"b_now": now, "b_limit": limit * 4, "b_account": account_id}
    candidates = [_state(_StateRow._make(r)) for r in (yield query, params)]
    if not candidates:
        return [], {}
    owners = sorted({c.account_id for c in candidates})
    running: dict[str, int] = {}
    for size, values in bare.padded(owners, "b_a"):
        # PostgreSQL: one claimer at a time per account, so that the cap holds across
        # processes (SQLite: the write lock already does).
        yield _lock_accounts(size), values
        for owner, count in (yield _running(size), {**values, "b_now": now}):
            running[owner] = count
    picked: list[CalendarState] = []
    for state in candidates:
        if len(picked) >= limit or running.get(state.account_id, 0) >= per_account:
            continue
        running[state.account_id] = running.get(state.account_id, 0) + 1
        picked.append(state)
    if picked:
        leases = [
            {
                "b_account": s.account_id,
                "b_calendar": s.calendar_id,
                "b_token": token,
                "b_until": lease_until,
            }
            for s in picked
        ]
        yield _LEASE, leases
    records: dict[str, AccountRecord] = {}
    if accounts and picked:
        wanted = sorted({s.account_id for s in picked})
        for size, values in bare.padded(wanted, "b_a"):
            for row in (yield _accounts_by_id(size), values):
                record = account_from_row(_AccountRow._make(row))
                records[record.id] = record
    return picked, records


def _candidates(by_account: bool) -> Any:
    a = t.accounts
    now: Any = bindparam("b_now")
    query = (
        select(sc)
        .join(a, a.c.id == sc.c.account_id)
        .where(a.c.status == "OK", _free(sc, now))
        .order_by(sc.c.due_at)
        .limit(bindparam("b_limit"))
    )
    if by_account:
        query = query.where(sc.c.account_id == bindparam("b_account"))
    else:
        query = query.where(sc.c.due_at <= now)
    # SKIP LOCKED on PostgreSQL (SQLite writes nothing for it: its write lock serialises).
    return bare.Statement.of(query.with_for_update(skip_locked=True, of=sc))


# claim_plan's statements, built and compiled once: by account -> the due candidates; the
# others by the number of (padded) accounts.
_CANDIDATES = {b: _candidates(b) for b in (False, True)}
_StateRow = namedtuple("_StateRow", [c.name for c in sc.columns])  # type: ignore[misc]
_AccountRow = namedtuple("_AccountRow", [c.name for c in t.accounts.columns])  # type: ignore[misc]


def _ids(prefix: str, n: int) -> list[Any]:
    return [bindparam(f"{prefix}{i}", type_=String) for i in range(n)]


@lru_cache(maxsize=16)
def _lock_accounts(n: int) -> bare.Statement:
    return bare.Statement.of(
        select(sa_.c.account_id)
        .where(sa_.c.account_id.in_(_ids("b_a", n)))
        .order_by(sa_.c.account_id)
        .with_for_update()
    )


@lru_cache(maxsize=16)
def _running(n: int) -> bare.Statement:
    return bare.Statement.of(
        select(sc.c.account_id, func.count())
        .where(
            sc.c.account_id.in_(_ids("b_a", n)),
            sc.c.lease_owner.is_not(None),
            sc.c.lease_until > bindparam("b_now", type_=BigInteger),
        )
        .group_by(sc.c.account_id)
    )


@lru_cache(maxsize=16)
def _accounts_by_id(n: int) -> bare.Statement:
    return bare.Statement.of(select(t.accounts).where(t.accounts.c.id.in_(_ids("b_a", n))))


# One statement, built once, for every calendar a claim takes (run as one executemany).
_LEASE = bare.Statement.of(
    update(sc)
    .where(sc.c.account_id == bindparam("b_account"), sc.c.calendar_id == bindparam("b_calendar"))
    .values(lease_owner=bindparam("b_token"), lease_until=bindparam("b_until"))
)


def _key(account_id: str, calendar_id: str) -> Any:
    return and_(sc.c.account_id == account_id, sc.c.calendar_id == calendar_id)


# Calendars of an account -------------------------------------------------------------------


def set_calendars(
    conn: Connection,
    account_id: str,
    tenant_id: str,
    found: dict[str, str],
    *,
    token: str,
    now: int,
    next_due: int,
) -> None:
    """Record the account's calendars (``calendar id -> href``): new ones are due now, gone
    ones lose their sync state and mirror. Ends the account job's lease."""
    execute = bare.on(conn)
    known: dict[str, str] = dict(execute(_KNOWN_CALENDARS, {"b_account": account_id}))
    for calendar_id, href in found.items():
        if calendar_id not in known:
            conn.execute(
                insert(sc).values(
                    account_id=account_id,
                    calendar_id=calendar_id,
                    tenant_id=tenant_id,
                    href=href,
                    mode="",
                    cursor=None,
                    due_at=now,
                    lease_until=0,
                    last_error="",
                    failures=0,
                    changes_seen=0,
                    full_resyncs=0,
                    created_at=now,
                    updated_at=now,
                )
            )
        elif known[calendar_id] != href:
            conn.execute(update(sc).where(_key(account_id, calendar_id)).values(href=href))
    gone = [c for c in known if c not in found]
    if gone:
        conn.execute(delete(si).where(si.c.account_id == account_id, si.c.calendar_id.in_(gone)))
        conn.execute(delete(sc).where(sc.c.account_id == account_id, sc.c.calendar_id.in_(gone)))
    execute(
        _END_ACCOUNT_LEASE,
        {"b_account": account_id, "b_token": token, "b_next": next_due, "b_now": now},
    )


# set_calendars' statements of every discovery (the calendars known, the account job's end),
# built once; a calendar found or gone, rarer, goes through Core.
_KNOWN_CALENDARS = bare.Statement.of(
    select(sc.c.calendar_id, sc.c.href).where(sc.c.account_id == bindparam("b_account"))
)
_END_ACCOUNT_LEASE = bare.Statement.of(
    update(sa_)
    .where(sa_.c.account_id == bindparam("b_account"), sa_.c.lease_owner == bindparam("b_token"))
    .values(
        lease_owner=None,
        lease_until=0,
        due_at=bindparam("b_next"),
        last_error="",
        failures=0,
        updated_at=bindparam("b_now"),
    )
)


def account_failed(
    conn: Connection, account_id: str, *, token: str, now: int, error: str, retry_at: int
) -> None:
    conn.execute(
        update(sa_)
        .where(sa_.c.account_id == account_id, sa_.c.lease_owner == token)
        .values(
            lease_owner=None,
            lease_until=0,
            due_at=retry_at,
            last_error=error[:2000],
            failures=sa_.c.failures + 1,
            updated_at=now,
        )
    )


# One calendar's run ------------------------------------------------------------------------


def finish(
    conn: Connection,
    state: CalendarState,
    *,
    token: str,
    now: int,
    next_due: int,
    cursor: str | None,
    mode: str,
    changes: int,
    full_resync: bool,
) -> bool:
    """Record a successful run and end its lease; False (nothing written) when the lease was
    lost (the caller must then roll back the run's mirror changes)."""
    done = conn.execute(
        update(sc)
        .where(_key(state.account_id, state.calendar_id), sc.c.lease_owner == token)
        .values(
            cursor=cursor,
            mode=mode,
            lease_owner=None,
            lease_until=0,
            # Made due during the run (a push notification): due again at once.
            due_at=case((sc.c.due_at != state.due_at, sc.c.due_at), else_=next_due),
            last_success_at=now,
            last_error="",
            failures=0,
            changes_seen=sc.c.changes_seen + changes,
            full_resyncs=sc.c.full_resyncs + (1 if full_resync else 0),
            updated_at=now,
        )
    )
    return bool(done.rowcount)


@dataclass(frozen=True, slots=True)
class Quiet:
    """A successful run that found no change (its cursor may still have moved)."""

    state: CalendarState
    cursor: str | None
    mode: str
    now: int  # when the run had read its feed: its last success
    next_due: int


def finish_quiet(conn: Connection, runs: list[Quiet], *, token: str) -> set[Key]:
    """Record many quiet runs as :func:`finish` would, in one statement (an executemany),
    each only while ``token`` still holds its calendar's lease: the calendars recorded (the
    others' leases were lost; nothing of theirs is written)."""
    return bare.run(finish_quiet_plan(runs, token=token), bare.on(conn))  # type: ignore[no-any-return]


def finish_quiet_plan(runs: list[Quiet], *, token: str) -> bare.Steps:
    """:func:`finish_quiet` as statements for a write transaction."""
    holding: set[Key] = set()
    wanted = sorted({(r.state.account_id, r.state.calendar_id) for r in runs})
    for size, values in bare.padded(wanted, "b_k"):
        named: dict[str, Any] = {"b_token": token}
        for i, (account_id, calendar_id) in enumerate(values.values()):
            named[f"b_a{i}"], named[f"b_c{i}"] = account_id, calendar_id
        holding.update((a, c) for a, c in (yield _held(size), named))
    recorded = [r for r in runs if (r.state.account_id, r.state.calendar_id) in holding]
    if recorded:
        yield (
            _FINISH_QUIET,
            [
                {
                    "b_account": r.state.account_id,
                    "b_calendar": r.state.calendar_id,
                    "b_token": token,
                    "b_cursor": r.cursor,
                    "b_mode": r.mode,
                    "b_due": r.state.due_at,
                    "b_next": r.next_due,
                    "b_now": r.now,
                }
                for r in recorded
            ],
        )
    return {(r.state.account_id, r.state.calendar_id) for r in recorded}


@lru_cache(maxsize=16)
def _held(n: int) -> bare.Statement:
    """Which of ``n`` calendars (``b_a{i}``, ``b_c{i}``) ``b_token`` holds, locked (FOR UPDATE
    on PostgreSQL) until the transaction ends."""
    pairs = [
        and_(
            sc.c.account_id == bindparam(f"b_a{i}", type_=String),
            sc.c.calendar_id == bindparam(f"b_c{i}", type_=String),
        )
        for i in range(n)
    ]
    return bare.Statement.of(
        select(sc.c.account_id, sc.c.calendar_id)
        .where(sc.c.lease_owner == bindparam("b_token", type_=String), or_(*pairs))
        .with_for_update()
    )


# finish() of a run that changed nothing, built once (bound parameters only).
_FINISH_QUIET = bare.Statement.of(
    update(sc)
    .where(
        sc.c.account_id == bindparam("b_account"),
        sc.c.calendar_id == bindparam("b_calendar"),
        sc.c.lease_owner == bindparam("b_token"),
    )
    .values(
        cursor=bindparam("b_cursor"),
        mode=bindparam("b_mode"),
        lease_owner=None,
        lease_until=0,
        # Made due during the run (a push notification): due again at once.
        due_at=case((sc.c.due_at != bindparam("b_due"), sc.c.due_at), else_=bindparam("b_next")),
        last_success_at=bindparam("b_now"),
        last_error="",
        failures=0,
        updated_at=bindparam("b_now"),
    )
)


def calendar_failed(
    conn: Connection,
    state: CalendarState,
    *,
    token: str,
    now: int,
    error: str,
    retry_at: int,
    mode: str | None = None,
) -> None:
    values: dict[str, Any] = {
        "lease_owner": None,
        "lease_until": 0,
        "due_at": retry_at,
        "last_error": error[:2000],
        "failures": sc.c.failures + 1,
        "updated_at": now,
    }
    if mode is not None:
        values["mode"] = mode
    conn.execute(
        update(sc)
        .where(_key(state.account_id, state.calendar_id), sc.c.lease_owner == token)
        .values(**values)
    )


def calendar_states(conn: Connection, account_id: str | None = None) -> list[CalendarState]:
    query = select(sc).order_by(sc.c.account_id, sc.c.calendar_id)
    if account_id is not None:
        query = query.where(sc.c.account_id == account_id)
    return [_state(r) for r in conn.execute(query)]


def calendar_state(conn: Connection, account_id: str, calendar_id: str) -> CalendarState | None:
    row = conn.execute(select(sc).where(_key(account_id, calendar_id))).first()
    return _state(row) if row else None


# Mirrored items ----------------------------------------------------------------------------


def items(
    conn: Connection, account_id: str, calendar_id: str, item_ids: Iterable[str] | None = None
) -> dict[str, Item]:
    """The mirror's items of a calendar (those of ``item_ids`` only, when given)."""
    query = select(si).where(si.c.account_id == account_id, si.c.calendar_id == calendar_id)
    if item_ids is not None:
        wanted = sorted(set(item_ids))
        if not wanted:
            return {}
        found: dict[str, Item] = {}
        for start in range(0, len(wanted), 500):
            part = query.where(si.c.item_id.in_(wanted[start : start + 500]))
            found.update((r.item_id, _item(r)) for r in conn.execute(part))
        return found
    return {r.item_id: _item(r) for r in conn.execute(query)}


def item_ids(conn: Connection, account_id: str, calendar_id: str) -> set[str]:
    return set(
        conn.execute(
            select(si.c.item_id).where(
                si.c.account_id == account_id, si.c.calendar_id == calendar_id
            )
        ).scalars()
    )


def put_items(
    conn: Connection, account_id: str, calendar_id: str, items: list[Item], now: int
) -> None:
    """Write ``items`` over what the mirror holds for them: two bulk statements (bound
    parameters: compiled once whatever the number of items)."""
    if not items:
        return
    items = list({item.item_id: item for item in items}.values())  # the last read wins
    drop_items(conn, account_id, calendar_id, [i.item_id for i in items])
    conn.execute(
        insert(si),
        [
            {
                "account_id": account_id,
                "calendar_id": calendar_id,
                "item_id": item.item_id,
                "href": item.href,
                "etag": item.etag,
                "version": item.version,
                "own_version": item.own_version,
                "events": events_to_text(item.events),
                "updated_at": now,
            }
            for item in items
        ],
    )


def drop_items(conn: Connection, account_id: str, calendar_id: str, ids: Iterable[str]) -> None:
    wanted = sorted(set(ids))
    for start in range(0, len(wanted), 500):
        conn.execute(
            delete(si).where(
                si.c.account_id == account_id,
                si.c.calendar_id == calendar_id,
                si.c.item_id.in_(wanted[start : start + 500]),
            )
        )


def bury_items(
    conn: Connection, account_id: str, calendar_id: str, ids: Iterable[str], now: int
) -> None:
    """Replace items sync found deleted by tombstones, and forget tombstones a day old."""
    wanted = sorted(set(ids))
    for start in range(0, len(wanted), 500):
        conn.execute(
            update(si)
            .where(
                si.c.account_id == account_id,
                si.c.calendar_id == calendar_id,
                si.c.item_id.in_(wanted[start : start + 500]),
            )
            .values(version=REMOVED, events="[]", own_version=None, updated_at=now)
        )
    conn.execute(
        delete(si).where(
            si.c.account_id == account_id,
            si.c.calendar_id == calendar_id,
            si.c.version == REMOVED,
            si.c.updated_at < now - TOMBSTONE_US,
        )
    )


def note_own_write(
    conn: Connection,
    account_id: str,
    calendar_id: str,
    item_id: str,
    version: int,
    *,
    deleted: Event | None = None,
) -> bool | None:
    """Record that calgate's own write left ``item_id`` at ``version`` (``deleted``: removed
    it; the event as it was, kept with the tombstone). None: the calendar is not synced; True:
    sync already saw that very version (and reported it)."""
    if conn.execute(select(sc.c.mode).where(_key(account_id, calendar_id))).first() is None:
        return None
    key = and_(
        si.c.account_id == account_id,
        si.c.calendar_id == calendar_id,
        si.c.item_id == item_id,
    )
    row = conn.execute(select(si.c.version, si.c.events).where(key)).first()
    own = DELETED if deleted is not None else version
    if row is None:
        conn.execute(
            insert(si).values(
                account_id=account_id,
                calendar_id=calendar_id,
                item_id=item_id,
                href="",
                etag="",
                version=0,
                own_version=own,
                events=events_to_text([deleted]) if deleted is not None else "[]",
                updated_at=0,
            )
        )
        return False
    if deleted is None and row.version == version and row.events != "[]":
        return True
    if deleted is not None and (
        row.version == REMOVED
        or (row.events != "[]" and all(e.is_cancelled for e in events_from_text(row.events)))
    ):
        return True  # sync saw the deletion (or the cancellation) first, and reported it
    conn.execute(update(si).where(key).values(own_version=own))
    return False
