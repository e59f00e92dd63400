"""The sync mirror's reads on the bare driver (issue 9): plans of :mod:`calgate.store.bare`.

A read answered from the mirror asks, on every request, whether the calendar's mirror is
current (:func:`current_as_of`) and then reads the items it needs (:func:`items`); both are
*plans* (generators yielding compiled statements, receiving rows as tuples) that
:meth:`calgate.store.db.Database.read_bare` runs in one read transaction on the bare driver,
without SQLAlchemy's execution and result machinery. :func:`on_connection` runs the same plans
on a SQLAlchemy ``Connection`` (one definition of the rules, whichever way they are read).

Decoding an item's events (its codec JSON) costs far more than reading its row: decoded
events are remembered by their text (:class:`DecodedItems`), so an unchanged item is decoded
once, whichever read (a ``GET``, a list, another calendar's sync) brings it back.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, String, and_, bindparam, select
from sqlalchemy.engine import Connection

from calgate.domain.model import Event
from calgate.store import mirror, push
from calgate.store import tables as t
from calgate.store.bare import Plan, Rows, Statement, padded, run

__all__ = [
    "DecodedItems",
    "current_as_of",
    "items",
    "on_connection",
    "pending_own_write",
]

sc, si = t.sync_calendars, t.sync_items
Decode = Callable[[str], list[Event]]

# Statements -----------------------------------------------------------------------------------


def _account() -> Any:
    return bindparam("b_account", type_=String)


def _calendar() -> Any:
    return bindparam("b_calendar", type_=String)


def _now() -> Any:
    return bindparam("b_now", type_=BigInteger)


def _pending() -> ColumnElement[bool]:
    """Items calgate wrote whose ``own_version`` is not (yet) the version the mirror holds."""
    return and_(
        si.c.account_id == _account(),
        si.c.calendar_id == _calendar(),
        si.c.own_version.is_not(None),
        si.c.own_version != si.c.version,
        si.c.version != mirror.REMOVED,
    )


# Whether the mirror may answer: the calendar's sync state, whether an own write may be
# pending, and whether a live push channel watches it (one row, or none).
CURRENT = Statement.of(
    select(
        sc.c.last_success_at,
        sc.c.cursor.is_not(None),
        sc.c.due_at,
        select(si.c.item_id).where(_pending()).exists(),
        push.watched(_account(), _calendar(), _now()),
    ).where(sc.c.account_id == _account(), sc.c.calendar_id == _calendar())
)
PENDING = Statement.of(select(si.c.version, si.c.own_version, si.c.events).where(_pending()))
_ITEM = (si.c.item_id, si.c.href, si.c.etag, si.c.version, si.c.own_version, si.c.events)
ALL_ITEMS = Statement.of(
    select(*_ITEM).where(si.c.account_id == _account(), si.c.calendar_id == _calendar())
)


@lru_cache(maxsize=16)
def _items_of(n: int) -> Statement:
    """The items of a calendar named by ``n`` ids."""
    ids = [bindparam(f"b_i{i}", type_=String) for i in range(n)]
    return Statement.of(
        select(*_ITEM).where(
            si.c.account_id == _account(), si.c.calendar_id == _calendar(), si.c.item_id.in_(ids)
        )
    )


# Decoded events ---------------------------------------------------------------------------


class DecodedItems:
    """:func:`calgate.store.mirror.events_from_text` with a memory of ``size`` texts
    (thread-safe; read threads share it). The key is the text itself, all that decoding
    reads: an entry is exactly what decoding it again would give, a changed item is another
    key, and old entries age out (least recently used first). The events of one text are the
    same list every time; nobody changes it (nor the frozen events in it)."""

    def __init__(self, size: int = 20_000) -> None:
        self.size = size
        self._entries: OrderedDict[str, list[Event]] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, text: str) -> list[Event]:
        with self._lock:
            found = self._entries.get(text)
            if found is not None:
                self._entries.move_to_end(text)
                return found
        events = mirror.events_from_text(text)
        with self._lock:
            events = self._entries.setdefault(text, events)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return events

    def __len__(self) -> int:
        return len(self._entries)


# Plans ------------------------------------------------------------------------------------


def pending_own_write(
    account_id: str, calendar_id: str, decode: Decode = mirror.events_from_text
) -> Plan:
    """Whether a change calgate made in the calendar has not been seen by sync yet (its
    ``own_version`` is not the version the mirror holds)."""
    rows = yield PENDING, {"b_account": account_id, "b_calendar": calendar_id}
    for version, own_version, events in rows:
        if own_version != mirror.DELETED or version == 0:
            return True
        # Deleted by calgate: seen once sync found it cancelled (an object that stays).
        if not all(e.is_cancelled for e in decode(events)):
            return True
    return False


def current_as_of(
    account_id: str,
    calendar_id: str,
    *,
    now: int,
    max_age_us: int,
    decode: Decode = mirror.events_from_text,
) -> Plan:
    """When the calendar's mirror may answer reads, the time of its last successful sync
    (which names what the mirror holds: every sync run that changes it commits a new one);
    None otherwise. One statement in the common case."""
    values = {"b_account": account_id, "b_calendar": calendar_id, "b_now": now}
    rows = yield CURRENT, values
    if not rows:
        return None
    last_success_at, has_cursor, due_at, maybe_pending, pushed = rows[0]
    if not has_cursor or last_success_at is None:
        return None
    # An active push channel and no notification waiting (it makes the sync due): the mirror
    # is as current as the provider's last notice, whatever the age of the last run.
    told = bool(pushed) and due_at > now and max_age_us > 0
    if now - last_success_at > max_age_us and not told:
        return None
    if maybe_pending and (yield from pending_own_write(account_id, calendar_id, decode)):
        return None
    return int(last_success_at)


def items(
    account_id: str,
    calendar_id: str,
    item_ids: Iterable[str] | None = None,
    decode: Decode = mirror.events_from_text,
) -> Plan:
    """The mirror's items of a calendar (those of ``item_ids`` only, when given), as
    :func:`calgate.store.mirror.items` gives them: item id -> :class:`mirror.Item`."""
    values = {"b_account": account_id, "b_calendar": calendar_id}
    if item_ids is None:
        return _made((yield ALL_ITEMS, values), decode)
    found: dict[str, mirror.Item] = {}
    for size, part in padded(sorted(set(item_ids)), "b_i"):
        found.update(_made((yield _items_of(size), {**values, **part}), decode))
    return found


def _made(rows: Rows, decode: Decode) -> dict[str, mirror.Item]:
    return {
        item_id: mirror.Item(item_id, href, etag, version, decode(events), own_version)
        for item_id, href, etag, version, own_version, events in rows
    }


def on_connection(conn: Connection, plan: Plan) -> Any:
    """Run ``plan`` on a SQLAlchemy ``Connection`` (in its transaction): its result."""
    postgres = conn.dialect.name == "postgresql"

    def execute(statement: Statement, values: dict[str, Any]) -> Rows:
        text = statement.postgres if postgres else statement.sqlite
        args = statement.args(values, postgres)
        return [tuple(r) for r in conn.exec_driver_sql(text, args)]

    return run(plan, execute)
