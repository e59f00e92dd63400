"""The Google Calendar change feed (GOOGLE_OAUTH accounts), after Google's guide
"Synchronize resources efficiently" and the ``events.list`` reference:

- the first run lists the whole calendar (``showDeleted=true``, series level: series, single
  events and the exceptions of series as their own items), page by page with
  ``nextPageToken``; the last page carries ``nextSyncToken``;
- later runs send ``syncToken``: only what changed since, deleted events always included
  (a deleted event is guaranteed only its ``id``; a cancelled occurrence of a live series its
  ``id``, ``recurringEventId`` and ``originalStartTime``);
- ``410 Gone`` (the token expired) → a full listing that reconciles: what the mirror holds and
  the listing does not counts as deleted.

Each Google event (series, single, exception) is one item of the mirror, keyed by its id.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any, Final

from calgate.domain.recurrence import Budget
from calgate.domain.times import EventTime
from calgate.errors import ProviderError
from calgate.providers.base import AccountContext, Change
from calgate.providers.google import GoogleProvider
from calgate.providers.google_map import from_google, time_from_google
from calgate.providers.remote import version_of
from calgate.store.mirror import CalendarState
from calgate.sync.feed import BIG_PAGE, CalendarGone, Found, KnownEtags, Pull, read_apart

log = logging.getLogger("calgate.sync")

SYNC_TOKEN: Final = "sync-token"
PAGE_SIZE: Final = "2500"
MAX_PAGES: Final = 2000


class _Expired(Exception):
    """Google answered 410: the sync token is no longer valid."""


class GoogleFeed:
    def __init__(self, provider: GoogleProvider) -> None:
        self.provider = provider

    async def calendars(self, account: AccountContext) -> dict[str, str]:
        return {c.id: c.id for c in await self.provider.list_calendars(account)}

    def own_item(self, change: Change) -> tuple[str, bool]:
        # An occurrence changed through calgate is an exception of its own id at Google.
        return change.event.id, change.kind == "deleted"

    async def pull(self, account: AccountContext, state: CalendarState, known: KnownEtags) -> Pull:
        token = state.cursor if state.mode == SYNC_TOKEN and state.cursor else None
        if token is not None:
            try:
                return await self._list(account, state, token)
            except _Expired:
                log.info("Google calendar %s: sync token expired, full resync", state.href)
                return await self._list(account, state, None, resync=True)
        return await self._list(account, state, None)

    async def _list(
        self, account: AccountContext, state: CalendarState, token: str | None, resync: bool = False
    ) -> Pull:
        pull = Pull(cursor="", mode=SYNC_TOKEN, present=None if token else set(), resync=resync)
        tz = str(account.params.get("timezone") or "UTC")
        params: dict[str, str] = {"maxResults": PAGE_SIZE, "showDeleted": "true"}
        if token:
            params["syncToken"] = token
        for _ in range(MAX_PAGES):
            response = await self.provider.call(
                account,
                "GET",
                self.provider._events_url(state.calendar_id),
                safe=True,
                what="sync",
                params=params,
                expect=(404, 410),
            )
            if response.status_code == 410:
                if token:
                    raise _Expired
                raise ProviderError("Google answered 410 to a listing without a sync token")
            if response.status_code == 404:
                raise CalendarGone(f"calendar {state.calendar_id!r} is gone from Google")
            content = response.content
            big = len(content) >= BIG_PAGE
            page = await read_apart(
                account.tenant_id, big, read_page, content, state.calendar_id, tz
            )
            if pull.present is not None:
                pull.present.update(page.present)
            pull.changed += page.changed
            pull.removed += page.removed
            if not page.following:
                pull.cursor = page.token
                if not pull.cursor:
                    raise ProviderError("Google ended a listing without a nextSyncToken")
                return pull
            params = {**params, "pageToken": page.following}
        raise ProviderError(f"Google listed more than {MAX_PAGES} pages")


# Reading a page (in a worker process when big: calgate.sync.feed.read_apart) ---------------


@dataclass(slots=True)
class Page:
    """What one page of ``events.list`` says."""

    present: list[str] = field(default_factory=list)  # items the listing holds
    changed: list[Found] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    following: str = ""  # nextPageToken
    token: str = ""  # nextSyncToken (the last page)


def read_page(content: bytes, calendar_id: str, tz: str, budget: Budget | None = None) -> Page:
    """The items of one ``events.list`` page, read into calgate's model; an event calgate
    cannot read is logged and left as the mirror has it."""
    try:
        data = json.loads(content)
    except ValueError:
        raise ProviderError("Google answered a listing that is not JSON") from None
    if not isinstance(data, dict):
        raise ProviderError("Google answered a listing that is not a JSON object")
    page = Page(following=str(data.get("nextPageToken") or ""))
    page.token = str(data.get("nextSyncToken") or "")
    for item in data.get("items") or ():
        if budget is not None:
            budget.spend(0)  # stopped if the caller has gone; gives way to other requests
        _read(page, item, calendar_id, tz)
    return page


def _read(page: Page, item: dict[str, Any], calendar_id: str, tz: str) -> None:
    item_id = str(item.get("id") or "")
    if not item_id:
        return
    etag = str(item.get("etag") or item.get("updated") or "")
    if item.get("status") == "cancelled":
        series, original = item.get("recurringEventId"), item.get("originalStartTime")
        try:
            start: EventTime | None = (
                time_from_google(original, tz) if series and isinstance(original, dict) else None
            )
        except (KeyError, ValueError, TypeError):
            start = None
        if series and start is not None:
            page.present.append(item_id)
            found = Found(item_id, "", etag, version_of(etag), cancels=(str(series), start))
            page.changed.append(found)
        else:
            page.removed.append(item_id)  # a deleted event: only its id is guaranteed
        return
    page.present.append(item_id)  # also when unreadable: kept as the mirror has it
    try:
        event = from_google(item, calendar_id, tz)
    except ProviderError as error:
        log.warning("Google sync skips event %s: %s", item_id, error.detail)
        return
    page.changed.append(Found(item_id, "", etag, event.version, [event]))
