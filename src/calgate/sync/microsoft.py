"""The Outlook change feed (Microsoft Graph), after "Get incremental changes to events in a
calendar view" and the ``event: delta`` reference.

Graph v1.0 tracks changes of a calendar *view* (a window; the unbounded ``events/delta`` is beta
only): ``GET /me/calendars/{id}/calendarView/delta?startDateTime=&endDateTime=`` starts a round,
``@odata.nextLink`` pages it, ``@odata.deltaLink`` ends it and is the cursor of the next
round. Items are single events, occurrences and exceptions of series (no series masters);
a deleted one comes as ``{"id", "@removed": {...}}``. A token Graph no longer holds answers
``410 Gone`` (or 400 ``syncStateNotFound``): a new round from scratch, reconciled with the mirror.

Each Graph item is one item of the mirror. An occurrence that only follows its series is
mirrored quietly; its series master is read (``GET event``) whenever an occurrence of it
changes, and reports the series' creation and changes; an exception reports the edited
occurrence. A removed occurrence whose series still exists is a deleted occurrence; when the
series is gone (its master answers 404), the series is deleted once.

Graph's delta query takes no ``$expand``, so its rows lack the extended property calgate keeps
on the events it writes (color, time zones, visibility, conference kind). Single events and
exceptions are therefore read whole, as live reads see them: at a full round with one listing
of the round's calendar view (``$expand``, 250 a page), afterwards each changed one with a
``GET`` (masters are read so already). Such items are mirrored as :data:`WHOLE`, and only they
answer reads from the mirror (:mod:`calgate.sync.readers`).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, Final

from calgate.errors import NotFound, ProviderError
from calgate.providers.base import AccountContext, Change
from calgate.providers.found import Found
from calgate.providers.microsoft import PREFER, MicrosoftProvider
from calgate.providers.microsoft_map import EXPAND, GRAPH_ID, from_graph_event
from calgate.providers.microsoft_rows import WHOLE, read_rows
from calgate.providers.microsoft_series import page_cursor
from calgate.providers.remote import decode_cursor
from calgate.store.mirror import CalendarState
from calgate.sync.feed import BIG_ROWS, CalendarGone, KnownEtags, Pull, read_apart

log = logging.getLogger("calgate.sync")

DELTA: Final = "delta"
# The calendar view a round follows: from a year back to two years ahead of its start.
PAST: Final = dt.timedelta(days=365)
FUTURE: Final = dt.timedelta(days=730)
MAX_PAGES: Final = 5000
# The types of Graph items read whole (occurrences follow their series; masters are read so).
_READ_WHOLE: Final = ("singleInstance", "exception")


class _Refused(Exception):
    """Graph no longer holds the delta token."""


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class MicrosoftFeed:
    def __init__(self, provider: MicrosoftProvider) -> None:
        self.provider = provider

    async def calendars(self, account: AccountContext) -> dict[str, str]:
        return {c.id: c.id for c in await self.provider.list_calendars(account)}

    def own_item(self, change: Change) -> tuple[str, bool]:
        event = change.event
        return str(event.extra.get(GRAPH_ID) or event.id), change.kind == "deleted"

    async def pull(self, account: AccountContext, state: CalendarState, known: KnownEtags) -> Pull:
        link = state.cursor if state.mode == DELTA and state.cursor else None
        if link is not None:
            try:
                rows, cursor = await self._round(account, state, link)
                whole = await self._each(account, state, rows)
                return await self._pull(account, state, known, rows, whole, cursor, full=False)
            except _Refused:
                log.info("Outlook calendar %s: delta token refused, full resync", state.href)
                return await self._full(account, state, known, resync=True)
        return await self._full(account, state, known)

    async def _full(
        self, account: AccountContext, state: CalendarState, known: KnownEtags, resync: bool = False
    ) -> Pull:
        """A new round from scratch, its single events and exceptions read whole."""
        now = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        window = {"startDateTime": _iso(now - PAST), "endDateTime": _iso(now + FUTURE)}
        rows, cursor = await self._round(account, state, None, window)
        whole = await self._view(account, state, window)
        missing = [r for r in rows if str(r.get("id") or "") not in whole]
        whole |= await self._each(account, state, missing)  # changed between the two reads
        return await self._pull(
            account, state, known, rows, whole, cursor, full=True, resync=resync
        )

    async def _view(
        self, account: AccountContext, state: CalendarState, window: dict[str, str]
    ) -> dict[str, dict[str, Any]]:
        """The single events and exceptions of the calendar view, as live reads see them."""
        url = f"{self.provider._calendar_url(state.calendar_id)}/calendarView"
        params = {**window, "$top": "250", "$expand": EXPAND}
        found: dict[str, dict[str, Any]] = {}
        for _ in range(MAX_PAGES):
            response = await self.provider.call(
                account, "GET", url, safe=True, what="sync", params=params, expect=(404,)
            )
            if response.status_code == 404:
                raise CalendarGone(f"calendar {state.calendar_id!r} is gone from Outlook")
            data = response.json()
            for item in data.get("value") or ():
                if item.get("type") in _READ_WHOLE and item.get("id"):
                    found[str(item["id"])] = item
            following = page_cursor(data)
            if following is None:
                return found
            params = {**params, **decode_cursor(following)}
        raise ProviderError(f"Outlook listed more than {MAX_PAGES} pages")

    async def _each(
        self, account: AccountContext, state: CalendarState, rows: list[dict[str, Any]]
    ) -> dict[str, dict[str, Any]]:
        """The changed single events and exceptions of ``rows``, each read with a ``GET`` (one
        gone meanwhile stays as its row: the next round removes it)."""
        found: dict[str, dict[str, Any]] = {}
        for row in rows:
            item_id = str(row.get("id") or "")
            if not item_id or "@removed" in row or row.get("type") not in _READ_WHOLE:
                continue
            try:
                deadline = self.provider.deadline()
                found[item_id] = await self.provider.fetch(
                    account, state.calendar_id, item_id, deadline
                )
            except NotFound:
                continue
        return found

    async def _round(
        self,
        account: AccountContext,
        state: CalendarState,
        link: str | None,
        window: dict[str, str] | None = None,
    ) -> tuple[list[dict[str, Any]], str]:
        """Every item of one round and its ``@odata.deltaLink``."""
        params: dict[str, str] | None = None
        url = link
        if url is None:
            url = f"{self.provider._calendar_url(state.calendar_id)}/calendarView/delta"
            params = window
        rows: list[dict[str, Any]] = []
        for _ in range(MAX_PAGES):
            response = await self.provider.call(
                account,
                "GET",
                url,
                safe=True,
                what="sync",
                params=params,
                headers={"Prefer": f"{PREFER}, odata.maxpagesize=100"},
                expect=(400, 404, 410),
            )
            if response.status_code in (400, 410):
                text = response.text
                if link is not None and (response.status_code == 410 or "syncState" in text):
                    raise _Refused
                raise ProviderError(f"Outlook refused the delta query: {text[:300]}")
            if response.status_code == 404:
                raise CalendarGone(f"calendar {state.calendar_id!r} is gone from Outlook")
            data = response.json()
            rows += data.get("value") or ()
            following = data.get("@odata.nextLink")
            if not following:
                cursor = str(data.get("@odata.deltaLink") or "")
                if not cursor:
                    raise ProviderError("Outlook ended a delta round without a deltaLink")
                return rows, cursor
            url, params = str(following), None
        raise ProviderError(f"Outlook listed more than {MAX_PAGES} pages")

    async def _pull(
        self,
        account: AccountContext,
        state: CalendarState,
        known: KnownEtags,
        rows: list[dict[str, Any]],
        whole: dict[str, dict[str, Any]],
        cursor: str,
        *,
        full: bool,
        resync: bool = False,
    ) -> Pull:
        pull = Pull(cursor=cursor, mode=DELTA, present=set() if full else None, resync=resync)
        tz = self.provider.tz(account)
        big = len(rows) >= BIG_ROWS
        read = await read_apart(
            account.tenant_id, big, read_rows, rows, whole, state.calendar_id, tz
        )
        pull.removed += read.removed
        if pull.present is not None:
            pull.present.update(read.present)
        pull.changed += read.changed
        series = set(read.series)
        if pull.removed or full:
            mirrored = await known()
            for item_id in pull.removed:
                item = mirrored.get(item_id)
                series |= (
                    {e.master_event_id for e in item.events if e.master_event_id} if item else set()
                )
            if full:  # series the mirror holds whose occurrences all left the view
                series |= {i for i, item in mirrored.items() if _is_series(item.events)}
        for master_id in sorted(series):
            await self._series(account, state, master_id, pull, tz)
        return pull

    async def _series(
        self,
        account: AccountContext,
        state: CalendarState,
        master_id: str,
        pull: Pull,
        tz: str,
    ) -> None:
        """The series master as an item of its own (or removed, when Graph has it no more)."""
        try:
            deadline = self.provider.deadline()
            item = await self.provider.fetch(account, state.calendar_id, master_id, deadline)
        except NotFound:
            pull.removed.append(master_id)
            if pull.present is not None:
                pull.present.discard(master_id)
            return
        event = from_graph_event(item, state.calendar_id, tz)
        etag = str(item.get("@odata.etag") or item.get("changeKey") or "")
        if pull.present is not None:
            pull.present.add(master_id)
        pull.changed.append(Found(master_id, WHOLE, etag, event.version, [event]))


def _is_series(events: list[Any]) -> bool:
    return any(not e.master_event_id and e.fields.recurrence for e in events)
