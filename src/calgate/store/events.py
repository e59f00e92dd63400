"""Event rows: insert, read, optimistic update, delete, and window queries on one index."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, insert, or_, select, tuple_, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from calgate.domain.filters import fold
from calgate.domain.model import Event, EventQuery
from calgate.store import tables as t
from calgate.store.codec import dt_to_us, event_from_row, event_to_data

E = t.events.c


@dataclass(frozen=True, slots=True)
class Bounds:
    """First start and last end of an event or series, in epoch microseconds."""

    start: int
    end: int  # tables.OPEN_END for a series without end
    is_recurring: bool


_INSERT = insert(t.events)
_COLUMNS = tuple(c.name for c in t.events.columns)
# The hot path of every create on SQLite: one plain INSERT on the driver connection, inside the
# transaction SQLAlchemy opened on it (same rows, same constraints, no statement compilation).
_SQLITE_INSERT = (
    f"INSERT INTO events ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' for _ in _COLUMNS)})"
)


def _values(event: Event, bounds: Bounds) -> dict[str, object]:
    f = event.fields
    emails = ",".join(a.email.lower() for a in f.attendees)
    return {
        "id": event.id,
        "calendar_id": event.calendar_id,
        "ical_uid": event.ical_uid,
        "master_event_id": event.master_event_id,
        "recurrence_id": event.recurrence_id.token if event.recurrence_id else "",
        "start_utc": bounds.start,
        "end_utc": bounds.end,
        "is_recurring": bounds.is_recurring,
        "is_cancelled": event.is_cancelled,
        "busy": f.transparency == "opaque",
        "title": f.title,
        "location": f.location,
        "body": f.body,
        "title_folded": fold(f.title),
        "location_folded": fold(f.location),
        "body_folded": fold(f.body),
        "attendee_emails": f",{emails}," if emails else "",
        "data": event_to_data(event),
        "version": event.version,
        "sequence": event.sequence,
        "created_at": dt_to_us(event.created_at),
        "updated_at": dt_to_us(event.updated_at),
    }


_SQLITE_SPAN = "UPDATE calendars SET max_span_us = ? WHERE id = ? AND max_span_us < ?"


def record_span(conn: Connection, calendar_id: str, bounds: Bounds) -> None:
    """Raise the calendar's longest-single-event span if ``bounds`` exceeds it (same
    transaction as the write; a no-op update in the common case)."""
    if bounds.is_recurring:
        return
    span = bounds.end - bounds.start
    if conn.dialect.name == "sqlite":
        driver = conn.connection.driver_connection
        assert driver is not None
        driver.execute(_SQLITE_SPAN, (span, calendar_id, span))
        return
    conn.execute(
        update(t.calendars)
        .where(t.calendars.c.id == calendar_id, t.calendars.c.max_span_us < span)
        .values(max_span_us=span)
    )


def calendar_span(conn: Connection, calendar_id: str) -> int:
    row = conn.execute(
        select(t.calendars.c.max_span_us).where(t.calendars.c.id == calendar_id)
    ).first()
    return int(row.max_span_us) if row else 0


def insert_event(conn: Connection, event: Event, bounds: Bounds) -> None:
    values = _values(event, bounds)
    if conn.dialect.name == "sqlite":
        driver = conn.connection.driver_connection
        assert driver is not None
        try:
            driver.execute(_SQLITE_INSERT, tuple(values[c] for c in _COLUMNS))
        except sqlite3.IntegrityError as exc:
            # The same exception as every other path raises (a taken id, a deleted calendar).
            raise IntegrityError(_SQLITE_INSERT, None, exc) from exc
    else:
        conn.execute(_INSERT, values)
    record_span(conn, event.calendar_id, bounds)


def insert_events(conn: Connection, rows: Iterable[tuple[Event, Bounds]]) -> None:
    listed = list(rows)
    values = [_values(e, b) for e, b in listed]
    if values:
        conn.execute(insert(t.events), values)
    spans: dict[str, Bounds] = {}
    for event, bounds in listed:
        known = spans.get(event.calendar_id)
        if not bounds.is_recurring and (
            known is None or bounds.end - bounds.start > known.end - known.start
        ):
            spans[event.calendar_id] = bounds
    for calendar_id, bounds in spans.items():
        record_span(conn, calendar_id, bounds)


def get_event(conn: Connection, calendar_id: str, event_id: str) -> Event | None:
    row = (
        conn.execute(select(t.events).where(E.id == event_id, E.calendar_id == calendar_id))
    ).first()
    return event_from_row(row) if row else None


def find_by_uid(
    conn: Connection, calendar_id: str, ical_uid: str, recurrence_token: str = ""
) -> Event | None:
    row = (
        conn.execute(
            select(t.events).where(
                E.calendar_id == calendar_id,
                E.ical_uid == ical_uid,
                E.recurrence_id == recurrence_token,
            )
        )
    ).first()
    return event_from_row(row) if row else None


def find_by_uids(
    conn: Connection, calendar_id: str, ical_uids: Sequence[str]
) -> dict[tuple[str, str], Event]:
    """Events with one of ``ical_uids``: (UID, recurrence token) -> event (for imports)."""
    found: dict[tuple[str, str], Event] = {}
    unique = sorted(set(ical_uids))
    for i in range(0, len(unique), 500):
        rows = conn.execute(
            select(t.events).where(
                E.calendar_id == calendar_id, E.ical_uid.in_(unique[i : i + 500])
            )
        )
        for r in rows:
            found[(r.ical_uid, r.recurrence_id)] = event_from_row(r)
    return found


def update_event(conn: Connection, event: Event, bounds: Bounds, expected_version: int) -> bool:
    """Write ``event`` if the stored version is still ``expected_version``."""
    values = _values(event, bounds)
    del values["id"], values["calendar_id"], values["created_at"]
    result = conn.execute(
        update(t.events)
        .where(E.id == event.id, E.calendar_id == event.calendar_id, E.version == expected_version)
        .values(**values)
    )
    if result.rowcount:
        record_span(conn, event.calendar_id, bounds)
    return bool(result.rowcount)


def hold_event(conn: Connection, calendar_id: str, event_id: str) -> bool:
    """Lock the event's row until the transaction ends (PostgreSQL; SQLite has one writer at a
    time); whether it exists. A writer that adds a modified occurrence holds its series this
    way, and so does a series delete before it deletes: one waits for the other, and the
    occurrence of a deleted series is never left behind."""
    if conn.dialect.name == "sqlite":
        return True
    found = conn.execute(
        select(E.id).where(E.id == event_id, E.calendar_id == calendar_id).with_for_update()
    ).first()
    return found is not None


def delete_event(conn: Connection, calendar_id: str, event_id: str) -> None:
    """Delete an event and, for a series, its modified occurrences."""
    hold_event(conn, calendar_id, event_id)  # the delete below then sees every committed one
    conn.execute(
        delete(t.events).where(
            E.calendar_id == calendar_id, or_(E.id == event_id, E.master_event_id == event_id)
        )
    )


def _filters(calendar_id: str, q: EventQuery) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [E.calendar_id == calendar_id]
    if q.start is not None:
        where.append(E.end_utc > dt_to_us(q.start))
    if q.end is not None:
        where.append(E.start_utc < dt_to_us(q.end))
    if q.updated_after is not None:
        where.append(E.updated_at > dt_to_us(q.updated_after))
    if q.updated_before is not None:
        where.append(E.updated_at < dt_to_us(q.updated_before))
    if q.busy is not None:
        where.append(E.busy == q.busy)
    if q.is_cancelled is not None:
        where.append(E.is_cancelled == q.is_cancelled)
    if q.ical_uid is not None:
        where.append(E.ical_uid == q.ical_uid)
    folded = (
        (E.title_folded, q.title),
        (E.location_folded, q.location),
        (E.body_folded, q.description),
    )
    for column, value in folded:
        if value:
            where.append(column.contains(fold(value), autoescape=True))
    if q.attendees:
        where.append(
            or_(
                *(
                    E.attendee_emails.contains(f",{a.lower()},", autoescape=True)
                    for a in q.attendees
                )
            )
        )
    return where


# What an event is decoded from (codec.event_from_row), with the first start (cursors) and the
# recurrence token (exceptions): a read that needs no search column selects only these.
DECODED = (
    E.id,
    E.calendar_id,
    E.ical_uid,
    E.master_event_id,
    E.recurrence_id,
    E.start_utc,
    E.is_cancelled,
    E.data,
    E.version,
    E.sequence,
    E.created_at,
    E.updated_at,
)


def select_events(
    conn: Connection,
    calendar_id: str,
    q: EventQuery,
    *,
    after: tuple[int, str] | None,
    limit: int,
    recurring: bool | None = None,
    masters_only: bool = True,
    min_start: int | None = None,
    ordered: bool = True,
    decode: Callable[[Any], Event] = event_from_row,
    lean: bool = False,
) -> list[tuple[Event, int]]:
    """Events matching ``q`` ordered by (first start, id), after the cursor position.

    ``min_start`` bounds the first start from below (with the calendar's longest single event,
    it turns a window query on single events into one short index range); ``ordered=False``
    lets the database pick the best index when the caller sorts (series); ``decode`` turns a
    row into its event (a caller may remember decoded rows: see calgate.store.rows);
    ``lean`` reads only the :data:`DECODED` columns.
    Returns each event with its stored first start (microseconds) for cursors.
    """
    where = _filters(calendar_id, q)
    if min_start is not None:
        where.append(E.start_utc > min_start)
    if masters_only:
        where.append(E.master_event_id == "")
    if recurring is not None:
        where.append(E.is_recurring == recurring)
    if after is not None:
        where.append(tuple_(E.start_utc, E.id) > tuple_(after[0], after[1]))
    query = (select(*DECODED) if lean else select(t.events)).where(and_(*where)).limit(limit)
    if ordered:
        query = query.order_by(E.start_utc, E.id)
    return [(decode(r), r.start_utc) for r in conn.execute(query)]


def select_exceptions(
    conn: Connection,
    calendar_id: str,
    master_ids: Sequence[str],
    decode: Callable[[Any], Event] = event_from_row,
    lean: bool = False,
) -> dict[str, dict[str, Event]]:
    """Modified occurrences of the given series: master id -> recurrence token -> event."""
    found: dict[str, dict[str, Event]] = {}
    if not master_ids:
        return found
    # Ids are unique, so the master id alone finds the rows (through ix_events_master).
    columns = select(*DECODED) if lean else select(t.events)
    rows = conn.execute(columns.where(E.master_event_id.in_(master_ids)))
    for r in rows:
        if r.calendar_id != calendar_id:
            continue
        found.setdefault(r.master_event_id, {})[r.recurrence_id] = decode(r)
    return found


def count_events(conn: Connection, calendar_id: str) -> int:
    from sqlalchemy import func

    row = (
        conn.execute(select(func.count()).select_from(t.events).where(E.calendar_id == calendar_id))
    ).scalar_one()
    return int(row)


def calendar_state(conn: Connection, calendar_id: str) -> tuple[int, int]:
    """(number of events, latest ``updated_at``) of a calendar: changes whenever an event is
    created, changed or deleted (feeds use it as their ETag)."""
    from sqlalchemy import func

    row = conn.execute(
        select(func.count(), func.coalesce(func.max(E.updated_at), 0)).where(
            E.calendar_id == calendar_id
        )
    ).one()
    return int(row[0]), int(row[1])
