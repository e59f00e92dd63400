"""The hot LOCAL reads on the bare driver: SQL compiled once, rows as tuples (issue 14).

A GET of one event and a list of a week spent more time in SQLAlchemy's statement execution and
result machinery than in the database. These reads are written here as *plans*: generators that
yield :class:`Statement` s with their values and receive each one's rows (plain tuples), so that
one plan runs on both drivers (:meth:`calgate.store.db.Database.read_bare`): a plain ``sqlite3``
connection per read thread, or the asyncpg connection itself. The statements are SQLAlchemy
Core statements with named bound parameters, compiled once per dialect and shape; the values
are converted as Core's types would (SQLite booleans), and the rows go to the same decoding
(:func:`calgate.store.codec.event_from_row`, :class:`calgate.store.rows.DecodedRows`).

Each event read here comes with its notice (``notices``, LEFT JOIN: no second statement), and
the mail counts of queued ones; :class:`ReadNotices` hands them to the notification annotator
(:func:`calgate.outbox.notices.states`), all read in the read's one transaction.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple

from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    Integer,
    String,
    and_,
    bindparam,
    false,
    func,
    or_,
    select,
    true,
    tuple_,
    union_all,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.sql import Select

from calgate.domain.filters import fold
from calgate.domain.model import Event, EventQuery
from calgate.store import tables as t
from calgate.store.codec import dt_to_us, event_from_row
from calgate.store.events import DECODED
from calgate.store.rows import RowVersions

E = t.events.c
N = t.notices
_SQLITE = sqlite.dialect()
_POSTGRES = postgresql.asyncpg.dialect()  # type: ignore[no-untyped-call]


@dataclass(frozen=True, slots=True)
class Statement:
    """A Core statement compiled for both stores: positional text and the names of its values
    in order (with the values Core itself adds, such as SQLite's ``OFFSET 0``)."""

    sqlite: str
    sqlite_names: tuple[str, ...]
    postgres: str
    postgres_names: tuple[str, ...]
    sqlite_defaults: dict[str, Any]
    postgres_defaults: dict[str, Any]

    @classmethod
    def of(cls, stmt: Any) -> Statement:
        lite = stmt.compile(dialect=_SQLITE)
        pg = stmt.compile(dialect=_POSTGRES)
        # The values the statement holds itself (``OFFSET 0``, ``SET lease_owner = NULL``),
        # not those it asks for; per dialect (each names its own anonymous values).
        return cls(
            str(lite),
            tuple(lite.positiontup),
            str(pg),
            tuple(pg.positiontup),
            {k: v for k, v in lite.params.items() if _held_value(lite, k, v)},
            {k: v for k, v in pg.params.items() if _held_value(pg, k, v)},
        )

    def args(self, values: dict[str, Any], postgres: bool) -> tuple[Any, ...]:
        if postgres:
            names, defaults = self.postgres_names, self.postgres_defaults
        else:
            names, defaults = self.sqlite_names, self.sqlite_defaults
        return tuple(values[n] if n in values else defaults[n] for n in names)


def _held_value(compiled: Any, name: str, value: Any) -> bool:
    """Whether the compiled statement's value ``name`` is one it holds (not asked for)."""
    bind = compiled.binds.get(name)
    return value is not None if bind is None else not bind.required


Rows = list[tuple[Any, ...]]
# A read: yields (statement, values), receives that statement's rows, returns its result.
Plan = Generator[tuple[Statement, dict[str, Any]], Rows, Any]
# Values of one statement, or a list of them: the statement run once for each (executemany).
Values = dict[str, Any] | list[dict[str, Any]]
# A plan that may also write (run in a write transaction, :func:`on`): its many-valued
# statements receive no rows.
Steps = Generator[tuple[Statement, Values], Rows, Any]

Decoded = namedtuple("Decoded", [c.name for c in DECODED])  # type: ignore[misc]
"""A row of :data:`calgate.store.events.DECODED` columns, as ``event_from_row`` reads it."""
_WIDTH = len(DECODED)
_CANCELLED = [c.name for c in DECODED].index("is_cancelled")


def decoded(row: Sequence[Any]) -> Any:
    """The event columns of ``row`` (its first ones) as Core would give them (a boolean)."""
    values = list(row[:_WIDTH])
    values[_CANCELLED] = bool(values[_CANCELLED])
    return Decoded._make(values)


class Notice(NamedTuple):
    change_id: str
    state: str


LISTED = (E.start_utc, E.id, E.version, E.updated_at)
"""What a list selects of each event: its order (first start, id) and what names its content
(:class:`calgate.store.rows.RowVersions`); the rest is read only for events not remembered."""
_MOST_IDS = 512


Listed = tuple[Any, ...]
"""A listed event: its :data:`LISTED` columns, whether it is a series, and its notice (change
id, state; None if it has none), as the driver gives them (positions below); rows compare in
list order."""
START, ID, VERSION, UPDATED, RECURRING, CHANGE, STATE = range(7)
MASTER, TOKEN, CALENDAR = 7, 8, 9


@dataclass(frozen=True, slots=True)
class ReadNotices:
    """The notices of the events a bare read found, read in its transaction: event id ->
    notice (events without one are absent), and the mail deliveries of queued ones (change id
    -> status -> number). ``ids``: the events whose notices were read; asking about others is
    a mistake (:func:`calgate.outbox.notices.states` refuses it)."""

    account_id: str
    ids: frozenset[str]
    found: dict[str, Notice]
    counts: dict[str, dict[str, int]]


ReadOn = Connection | ReadNotices
"""What a read's follow-up work (the annotators of calgate.services.events) reads on: the
read's connection, or the notices a bare read read with its events."""


# Statements ---------------------------------------------------------------------------------


def _joined(columns: Iterable[Any]) -> Select[Any]:
    """Events with the account's notice of each one (LEFT JOIN: events without one stay)."""
    on = and_(N.c.account_id == bindparam("b_account", type_=String), N.c.event_id == E.id)
    return select(*columns, N.c.change_id, N.c.state).select_from(t.events.outerjoin(N, on))


def _get_statement() -> Statement:
    m = t.notices.alias("m")
    account = bindparam("b_account", type_=String)
    query = (
        select(*DECODED, N.c.change_id, N.c.state, m.c.change_id, m.c.state)
        .select_from(
            t.events.outerjoin(N, and_(N.c.account_id == account, N.c.event_id == E.id)).outerjoin(
                m,
                and_(
                    m.c.account_id == account,
                    m.c.event_id == E.master_event_id,
                    E.master_event_id != "",
                ),
            )
        )
        .where(
            E.id == bindparam("b_id", type_=String),
            E.calendar_id == bindparam("b_calendar", type_=String),
        )
    )
    return Statement.of(query)


GET = _get_statement()
OWNED = Statement.of(
    select(t.calendars.c.id).where(
        t.calendars.c.id == bindparam("b_calendar", type_=String),
        t.calendars.c.account_id == bindparam("b_account", type_=String),
    )
)


@lru_cache(maxsize=64)
def _mail_counts(n: int) -> Statement:
    o = t.outbox.c
    ids = [bindparam(f"b_c{i}", type_=String) for i in range(n)]
    return Statement.of(
        select(o.change_id, o.status, func.count())
        .where(o.change_id.in_(ids), o.channel == "mail")
        .group_by(o.change_id, o.status)
    )


def _escaped(value: str) -> str:
    """``value`` for ``LIKE '%' || value || '%' ESCAPE '/'`` (Core's ``autoescape=True``)."""
    return value.replace("/", "//").replace("%", "/%").replace("_", "/_")


def _window(
    account_id: str,
    calendar_id: str,
    q: EventQuery,
    after: tuple[int, str] | None,
    limit: int,
    series: int,
) -> tuple[tuple[str, ...], dict[str, Any]]:
    """The shape of a list's first statement (:func:`_listing`, :func:`_expanding`: which
    filters of :func:`calgate.store.events.select_events` it has) and the values of its
    parameters: ``limit`` single events, ``series`` series."""
    values: dict[str, Any] = {
        "b_calendar": calendar_id,
        "b_account": account_id,
        "b_series_limit": series,
    }
    shape: list[Any] = []

    def given(name: str, value: Any) -> None:
        shape.append(name)
        values[name] = value

    for name, instant in (
        ("b_start", q.start),
        ("b_end", q.end),
        ("b_updated_after", q.updated_after),
        ("b_updated_before", q.updated_before),
    ):
        if instant is not None:
            given(name, dt_to_us(instant))
    if q.busy is not None:
        given("b_busy", q.busy)
    if q.is_cancelled is not None:
        given("b_cancelled", q.is_cancelled)
    if q.ical_uid is not None:
        given("b_uid", q.ical_uid)
    for name, text in (("b_title", q.title), ("b_location", q.location), ("b_body", q.description)):
        if text:
            given(name, _escaped(fold(text)))
    for i, email in enumerate(q.attendees):
        given(f"b_attendee{i}", _escaped(f",{email.lower()},"))
    if after is not None:
        given("b_after_start", after[0])
        given("b_after_id", after[1])
    values["b_limit"] = limit
    return tuple(shape), values


def _where(names: set[str], masters: bool = True) -> list[ColumnElement[bool]]:
    """:func:`calgate.store.events.select_events`' conditions (``masters``: masters only) for
    the filters ``names``."""
    where: list[ColumnElement[bool]] = [E.calendar_id == bindparam("b_calendar", type_=String)]
    big = BigInteger()
    if "b_start" in names:
        where.append(E.end_utc > bindparam("b_start", type_=big))
    if "b_end" in names:
        where.append(E.start_utc < bindparam("b_end", type_=big))
    if "b_updated_after" in names:
        where.append(E.updated_at > bindparam("b_updated_after", type_=big))
    if "b_updated_before" in names:
        where.append(E.updated_at < bindparam("b_updated_before", type_=big))
    if "b_busy" in names:
        where.append(E.busy == bindparam("b_busy", type_=Boolean))
    if "b_cancelled" in names:
        where.append(E.is_cancelled == bindparam("b_cancelled", type_=Boolean))
    if "b_uid" in names:
        where.append(E.ical_uid == bindparam("b_uid", type_=String))
    for column, name in (
        (E.title_folded, "b_title"),
        (E.location_folded, "b_location"),
        (E.body_folded, "b_body"),
    ):
        if name in names:
            where.append(column.contains(bindparam(name, type_=String), escape="/"))
    attendees = sorted(n for n in names if isinstance(n, str) and n.startswith("b_attendee"))
    if attendees:
        where.append(
            or_(
                *(
                    E.attendee_emails.contains(bindparam(n, type_=String), escape="/")
                    for n in attendees
                )
            )
        )
    if masters:
        where.append(E.master_event_id == "")
    if "b_after_start" in names:
        where.append(
            tuple_(E.start_utc, E.id)
            > tuple_(bindparam("b_after_start", type_=big), bindparam("b_after_id", type_=String))
        )
    return where


@lru_cache(maxsize=512)
def _listing(shape: tuple[str, ...]) -> Statement:
    """A list's one statement for one shape (:func:`_singles_and_series`): its single events
    and its series, masters only, after the cursor."""
    names = set(shape)
    where = _where(names)
    return _singles_and_series(names, where, where)


@lru_cache(maxsize=512)
def _expanding(shape: tuple[str, ...]) -> Statement:
    """An expanded list's first statement for one shape: as :func:`_listing`, but the single
    events include the stored occurrences of series (they are listed at their own times), and
    the series are all those overlapping the window, before the cursor too (their later
    occurrences may follow it)."""
    names = set(shape)
    whole = names - {"b_after_start", "b_after_id"}
    return _singles_and_series(names, _where(names, masters=False), _where(whole))


def _singles_and_series(
    names: set[str], singles: list[ColumnElement[bool]], series: list[ColumnElement[bool]]
) -> Statement:
    """The :data:`LISTED` columns, with the notice, of the single events of ``singles``
    (in order, at most ``b_limit``) and of the series of ``series`` (at most
    ``b_series_limit``, in no order). When the window has a start, single events are searched
    from that start less the calendar's longest single event (``max_span_us``): one short
    index range however large the calendar."""
    columns = (*LISTED, E.is_recurring)
    singles = [*singles, E.is_recurring == false()]
    if "b_start" in names:
        longest = (
            select(t.calendars.c.max_span_us)
            .where(t.calendars.c.id == bindparam("b_calendar", type_=String))
            .scalar_subquery()
        )
        singles.append(E.start_utc > bindparam("b_start", type_=BigInteger()) - longest)
    limit = bindparam("b_limit", type_=Integer)
    first = _joined(columns).where(*singles).order_by(E.start_utc, E.id).limit(limit)
    most = bindparam("b_series_limit", type_=Integer)
    then = _joined(columns).where(*series, E.is_recurring == true()).limit(most)
    parts = (first.subquery("singles"), then.subquery("series"))
    return Statement.of(union_all(*(select(*part.c) for part in parts)))


@lru_cache(maxsize=16)
def _stored_of(n: int) -> Statement:
    """The :data:`Listed` rows of the stored occurrences of ``n`` series, with each one's
    series, recurrence token and calendar (positions :data:`MASTER`, :data:`TOKEN`,
    :data:`CALENDAR`)."""
    ids = [bindparam(f"b_m{i}", type_=String) for i in range(n)]
    return Statement.of(
        _joined((*LISTED, E.is_recurring))
        .add_columns(E.master_event_id, E.recurrence_id, E.calendar_id)
        .where(E.master_event_id.in_(ids))
    )


@lru_cache(maxsize=16)
def _rows_of(n: int) -> Statement:
    """The :data:`DECODED` rows of ``n`` events of a calendar by id."""
    ids = [bindparam(f"b_i{i}", type_=String) for i in range(n)]
    return Statement.of(
        select(*DECODED).where(
            E.calendar_id == bindparam("b_calendar", type_=String), E.id.in_(ids)
        )
    )


def padded(ids: Sequence[Any], prefix: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """``ids`` in parts of at most :data:`_MOST_IDS`, each as (statement size, values): the
    size a power of two and the values ``{prefix}0`` … with the part's last id repeated, so
    that a few statements serve every size."""
    for i in range(0, len(ids), _MOST_IDS):
        part = ids[i : i + _MOST_IDS]
        size = 1
        while size < len(part):
            size *= 2
        yield size, {f"{prefix}{j}": part[min(j, len(part) - 1)] for j in range(size)}


# Plans ----------------------------------------------------------------------------------------


def owned(account_id: str, calendar_id: str) -> Plan:
    """Whether the calendar is the account's."""
    rows = yield OWNED, {"b_calendar": calendar_id, "b_account": account_id}
    return bool(rows)


def get_event(
    account_id: str,
    calendar_id: str,
    event_id: str,
    decode: Callable[[Any], Event] = event_from_row,
) -> Plan:
    """The stored event (:func:`calgate.store.events.get_event`) with the notices the
    notification annotator asks for (its own and its series'): (event, notices), or None if
    there is none."""
    rows = yield GET, {"b_account": account_id, "b_id": event_id, "b_calendar": calendar_id}
    if not rows:
        return None
    row = decoded(rows[0])
    tail = rows[0][_WIDTH:]
    found: dict[str, Notice] = {}
    if tail[1] is not None:
        found[row.id] = Notice(tail[0], tail[1])
    if tail[3] is not None:
        found[row.master_event_id] = Notice(tail[2], tail[3])
    ids = {row.id} | ({row.master_event_id} if row.master_event_id else set())
    notices = yield from _counted(account_id, ids, found)
    return decode(row), notices


def listing(
    account_id: str,
    calendar_id: str,
    q: EventQuery,
    after: tuple[int, str] | None,
    limit: int,
    series: int,
) -> Plan:
    """The :data:`Listed` rows of a list (masters and single events, no expansion) in list
    order: the first ``limit`` single events after ``after`` and at most ``series`` series, in
    one statement."""
    shape, values = _window(account_id, calendar_id, q, after, limit, series)
    rows: list[Listed] = yield _listing(shape), values
    rows.sort()
    return rows


@dataclass(frozen=True, slots=True)
class Expansion:
    """What an expanded list reads (:func:`expansion`): its single events and stored
    occurrences (in list order) and its series, each as (event, first start); the stored
    occurrences of those series (series id -> recurrence token -> event); the notices of them
    all and of the single events' series (None: not read)."""

    singles: list[tuple[Event, int]]
    series: list[tuple[Event, int]]
    stored: dict[str, dict[str, Event]]
    notices: ReadNotices | None


def expansion(
    account_id: str,
    calendar_id: str,
    q: EventQuery,
    after: tuple[int, str] | None,
    limit: int,
    series: int,
    known: RowVersions,
    too_many: Callable[[], Exception],
    noticed: bool = True,
) -> Plan:
    """What an expanded list of the calendar reads (:class:`Expansion`), in one snapshot: the
    first ``limit`` single events and stored occurrences after ``after``, the series that
    overlap the window (more than ``series`` of them: ``too_many()`` is raised before any is
    read whole) and their stored occurrences; with the notices unless not ``noticed`` (then
    ``notices`` is None). Events are taken from ``known`` where it remembers them, as
    :func:`events` does. None: the calendar is not the account's (it may be gone since it was
    known)."""
    shape, values = _window(account_id, calendar_id, q, after, limit, series + 1)
    rows: list[Listed] = yield _expanding(shape), values
    if not rows and not (yield from owned(account_id, calendar_id)):
        return None
    singles = sorted(r for r in rows if not r[RECURRING])
    masters = [r for r in rows if r[RECURRING]]
    if len(masters) > series:
        raise too_many()
    stored: list[Listed] = []
    for size, given in padded([r[ID] for r in masters], "b_m"):
        given["b_account"] = account_id
        # By series alone (ix_events_master; ids are unique): with the calendar asked too,
        # SQLite scans the calendar's rows instead.
        stored.extend(r for r in (yield _stored_of(size), given) if r[CALENDAR] == calendar_id)
    made = yield from events(calendar_id, [*singles, *masters, *stored], known)
    first, then = len(singles), len(singles) + len(masters)
    ones, chains, kept = made[:first], made[first:then], made[then:]
    by_series: dict[str, dict[str, Event]] = {}
    for row, event in zip(stored, kept, strict=True):
        by_series.setdefault(row[MASTER], {})[row[TOKEN]] = event
    read = None
    if noticed:
        found = notices_of([*singles, *masters, *stored])
        ids = {e.id for e in made}
        others = sorted({e.master_event_id for e in ones if e.master_event_id} - ids)
        yield from _notices_into(found, account_id, others)
        read = yield from _counted(account_id, ids | set(others), found)
    return Expansion(
        [(e, r[START]) for r, e in zip(singles, ones, strict=True)],
        [(e, r[START]) for r, e in zip(masters, chains, strict=True)],
        by_series,
        read,
    )


def series_in(listed: Iterable[Listed]) -> int:
    """How many of ``listed`` are series."""
    return sum(1 for r in listed if r[RECURRING])


def events(calendar_id: str, listed: Sequence[Listed], known: RowVersions) -> Plan:
    """The events of ``listed`` rows (in their order): those ``known`` remembers, and the
    others read whole (by id) and decoded into it. The read's transaction is one snapshot
    (:meth:`calgate.store.db.Database.read_bare`): each row read has the listed version."""
    found = known.known([r[ID : UPDATED + 1] for r in listed])
    missing = [r[ID] for r, event in zip(listed, found, strict=True) if event is None]
    if not missing:
        return found
    read: dict[str, Event] = {}
    for size, values in padded(missing, "b_i"):
        values["b_calendar"] = calendar_id
        for row in (yield _rows_of(size), values):
            whole = known(decoded(row))
            read[whole.id] = whole
    out: list[Event] = []
    for r, event in zip(listed, found, strict=True):
        made = read.get(r[ID]) if event is None else event
        if made is None or made.version != r[VERSION]:
            raise RuntimeError(f"event {r[ID]!r} changed within a read's snapshot")
        out.append(made)
    return out


@lru_cache(maxsize=16)
def _notices_of_ids(n: int) -> Statement:
    """The account's notices of ``n`` events by id."""
    ids = [bindparam(f"b_e{i}", type_=String) for i in range(n)]
    return Statement.of(
        select(N.c.event_id, N.c.change_id, N.c.state).where(
            N.c.account_id == bindparam("b_account", type_=String), N.c.event_id.in_(ids)
        )
    )


def notices(account_id: str, ids: Iterable[str]) -> Plan:
    """:class:`ReadNotices` of events read elsewhere (a provider's answer, the sync mirror):
    the account's notices of ``ids`` and the mail counts of queued ones."""
    wanted = sorted(set(ids))
    found: dict[str, Notice] = {}
    yield from _notices_into(found, account_id, wanted)
    return (yield from _counted(account_id, set(wanted), found))


def _notices_into(found: dict[str, Notice], account_id: str, ids: Sequence[str]) -> Plan:
    """Read the account's notices of ``ids`` into ``found``."""
    for size, values in padded(ids, "b_e"):
        values["b_account"] = account_id
        for event_id, change_id, state in (yield _notices_of_ids(size), values):
            found[event_id] = Notice(change_id, state)


def notices_of(listed: Iterable[Listed]) -> dict[str, Notice]:
    """The notices ``listed`` rows came with (event id -> notice)."""
    return {r[ID]: Notice(r[CHANGE], r[STATE]) for r in listed if r[STATE] is not None}


def counted(account_id: str, ids: Iterable[str], found: dict[str, Notice]) -> Plan:
    """:class:`ReadNotices` of ``ids`` (their notices ``found``), with the mail counts of
    queued ones."""
    return (yield from _counted(account_id, set(ids), found))


def _counted(account_id: str, ids: set[str], found: dict[str, Notice]) -> Plan:
    found = {i: notice for i, notice in found.items() if i in ids}
    queued = sorted({n.change_id for n in found.values() if n.state == "queued"})
    counts: dict[str, dict[str, int]] = {}
    for i in range(0, len(queued), 500):
        part = queued[i : i + 500]
        statement = _mail_counts(len(part))
        rows = yield statement, {f"b_c{j}": c for j, c in enumerate(part)}
        for change_id, status, count in rows:
            counts.setdefault(change_id, {})[status] = int(count)
    return ReadNotices(account_id, frozenset(ids), found, counts)


def on(conn: Connection) -> Callable[[Statement, Values], Rows]:
    """What runs :data:`Steps` in ``conn``'s transaction (a write's, :meth:`Database.write`),
    without Core's statement machinery: on SQLite the driver's own connection, on PostgreSQL
    the statement's compiled text through the connection's driver cursor."""
    if conn.dialect.name == "sqlite":
        raw: Any = conn.connection.driver_connection

        def lite(statement: Statement, values: Values) -> Rows:
            if isinstance(values, list):
                raw.executemany(statement.sqlite, [statement.args(v, False) for v in values])
                return []
            return raw.execute(statement.sqlite, statement.args(values, False)).fetchall()  # type: ignore[no-any-return]

        return lite

    def postgres(statement: Statement, values: Values) -> Rows:
        if isinstance(values, list):
            if values:
                conn.exec_driver_sql(statement.postgres, [statement.args(v, True) for v in values])
            return []
        found = conn.exec_driver_sql(statement.postgres, statement.args(values, True))
        return [tuple(r) for r in found] if found.returns_rows else []

    return postgres


def run(plan: Generator[tuple[Statement, Any], Rows, Any], execute: Callable[..., Rows]) -> Any:
    """Run ``plan`` (a :data:`Plan` or :data:`Steps`) with ``execute`` (a synchronous
    driver); its result."""
    try:
        statement, values = next(plan)
        while True:
            statement, values = plan.send(execute(statement, values))
    except StopIteration as done:
        return done.value


__all__ = [
    "GET",
    "LISTED",
    "Expansion",
    "Listed",
    "Notice",
    "Plan",
    "ReadNotices",
    "ReadOn",
    "Statement",
    "Steps",
    "Values",
    "counted",
    "decoded",
    "events",
    "expansion",
    "get_event",
    "listing",
    "notices",
    "notices_of",
    "on",
    "owned",
    "padded",
    "run",
    "series_in",
]
