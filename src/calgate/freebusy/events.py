"""Any provider: busy time from the events calgate can read through the provider (its list of
events with series expanded: a CalDAV ``calendar-query``, Graph's ``calendarView``), or from
the sync mirror when it is current (``reads``), turned into intervals by the store's rules."""

from __future__ import annotations

from collections.abc import Sequence

from calgate.domain import freebusy as fb
from calgate.domain.model import Calendar, Event, EventQuery
from calgate.errors import CalgateError, InvalidParameters
from calgate.freebusy.base import CalendarBusy, EventReads, Origin, Window
from calgate.providers.base import AccountContext, Provider

PAGE = 250
# Pages one calendar may take; past them the calendar gets an error entry.
MAX_PAGES = 200


def primary_of(calendars: Sequence[Calendar]) -> Calendar | None:
    for flag in ("is_primary", "is_default"):
        for calendar in calendars:
            if getattr(calendar, flag):
                return calendar
    return calendars[0] if calendars else None


class EventsSource:
    def __init__(
        self, provider: Provider, origin: Origin | None = None, reads: EventReads | None = None
    ) -> None:
        self.provider = provider
        self.origin = origin or Origin(primary="events", calendars="events")
        self.reads = reads

    async def _events(
        self, account: AccountContext, calendar_id: str, window: Window
    ) -> list[Event]:
        query = EventQuery(
            start=window.start - fb.ALL_DAY_SLACK,
            end=window.end + fb.ALL_DAY_SLACK,
            expand_recurring=True,
            limit=PAGE,
        )
        found: list[Event] = []
        for _ in range(MAX_PAGES):
            page = None
            if self.reads is not None:  # the sync mirror, when it is current
                page = await self.reads.list_events(account, calendar_id, query)
            if page is None:
                page = await self.provider.list_events(account, calendar_id, query)
            found += page.items
            if not page.next_cursor:
                return found
            query = EventQuery(
                start=query.start,
                end=query.end,
                expand_recurring=True,
                limit=PAGE,
                cursor=page.next_cursor,
            )
        raise InvalidParameters(
            f"start/end: calendar {calendar_id!r} holds more than {MAX_PAGES * PAGE} events "
            "in this window; narrow it"
        )

    async def calendar(
        self, account: AccountContext, calendar_id: str | None, window: Window
    ) -> CalendarBusy:
        try:
            if calendar_id is None:
                chosen = primary_of(await self.provider.list_calendars(account))
                if chosen is None:
                    return CalendarBusy(None)
            else:
                chosen = await self.provider.get_calendar(account, calendar_id)
            events = await self._events(account, chosen.id, window)
        except CalgateError as exc:
            return CalendarBusy(calendar_id, error=exc)
        busy = fb.calendar_busy(
            events, (), {}, window.start, window.end, chosen.timezone, (account.email,)
        )
        return CalendarBusy(chosen.id, busy)

    async def busy(
        self, account: AccountContext, calendar_ids: Sequence[str] | None, window: Window
    ) -> list[CalendarBusy]:
        wanted: Sequence[str | None] = calendar_ids or [None]
        return [await self.calendar(account, c, window) for c in wanted]
