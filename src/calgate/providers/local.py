"""LOCAL: calgate's own calendar store, the first provider behind the seam.

Each operation is a plain function over one database connection, run by
:meth:`calgate.store.db.Database.read` or :meth:`~calgate.store.db.Database.write`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import heapq
import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import orjson
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from calgate import offload
from calgate.domain import cursor, expansion, recurrence, rules, zones
from calgate.domain.model import (
    Calendar,
    Event,
    EventFields,
    EventQuery,
    Organizer,
    Page,
    with_organizer,
)
from calgate.domain.rsvp import Response, answered
from calgate.domain.times import EventTime
from calgate.errors import CalgateError, Conflict, InvalidParameters, NotFound
from calgate.providers.base import (
    AccountContext,
    Capabilities,
    Change,
    Effects,
    Note,
    Noted,
    no_effects,
)
from calgate.services.accounts import AccountService
from calgate.store import accounts as account_store
from calgate.store import bare, idempotency, tables
from calgate.store import events as store
from calgate.store.codec import dt_to_us, event_from_row, us_to_dt
from calgate.store.db import Database, now_ms_us
from calgate.store.rows import RowVersions

# Series looked at by one expanded list query; more than this is a 400 asking for a window.
MAX_SERIES_PER_QUERY = 5000
# Decoded rows a LOCAL provider remembers for its lists (calgate.store.rows).
ROWS_REMEMBERED = 10_000
S = TypeVar("S")


def bounds_of(fields: EventFields) -> store.Bounds:
    if not fields.recurrence:
        return store.Bounds(dt_to_us(fields.start.utc), dt_to_us(fields.end.utc), False)
    first, last = recurrence.series_bounds(fields.start, fields.end, fields.recurrence)
    return store.Bounds(dt_to_us(first), tables.OPEN_END if last is None else dt_to_us(last), True)


_RESHAPING = frozenset({"start", "end", "recurrence"})
"""PATCH fields that make a series' recurrence work (checking the lines, the bounds) again."""


def _without_occurrence(occurrence: Event, master: Event | None) -> None:
    """The recurrence work of deleting a generated occurrence: its master with an EXDATE."""
    if master is not None and occurrence.recurrence_id is not None:
        f = master.fields
        lines = recurrence.add_exdate(f.recurrence, f.start, occurrence.recurrence_id)
        bounds_of(dataclasses.replace(f, recurrence=tuple(lines)))


def _not_found(event_id: str) -> NotFound:
    return NotFound(f"event {event_id!r} not found in this calendar")


def _no_calendar(calendar_id: str) -> NotFound:
    return NotFound(f"calendar {calendar_id!r} not found for this account")


def _calendar(conn: Connection, account: AccountContext, calendar_id: str) -> Calendar:
    found = account_store.get_calendar(conn, account.id, calendar_id)
    if found is None:
        raise _no_calendar(calendar_id)
    return found


def _occurrence_start(master: Event, token: str, event_id: str) -> EventTime:
    try:
        start = recurrence.parse_occurrence_token(token, master.fields.start)
    except InvalidParameters:
        raise _not_found(event_id) from None
    f = master.fields
    if not recurrence.is_occurrence(f.start, f.end, f.recurrence, start):
        raise _not_found(event_id)
    return start


def load(conn: Connection, calendar_id: str, event_id: str) -> Event:
    """A stored event, a stored modified occurrence, or a generated occurrence."""
    return _resolve(event_id, *_fetch(conn, calendar_id, event_id))


def _fetch(conn: Connection, calendar_id: str, event_id: str) -> tuple[Event | None, Event | None]:
    """:func:`load`'s rows: the stored event, else the master an occurrence id names."""
    found = store.get_event(conn, calendar_id, event_id)
    if found is not None:
        return found, None
    parts = rules.split_occurrence_id(event_id)
    return None, None if parts is None else store.get_event(conn, calendar_id, parts[0])


def _resolve(event_id: str, found: Event | None, master: Event | None) -> Event:
    """:func:`load`'s recurrence work on its rows: is the occurrence id one of the series'?"""
    if found is not None:
        return found
    parts = rules.split_occurrence_id(event_id)
    if parts is None or master is None or not master.fields.recurrence:
        raise _not_found(event_id)
    return rules.occurrence_of(master, _occurrence_start(master, parts[1], event_id))


def _changed(event_id: str) -> Conflict:
    return Conflict(f"event {event_id!r} was changed concurrently: read it again")


def _exclude(conn: Connection, calendar_id: str, occurrence: Event, event_id: str) -> None:
    """Add the occurrence's EXDATE to its series. The update is conditional on the series'
    version: when a concurrent change (PostgreSQL) got there first, read the series again (a
    statement sees the latest commit) and redo it; 409 if it keeps moving."""
    for _ in range(3):
        master = store.get_event(conn, calendar_id, occurrence.master_event_id)
        if master is None or occurrence.recurrence_id is None:
            raise _not_found(event_id)
        lines = recurrence.add_exdate(
            master.fields.recurrence, master.fields.start, occurrence.recurrence_id
        )
        fields = dataclasses.replace(master.fields, recurrence=tuple(lines))
        updated = dataclasses.replace(
            master,
            fields=fields,
            updated_at=us_to_dt(now_ms_us()),
            version=master.version + 1,
            sequence=master.sequence + 1,
        )
        if store.update_event(conn, updated, bounds_of(fields), master.version):
            return
    raise _changed(event_id)


def _page(rows: list[tuple[int, Event]], limit: int) -> Page[Event]:
    last = _last(rows, limit)
    return Page([e for _, e in rows[:limit]], cursor.encode(*last) if last else None)


def _last(rows: list[tuple[int, Event]], limit: int) -> tuple[int, str] | None:
    """The position of a page's last event, of ``rows`` (one more than a page when another
    follows); None: no page follows."""
    if len(rows) <= limit:
        return None
    key, event = rows[limit - 1]
    return key, event.id


def _min_start(conn: Connection, calendar_id: str, query: EventQuery) -> int | None:
    """No single event starting at or before this can reach the window (see max_span_us)."""
    if query.start is None:
        return None
    return dt_to_us(query.start) - store.calendar_span(conn, calendar_id)


def _series(
    conn: Connection,
    calendar_id: str,
    query: EventQuery,
    after: tuple[int, str] | None,
    decode: Callable[[Any], Event] = event_from_row,
) -> list[tuple[Event, int]]:
    """The series overlapping the window (unordered), at most MAX_SERIES_PER_QUERY."""
    found = store.select_events(
        conn,
        calendar_id,
        query,
        after=after,
        limit=MAX_SERIES_PER_QUERY + 1,
        recurring=True,
        ordered=False,
        decode=decode,
        lean=True,
    )
    return _few_series(found)


def _few_series(found: list[S]) -> list[S]:
    if len(found) > MAX_SERIES_PER_QUERY:
        raise _many_series()
    return found


def _many_series() -> InvalidParameters:
    return InvalidParameters(
        f"start/end: more than {MAX_SERIES_PER_QUERY} recurring series overlap this window; "
        "narrow it"
    )


def _listed(
    conn: Connection,
    calendar_id: str,
    query: EventQuery,
    after: tuple[int, str] | None,
    decode: Callable[[Any], Event],
) -> Page[Event]:
    """Masters and single events (no expansion), in (first start, id) order; ``decode``: a
    :class:`RowVersions` (only its columns are read)."""
    limit = query.limit
    singles = store.select_events(
        conn,
        calendar_id,
        query,
        after=after,
        limit=limit + 1,
        recurring=False,
        min_start=_min_start(conn, calendar_id, query),
        decode=decode,
        lean=True,
    )
    # Series are few: fetch them by their own index, then order them here.
    return _merged(singles, _series(conn, calendar_id, query, after, decode), limit)


def _merged(
    singles: list[tuple[Event, int]], series: list[tuple[Event, int]], limit: int
) -> Page[Event]:
    ordered = sorted(((s, e) for e, s in series), key=lambda p: (p[0], p[1].id))
    merged = heapq.merge(((s, e) for e, s in singles), ordered, key=lambda p: (p[0], p[1].id))
    return _page(list(itertools.islice(merged, limit + 1)), limit)


def _bare_listed(
    account_id: str,
    calendar_id: str,
    query: EventQuery,
    after: tuple[int, str] | None,
    known: RowVersions,
) -> bare.Plan:
    """:func:`_listed` of a calendar known to be the account's, on the bare driver
    (:mod:`calgate.store.bare`), with the notices of the page: (page, notices). The events are
    listed narrow first (order and version); only the page's are made, from ``known`` or
    their rows."""
    limit = query.limit
    rows = yield from bare.listing(
        account_id, calendar_id, query, after, limit + 1, MAX_SERIES_PER_QUERY + 1
    )
    if len(rows) > MAX_SERIES_PER_QUERY and bare.series_in(rows) > MAX_SERIES_PER_QUERY:
        raise _many_series()
    listed = rows[: limit + 1]
    shown = listed[:limit]
    # The calendar may be gone since it was known (as _listed's caller checks).
    if not shown and not (yield from bare.owned(account_id, calendar_id)):
        raise _no_calendar(calendar_id)
    items = yield from bare.events(calendar_id, shown, known)
    last = shown[-1] if len(listed) > limit else None
    next_cursor = None if last is None else cursor.encode(last[bare.START], last[bare.ID])
    ids = {e.id for e in items} | {e.master_event_id for e in items}
    read = yield from bare.counted(account_id, ids - {""}, bare.notices_of(listed))
    return Page(items, next_cursor), read


@dataclass(frozen=True, slots=True)
class _Rows:
    """What an expanded list reads from the database, before any expansion; ``plan`` is what
    the expansion itself needs of ``series`` (:func:`_occurrence_starts`)."""

    singles: list[tuple[Event, int]]
    series: list[tuple[Event, int]]
    exceptions: dict[str, dict[str, Event]]
    plan: list[expansion.Series]


def _expansion_rows(
    conn: Connection, calendar_id: str, query: EventQuery, after: tuple[int, str] | None
) -> _Rows:
    limit = query.limit
    singles = store.select_events(
        conn,
        calendar_id,
        query,
        after=after,
        limit=limit + 1,
        recurring=False,
        masters_only=False,
        min_start=_min_start(conn, calendar_id, query),
    )
    series = _series(conn, calendar_id, query, None)
    exceptions = store.select_exceptions(conn, calendar_id, [m.id for m, _ in series])
    return _rows(singles, series, exceptions)


def _rows(
    singles: list[tuple[Event, int]],
    series: list[tuple[Event, int]],
    exceptions: dict[str, dict[str, Event]],
) -> _Rows:
    plan = [
        (
            m.id,
            expansion.plain(m.fields.start),
            expansion.plain(m.fields.end),
            m.fields.recurrence,
            frozenset(exceptions.get(m.id, ())),
        )
        for m, _ in series
    ]
    return _Rows(singles, series, exceptions, plan)


def _noted(found: _Rows, notes: Sequence[Note], on: bare.ReadOn) -> list[tuple[Noted, Any]]:
    """What ``notes`` read on ``on`` for the events an expanded page of ``found`` may hold
    (the events with rows, the series of the single ones, the series expanded)."""
    if not notes:
        return []
    ids = {e.id for e, _ in found.singles} | {m.id for m, _ in found.series}
    ids |= {e.master_event_id for e, _ in found.singles if e.master_event_id}
    ids |= {e.id for stored in found.exceptions.values() for e in stored.values()}
    return [note(on, ids) for note in notes]


def _window_start(query: EventQuery, after: tuple[int, str] | None) -> dt.datetime | None:
    """Where an expanded page begins: the window's start, or the cursor's, whichever is later."""
    if after is None:
        return query.start
    try:
        resume = us_to_dt(after[0])
    except (OverflowError, ValueError, OSError):
        raise InvalidParameters(
            "cursor: not a cursor returned by this API (pass next_cursor unchanged)"
        ) from None
    return resume if query.start is None or resume > query.start else query.start


def _expanded(rows: _Rows, found: list[expansion.Found], limit: int) -> list[tuple[int, Event]]:
    """The single events and the occurrences found
    (:func:`calgate.domain.expansion.first_occurrences`) in (start, id) order, one more than a
    page (for :func:`_page`), occurrences made events."""
    singles = ((s, e.id, -1, e) for e, s in rows.singles)
    merged: Iterator[tuple[int, str, int, Event | expansion.Time]] = heapq.merge(
        singles, found, key=expansion.order
    )
    return [
        (key, found if isinstance(found, Event) else _occurrence(rows, index, found))
        for key, _, index, found in itertools.islice(merged, limit + 1)
    ]


def _encoded_page(
    rows: _Rows,
    noted: list[tuple[Noted, Any]],
    window_start: dt.datetime | None,
    window_end: dt.datetime | None,
    after: tuple[int, str] | None,
    limit: int,
    organizer: tuple[str, str],
    to_wire: Callable[[Event], object],
    budget: recurrence.Budget,
) -> tuple[list[bytes], tuple[int, str] | None]:
    """:meth:`LocalProvider.list_events_encoded`'s work in the worker process: the page's
    events encoded, and the position of its last event when a page follows (the cursor is
    signed by the caller, whose key the worker has not)."""
    found = expansion.first_occurrences(rows.plan, window_start, window_end, after, limit, budget)
    made = _expanded(rows, found, limit)
    events = [event for _, event in made[:limit]]
    for apply, read in noted:
        events = apply(events, read)
    email, name = organizer
    parts = []
    for event in events:
        budget.spend(0)  # a pause point, a cancellation; the work limit counts recurrence only
        parts.append(orjson.dumps(to_wire(with_organizer(event, email, name))))
    return parts, _last(made, limit)


def _occurrence(rows: _Rows, index: int, start: expansion.Time) -> Event:
    return rules.occurrence_of(rows.series[index][0], expansion.event_time(start))


def _store_change(
    conn: Connection, calendar_id: str, event_id: str, current: Event, updated: Event
) -> None:
    """Write ``updated`` over ``current`` (read at its version)."""
    if store.get_event(conn, calendar_id, event_id) is None:
        # First change of a generated occurrence: it becomes a stored exception, of a series
        # that must still be there. A concurrent first change (PostgreSQL) stored it first:
        # theirs wins.
        if not store.hold_event(conn, calendar_id, current.master_event_id):
            raise _not_found(event_id)
        try:
            store.insert_event(conn, updated, bounds_of(updated.fields))
        except IntegrityError:
            raise _changed(event_id) from None
    elif not store.update_event(conn, updated, bounds_of(updated.fields), current.version):
        raise _changed(event_id)


T = TypeVar("T")
X = TypeVar("X")


def _found(conn: bare.ReadOn, found: X) -> X:
    """``then`` of a read that wants what it found, as found."""
    return found


class LocalProvider:
    kind = "LOCAL"
    capabilities = Capabilities(
        colors="any",
        conference_create=frozenset(),
        conference_links=frozenset({"unknown"}),
        recurrence="rfc5545",
        invitations="calgate",
        hidden_attendees=True,
        guests_can_modify=True,
        calendar_management=True,
        ics_files=True,
    )

    def __init__(self, db: Database, *, bare_reads: bool = True) -> None:
        self.db = db
        # The hot reads (GET, a list without expansion) of a calendar known to be the
        # account's run on the bare driver (calgate.store.bare); the rest, through Core.
        self.bare_reads = bare_reads
        # calendar id -> owning account id. A calendar never changes owner, so a hit needs no
        # query; a calendar deleted by another process makes the insert fail its foreign key.
        self.owners: dict[str, str] = {}
        # Lists decode each unchanged row once (and hand out the same event again).
        self.rows = RowVersions(ROWS_REMEMBERED)

    def _own(self, calendar_id: str, account_id: str) -> None:
        if len(self.owners) > 100_000:
            self.owners.clear()
        self.owners[calendar_id] = account_id

    def _known(self, account: AccountContext, calendar_id: str) -> bool:
        """Whether the calendar is known to be the account's, for a read on the bare driver."""
        return self.bare_reads and self.owners.get(calendar_id) == account.id

    def _checked(self, conn: Connection, account: AccountContext, calendar_id: str) -> bool:
        """Check that ``calendar_id`` is the account's, unless known already (then True: a
        read that finds nothing checks again, as the calendar may be gone since; its events
        go in the same transaction)."""
        if self.owners.get(calendar_id) == account.id:
            return True
        _calendar(conn, account, calendar_id)
        self._own(calendar_id, account.id)
        return False

    async def connect(
        self, accounts: AccountService, tenant_id: str, body: Mapping[str, Any]
    ) -> str:
        unknown = set(body) - {"provider", "name", "email", "timezone"}
        if unknown:
            raise InvalidParameters(
                f"{', '.join(sorted(unknown))}: unknown field for a LOCAL account"
            )
        for key in ("name", "email", "timezone"):
            if body.get(key) is not None and not isinstance(body[key], str):
                raise InvalidParameters(f"{key}: expected a string")
        tz = zones.resolve(body["timezone"], "timezone") if body.get("timezone") else "UTC"
        record = await accounts.create_local(
            tenant_id, body.get("name") or "Calendar", email=body.get("email") or "", timezone=tz
        )
        return record.id

    # calendars -----------------------------------------------------------------------------

    async def list_calendars(self, account: AccountContext) -> list[Calendar]:
        return await self.db.read(lambda c: account_store.list_calendars(c, account.id))

    async def get_calendar(self, account: AccountContext, calendar_id: str) -> Calendar:
        return await self.db.read(lambda c: _calendar(c, account, calendar_id))

    async def create_calendar(self, account: AccountContext, calendar: Calendar) -> Calendar:
        answered = idempotency.answerer()

        def op(conn: Connection) -> Calendar:
            created = account_store.create_calendar(
                conn,
                account.id,
                calendar.name,
                description=calendar.description,
                timezone=calendar.timezone,
                color=calendar.background_color,
                is_default=calendar.is_default,
            )
            answered(conn, "calendar_created", created.id, {"calendar": created})
            return created

        return await self.db.write(op)

    async def update_calendar(
        self, account: AccountContext, calendar_id: str, changes: Mapping[str, Any]
    ) -> Calendar:
        columns = {"background_color": "color"}

        def op(conn: Connection) -> Calendar:
            _calendar(conn, account, calendar_id)
            values = {columns.get(name, name): value for name, value in changes.items()}
            account_store.update_calendar(conn, calendar_id, **values)
            return _calendar(conn, account, calendar_id)

        return await self.db.write(op)

    async def delete_calendar(self, account: AccountContext, calendar_id: str) -> None:
        def op(conn: Connection) -> None:
            found = _calendar(conn, account, calendar_id)
            if found.is_default:
                raise InvalidParameters(
                    "calendar_id: the default calendar cannot be deleted "
                    "(delete the account instead)"
                )
            account_store.delete_calendar(conn, calendar_id)

        self.owners.pop(calendar_id, None)
        await self.db.write(op)

    # events --------------------------------------------------------------------------------

    async def create_event(
        self,
        account: AccountContext,
        calendar_id: str,
        fields: EventFields,
        *,
        event_id: str,
        effects: Effects = no_effects,
    ) -> Event:
        now = us_to_dt(now_ms_us())
        event = Event(
            id=event_id,
            calendar_id=calendar_id,
            ical_uid=f"{event_id}@calgate",
            fields=fields,
            created_at=now,
            updated_at=now,
            organizer=Organizer(account.email, account.name) if account.email else None,
        )
        bounds = bounds_of(fields)
        answered = idempotency.answerer()

        def op(conn: Connection) -> Event:
            if self.owners.get(calendar_id) != account.id:
                _calendar(conn, account, calendar_id)
            try:
                store.insert_event(conn, event, bounds)
            except IntegrityError:
                self.owners.pop(calendar_id, None)
                raise NotFound(f"calendar {calendar_id!r} not found for this account") from None
            self._own(calendar_id, account.id)
            effects(conn, Change("created", account, calendar_id, event))
            answered(conn, "created", event.id)
            return event

        try:
            return await self.db.write(op)
        except NotFound:
            if idempotency.event_id() != event_id:
                raise
            # A create under an Idempotency-Key whose id is taken: an earlier attempt of this
            # very request made the event (its key was taken over meanwhile); it is the answer.
            made = await self.db.read(lambda c: store.get_event(c, calendar_id, event_id))
            if made is None:
                raise
            return made

    async def get_event(self, account: AccountContext, calendar_id: str, event_id: str) -> Event:
        return await self.get_event_then(account, calendar_id, event_id, _found)

    async def get_event_then(
        self,
        account: AccountContext,
        calendar_id: str,
        event_id: str,
        then: Callable[[bare.ReadOn, Event], T],
    ) -> T:
        """``then(conn, event)`` on the connection that read the event (StoreReads), or on the
        notices the bare read read with it."""
        if self._known(account, calendar_id):
            found = await self.db.read_bare(bare.get_event(account.id, calendar_id, event_id))
            if found is not None:  # else (a generated occurrence, a 404) as below
                event, notices = found
                return then(notices, event)

        def op(conn: Connection) -> T:
            known = self._checked(conn, account, calendar_id)
            try:
                found = load(conn, calendar_id, event_id)
            except CalgateError:
                if known:  # the calendar may be gone since, and its events with it
                    _calendar(conn, account, calendar_id)
                raise
            return then(conn, found)

        if rules.split_occurrence_id(event_id) is not None:
            await self._ahead(account, calendar_id, event_id)
        return await self.db.read(op)

    async def list_events(
        self, account: AccountContext, calendar_id: str, query: EventQuery
    ) -> Page[Event]:
        return await self.list_events_then(account, calendar_id, query, _found)

    async def list_events_then(
        self,
        account: AccountContext,
        calendar_id: str,
        query: EventQuery,
        then: Callable[[bare.ReadOn, Page[Event]], T],
    ) -> T:
        """``then(conn, page)`` on the connection that read the page (or the notices the bare
        read read with it), or, for an expansion (computed off the database threads), on a
        read of its own (StoreReads)."""
        after = cursor.decode(query.cursor) if query.cursor else None
        if not query.expand_recurring and self._known(account, calendar_id):
            plan = _bare_listed(account.id, calendar_id, query, after, self.rows)
            page, notices = await self.db.read_bare(plan)
            return then(notices, page)

        def op(conn: Connection) -> T:
            known = self._checked(conn, account, calendar_id)
            page = _listed(conn, calendar_id, query, after, self.rows)
            if known and not page.items:  # the calendar may be gone since
                _calendar(conn, account, calendar_id)
            return then(conn, page)

        if not query.expand_recurring:
            return await self.db.read(op)
        # The database threads only read; expansion runs in offload's threads, off the loop.
        async with offload.turn(account.tenant_id):
            found, _ = await self._expansion(account, calendar_id, query, after)
            starts = await offload.run_apart(
                expansion.first_occurrences,
                (found.plan, _window_start(query, after), query.end, after, query.limit),
                account.tenant_id,
            )
            page = await offload.run(
                lambda _: _page(_expanded(found, starts, query.limit), query.limit),
                account.tenant_id,
            )
        if then is _found:
            return cast(T, page)
        return await self.db.read(lambda conn: then(conn, page))

    async def list_events_encoded(
        self,
        account: AccountContext,
        calendar_id: str,
        query: EventQuery,
        to_wire: Callable[[Event], object],
        notes: Sequence[Note],
    ) -> Page[Event] | None:
        """An expanded list's page made and encoded whole in a worker process
        (``recurrence_processes``): its events (occurrences, mostly) are never made in this
        process, whose interpreter lock they would hold; ``Page.encoded`` holds each event's
        ``orjson.dumps(to_wire(event))``, ``to_wire`` a function of the module level (sent by
        name). ``notes`` annotate the events there: each is read on the read of the rows, for
        the events that have rows and the page's series, and applied in the worker. The events
        get the account as their organizer where they have none. None: not made so (not an
        expanded list, or no worker processes); the caller lists as usual."""
        if not query.expand_recurring or not offload.apart():
            return None
        after = cursor.decode(query.cursor) if query.cursor else None
        start = _window_start(query, after)
        organizer = (account.email, account.name)  # not the account: its secrets stay here

        async with offload.turn(account.tenant_id):
            found, noted = await self._expansion(account, calendar_id, query, after, notes)
            parts, last = await offload.run_apart(
                _encoded_page,
                (found, noted, start, query.end, after, query.limit, organizer, to_wire),
                account.tenant_id,
            )
        return Page([], cursor.encode(*last) if last else None, encoded=parts)

    async def _expansion(
        self,
        account: AccountContext,
        calendar_id: str,
        query: EventQuery,
        after: tuple[int, str] | None,
        notes: Sequence[Note] = (),
    ) -> tuple[_Rows, list[tuple[Noted, Any]]]:
        """What an expanded list reads before any expansion, and what ``notes`` read for its
        events (:func:`_noted`), in one snapshot: on the bare driver
        (:func:`calgate.store.bare.expansion`) when the calendar is known to be the account's,
        as a plain list's read; else through Core."""
        if self._known(account, calendar_id):
            plan = bare.expansion(
                account.id,
                calendar_id,
                query,
                after,
                query.limit + 1,
                MAX_SERIES_PER_QUERY,
                self.rows,
                _many_series,
                noticed=bool(notes),
            )
            read = await self.db.read_bare(plan)
            if read is None:  # gone since it was known
                raise _no_calendar(calendar_id)
            found = _rows(read.singles, read.series, read.stored)
            return found, [] if read.notices is None else _noted(found, notes, read.notices)

        def op(conn: Connection) -> tuple[_Rows, list[tuple[Noted, Any]]]:
            known = self._checked(conn, account, calendar_id)
            found = _expansion_rows(conn, calendar_id, query, after)
            if known and not found.singles and not found.series:  # it may be gone since
                _calendar(conn, account, calendar_id)
            return found, _noted(found, notes, conn)

        return await self.db.read(op)

    async def _ahead(
        self,
        account: AccountContext,
        calendar_id: str,
        event_id: str,
        then: Callable[[Event, Event | None], object] | None = None,
    ) -> None:
        """Do the recurrence work an operation on ``event_id`` will need off the event loop
        first, then ``then(event, master)``: the operation finds the results in the domain's
        caches (occurrence tests, checked lines, series bounds) instead of computing them in a
        database thread, or on the event loop itself (PostgreSQL). Errors other than the work
        limit are left for the operation to raise, from the rows it reads itself."""

        def fetch(conn: Connection) -> tuple[Event | None, Event | None]:
            _calendar(conn, account, calendar_id)
            return _fetch(conn, calendar_id, event_id)

        def work(_: recurrence.Budget) -> None:
            try:
                event = _resolve(event_id, found, master)
                if then is not None:
                    then(event, master)
            except recurrence.WorkLimitExceeded:
                raise
            except CalgateError:
                pass

        async with offload.turn(account.tenant_id):
            found, master = await self.db.read(fetch)
            await offload.run(work, account.tenant_id)

    async def update_event(
        self,
        account: AccountContext,
        calendar_id: str,
        event_id: str,
        changes: Mapping[str, Any],
        *,
        effects: Effects = no_effects,
    ) -> Event:
        answered = idempotency.answerer()

        def op(conn: Connection) -> Event:
            _calendar(conn, account, calendar_id)
            current = load(conn, calendar_id, event_id)
            fields, given = rules.apply_patch(current, changes)
            updated = dataclasses.replace(
                current,
                fields=fields,
                updated_at=us_to_dt(now_ms_us()),
                version=current.version + 1,
                sequence=current.sequence + (1 if rules.is_significant(given) else 0),
            )
            _store_change(conn, calendar_id, event_id, current, updated)
            effects(
                conn,
                Change("updated", account, calendar_id, updated, current, frozenset(given)),
            )
            answered(conn, "updated", event_id)
            return updated

        if rules.split_occurrence_id(event_id) is not None or _RESHAPING & set(changes):

            def patched(event: Event, _: Event | None) -> None:
                bounds_of(rules.apply_patch(event, changes)[0])

            await self._ahead(account, calendar_id, event_id, patched)
        return await self.db.write(op)

    async def delete_event(
        self,
        account: AccountContext,
        calendar_id: str,
        event_id: str,
        *,
        effects: Effects = no_effects,
    ) -> Event:
        answered = idempotency.answerer()

        async def deleting() -> Event:
            if rules.split_occurrence_id(event_id) is not None:
                await self._ahead(account, calendar_id, event_id, _without_occurrence)
            still_there = offload.write_begins()

            def op(conn: Connection) -> Event:
                still_there()  # a client gone while the write waited: nothing is written
                _calendar(conn, account, calendar_id)
                current = load(conn, calendar_id, event_id)
                deleted = dataclasses.replace(current, is_cancelled=True)
                if current.master_event_id:
                    _exclude(conn, calendar_id, current, event_id)
                store.delete_event(conn, calendar_id, event_id)
                effects(conn, Change("deleted", account, calendar_id, deleted))
                answered(conn, "deleted", event_id)
                return deleted

            return await self.db.write(op)

        # Stopped (499, nothing written) when the client leaves before the write begins.
        return await offload.changing(deleting)

    async def respond(
        self,
        account: AccountContext,
        calendar_id: str,
        event_id: str,
        response: Response,
        *,
        effects: Effects = no_effects,
    ) -> Event:
        def op(conn: Connection) -> Event:
            _calendar(conn, account, calendar_id)
            current = load(conn, calendar_id, event_id)
            updated = dataclasses.replace(
                answered(current, response, account.email),
                updated_at=us_to_dt(now_ms_us()),
                version=current.version + 1,
            )
            _store_change(conn, calendar_id, event_id, current, updated)
            changed = frozenset({"attendees"})
            effects(conn, Change("updated", account, calendar_id, updated, current, changed))
            return updated

        if rules.split_occurrence_id(event_id) is not None:
            await self._ahead(account, calendar_id, event_id)
        return await self.db.write(op)
