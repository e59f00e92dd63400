"""LOCAL: busy time read from calgate's own store through its window index, series expanded
with their exceptions by the recurrence engine (off the event loop); decoded rows and series'
occurrences are remembered between questions (calgate.store.rows,
calgate.freebusy.occurrences)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.engine import Connection

from calgate import offload
from calgate.domain import freebusy as fb
from calgate.domain import recurrence
from calgate.domain.model import Calendar, Event, EventQuery
from calgate.errors import InvalidParameters, NotFound
from calgate.freebusy.base import CalendarBusy, Origin, Window
from calgate.freebusy.occurrences import OccurrenceCache
from calgate.providers.base import AccountContext
from calgate.store import accounts as account_store
from calgate.store import events as store
from calgate.store.codec import dt_to_us
from calgate.store.db import Database
from calgate.store.rows import DecodedRows

# Rows one calendar may put into one answer; past them the calendar gets an error entry.
MAX_SINGLES = 50_000
MAX_SERIES = 5_000


@dataclass(frozen=True, slots=True)
class _Rows:
    calendar: Calendar
    singles: list[Event]
    series: list[Event]
    exceptions: dict[str, dict[str, Event]]


def _rows(
    conn: Connection,
    account_id: str,
    calendar_id: str | None,
    window: Window,
    decode: DecodedRows,
) -> _Rows:
    if calendar_id is None:
        found = account_store.list_calendars(conn, account_id)
        calendar = found[0] if found else None
    else:
        calendar = account_store.get_calendar(conn, account_id, calendar_id)
    if calendar is None:
        raise NotFound(f"calendar {calendar_id!r} not found for this account")
    # All-day dates are indexed at midnight UTC: widen so that every zone's midnight is in.
    query = EventQuery(
        start=window.start - fb.ALL_DAY_SLACK,
        end=window.end + fb.ALL_DAY_SLACK,
        busy=True,
        is_cancelled=False,
    )
    assert query.start is not None
    min_start = dt_to_us(query.start) - store.calendar_span(conn, calendar.id)
    singles = store.select_events(
        conn,
        calendar.id,
        query,
        after=None,
        limit=MAX_SINGLES + 1,
        recurring=False,
        masters_only=False,
        min_start=min_start,
        ordered=False,
        decode=decode,
        lean=True,
    )
    series = store.select_events(
        conn,
        calendar.id,
        query,
        after=None,
        limit=MAX_SERIES + 1,
        recurring=True,
        ordered=False,
        decode=decode,
        lean=True,
    )
    if len(singles) > MAX_SINGLES or len(series) > MAX_SERIES:
        raise InvalidParameters(
            f"start/end: calendar {calendar.id!r} holds more than {MAX_SINGLES} events or "
            f"{MAX_SERIES} recurring series in this window; narrow it"
        )
    exceptions = store.select_exceptions(
        conn, calendar.id, [e.id for e, _ in series], decode, lean=True
    )
    return _Rows(calendar, [e for e, _ in singles], [e for e, _ in series], exceptions)


class LocalSource:
    origin = Origin(primary="store", calendars="store")

    def __init__(self, db: Database) -> None:
        self.db = db
        self.occurrences = OccurrenceCache()
        self.rows = DecodedRows()

    async def _one(
        self, account: AccountContext, calendar_id: str | None, window: Window
    ) -> CalendarBusy:
        def read(conn: Connection) -> _Rows:
            return _rows(conn, account.id, calendar_id, window, self.rows)

        rows = await self.db.read(read)

        def expand(budget: recurrence.Budget) -> list[fb.Busy]:
            return fb.calendar_busy(
                rows.singles,
                rows.series,
                rows.exceptions,
                window.start,
                window.end,
                rows.calendar.timezone,
                (account.email,),
                budget,
                self.occurrences,
            )

        return CalendarBusy(rows.calendar.id, await offload.run(expand, account.tenant_id))

    async def busy(
        self, account: AccountContext, calendar_ids: Sequence[str] | None, window: Window
    ) -> list[CalendarBusy]:
        out: list[CalendarBusy] = []
        wanted: Sequence[str | None] = calendar_ids or [None]
        for calendar_id in wanted:
            try:
                out.append(await self._one(account, calendar_id, window))
            except (NotFound, InvalidParameters) as exc:
                out.append(CalendarBusy(calendar_id, error=exc))
        return out
