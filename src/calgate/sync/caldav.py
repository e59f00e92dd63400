"""The CalDAV change feed (CALDAV and ICLOUD accounts).

- ``sync-collection`` (RFC 6578): a ``REPORT`` with the last ``sync-token`` answers the
  resources changed (with their ETag and data) and removed (404) since; an empty token lists
  the whole calendar. A token the server refuses (``DAV:valid-sync-token``) starts a full
  listing that reconciles deletions. A truncated answer (507 on the collection) is continued
  with the token it carries.
- ``ctag`` (servers without sync-collection): ``getctag`` (calendarserver.org) tells whether
  anything changed; when it did, a ``Depth: 1`` ``PROPFIND`` of ``getetag`` is compared with
  the mirror's ETags and the changed resources are read with ``calendar-multiget``.

A resource is one item of the mirror (its id: the resource name without ``.ics``, the event id
calgate shows), holding the master and its modified occurrences.
"""

from __future__ import annotations

import logging
from typing import Final
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

from calgate.errors import ProviderError
from calgate.providers.base import AccountContext, Change
from calgate.providers.caldav import CalDAVProvider, discovery, xml
from calgate.providers.caldav.reading import ETAG, Reading, etag_listing, feed_answer
from calgate.providers.caldav.transport import Answer, Dav, read
from calgate.providers.caldav.xml import CALDAV, DAV
from calgate.store.mirror import CalendarState
from calgate.sync.feed import CalendarGone, KnownEtags, Pull

log = logging.getLogger("calgate.sync")

SYNC_COLLECTION: Final = "sync-collection"
CTAG: Final = "ctag"
MULTIGET_BATCH: Final = 200
MAX_ROUNDS: Final = 100  # continuations of a truncated sync-collection answer
_NS: Final = f'xmlns:D="{DAV}" xmlns:C="{CALDAV}" xmlns:CS="{xml.CS}"'
_XML: Final = {"Content-Type": "application/xml; charset=utf-8"}


class _Unsupported(Exception):
    """The server does not do sync-collection on this calendar."""


def sync_collection_body(token: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f"<D:sync-collection {_NS}><D:sync-token>{escape(token)}</D:sync-token>"
        "<D:sync-level>1</D:sync-level>"
        "<D:prop><D:getetag/><C:calendar-data/></D:prop></D:sync-collection>"
    ).encode()


def multiget_body(paths: list[str]) -> bytes:
    hrefs = "".join(f"<D:href>{escape(p)}</D:href>" for p in paths)
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f"<C:calendar-multiget {_NS}><D:prop><D:getetag/><C:calendar-data/></D:prop>"
        f"{hrefs}</C:calendar-multiget>"
    ).encode()


class CalDAVFeed:
    def __init__(self, provider: CalDAVProvider) -> None:
        self.provider = provider

    def _dav(self, account: AccountContext) -> Dav:
        """A session with a deadline of its own (one per request: a large calendar's full
        listing is many requests)."""
        return self.provider._dav(account)

    async def calendars(self, account: AccountContext) -> dict[str, str]:
        home = await discovery.list_home(self._dav(account), str(account.params["home"]))
        return {c.id: c.url for c in home.calendars}

    def own_item(self, change: Change) -> tuple[str, bool]:
        event = change.event
        return event.master_event_id or event.id, change.kind == "deleted" and not (
            event.master_event_id
        )

    async def pull(self, account: AccountContext, state: CalendarState, known: KnownEtags) -> Pull:
        if state.mode != CTAG:
            try:
                return await self._sync_collection(account, state)
            except _Unsupported:
                log.info("CalDAV calendar %s: no sync-collection, comparing ETags", state.href)
        return await self._ctag(account, state, known)

    # sync-collection ---------------------------------------------------------------------

    async def _report(self, account: AccountContext, url: str, body: bytes) -> Answer:
        return await self._dav(account).request(
            "REPORT",
            url,
            body=body,
            headers={**_XML, "Depth": "0"},
            expect=(400, 403, 404, 405, 409, 410, 501),
            what="sync-collection",
            keep_turn=True,
        )

    async def _sync_collection(self, account: AccountContext, state: CalendarState) -> Pull:
        token = state.cursor if state.mode == SYNC_COLLECTION and state.cursor else ""
        pull = Pull(cursor="", mode=SYNC_COLLECTION, present=None if token else set())
        for _ in range(MAX_ROUNDS):
            answer = await self._report(account, state.href, sync_collection_body(token))
            if answer.status in (404, 410):
                raise CalendarGone(f"calendar {state.calendar_id!r} is gone from the server")
            if answer.status in (403, 409) and xml.precondition(answer.content) == (
                "valid-sync-token"
            ):
                if not token:
                    raise ProviderError("the CalDAV server refused an empty sync-token")
                log.info("CalDAV calendar %s: sync-token refused, full resync", state.href)
                token, pull = "", Pull(cursor="", mode=SYNC_COLLECTION, present=set(), resync=True)
                continue
            if answer.status >= 300:
                raise _Unsupported
            reading = await self._read(account, answer, state)
            if not reading.token:
                raise ProviderError("the CalDAV server answered sync-collection without a token")
            for item_id, removed in reading.seen:
                if removed:
                    pull.removed.append(item_id)
                    if pull.present is not None:
                        pull.present.discard(item_id)
                elif pull.present is not None:
                    pull.present.add(item_id)
            pull.changed.extend(reading.found)
            await self._multiget(account, state, reading.missing, pull)
            token = pull.cursor = reading.token  # a truncated answer goes on from it
            if not reading.truncated:
                return pull
        raise ProviderError(f"the CalDAV server truncated sync-collection {MAX_ROUNDS} times")

    async def _read(self, account: AccountContext, answer: Answer, state: CalendarState) -> Reading:
        return await read(
            answer,
            account.tenant_id,
            feed_answer,
            answer.content,
            answer.url,
            state.href,
            state.calendar_id,
        )

    async def _multiget(
        self,
        account: AccountContext,
        state: CalendarState,
        wanted: list[tuple[str, str]],
        pull: Pull,
    ) -> None:
        for start in range(0, len(wanted), MULTIGET_BATCH):
            batch = wanted[start : start + MULTIGET_BATCH]
            answer = await self._dav(account).request(
                "REPORT",
                state.href,
                body=multiget_body([urlsplit(url).path for _, url in batch]),
                headers={**_XML, "Depth": "1"},
                expect=(404, 410),
                what="calendar-multiget",
                keep_turn=True,
            )
            if answer.status in (404, 410):
                raise CalendarGone(f"calendar {state.calendar_id!r} is gone from the server")
            reading = await self._read(account, answer, state)
            # A resource named without its data is gone in between: the next run sees it.
            pull.changed.extend(reading.found)

    # getctag + getetag -------------------------------------------------------------------

    async def _propfind(
        self, account: AccountContext, url: str, depth: str, prop: str, *, keep_turn: bool = False
    ) -> Answer:
        answer = await self._dav(account).request(
            "PROPFIND",
            url,
            body=xml.propfind(prop),
            headers={**_XML, "Depth": depth},
            expect=(404, 410),
            what="calendar state",
            keep_turn=keep_turn,
        )
        if answer.status in (404, 410):
            raise CalendarGone(f"calendar {url} is gone from the server")
        return answer

    async def _ctag(self, account: AccountContext, state: CalendarState, known: KnownEtags) -> Pull:
        answer = await self._propfind(account, state.href, "0", discovery.CTAG)
        ctag = ""
        for response in xml.multistatus(answer.content, answer.url):
            ctag = ctag or response.text(discovery.CTAG)
        if ctag and state.mode == CTAG and state.cursor == ctag:
            return Pull(cursor=ctag, mode=CTAG)
        listing = await self._propfind(account, state.href, "1", ETAG, keep_turn=True)
        present = await read(
            listing, account.tenant_id, etag_listing, listing.content, listing.url, state.href
        )
        mirror = {i: item.etag for i, item in (await known()).items()}
        pull = Pull(cursor=ctag, mode=CTAG, present=set(present))
        stale = [
            (i, url) for i, (url, etag) in present.items() if not etag or mirror.get(i) != etag
        ]
        await self._multiget(account, state, stale, pull)
        return pull
