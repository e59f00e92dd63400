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

import logging
from typing import Final

from calgate.errors import ProviderError
from calgate.providers.base import AccountContext, Change
from calgate.providers.google import GoogleProvider
from calgate.providers.google_pages import read_page
from calgate.store.mirror import CalendarState
from calgate.sync.feed import BIG_PAGE, CalendarGone, KnownEtags, Pull, read_apart

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
