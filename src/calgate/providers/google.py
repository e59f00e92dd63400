"""GOOGLE_OAUTH: Google Calendar API v3 behind the provider seam.

- Events are created with a calgate-chosen id (base32hex), so a retried insert that meets 409
  fetches the event the first attempt made: a retry never makes a second event.
- ``notify`` → ``sendUpdates=all|none``; ``conferenceDataVersion=1`` on every write, so a
  conference without URL asks Google for a Meet link.
- Expanded lists use ``singleEvents=true``; occurrence ids are Google's instance ids, which
  PATCH and DELETE accept as they are. Series-level lists read cancelled occurrences (listed
  bare by Google) as EXDATEs of their series.
- A Meet Google is still making (``pending``) is read again until it is done, for at most half
  of the call's deadline; after that the event answers with an empty URL, which a later read
  fills.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import logging
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import anyio
import httpx

from calgate.domain import cursor, rules, zones
from calgate.domain import recurrence as rrules
from calgate.domain.filters import EVENT_TYPES, matches
from calgate.domain.model import Calendar, Event, EventFields, EventQuery, Page, text_on
from calgate.domain.rsvp import NotApplicable, Response
from calgate.errors import (
    CalgateError,
    Conflict,
    InvalidParameters,
    NotFound,
)
from calgate.providers.base import AccountContext, Capabilities, Change, Effects, no_effects
from calgate.providers.google_conference import meet_pending
from calgate.providers.google_map import (
    PALETTE,
    answered_attendees,
    from_google,
    patch_to_google,
    readable,
    series_level,
    to_google,
)
from calgate.providers.http import Deadline, Policy, send
from calgate.providers.oauth import OAuthApp
from calgate.providers.remote import OAuthProvider, Profile, decode_cursor, encode_cursor
from calgate.services.accounts import AccountService
from calgate.settings import Settings
from calgate.store.codec import dt_to_us
from calgate.store.db import Database
from calgate.store.ids import new_id

log = logging.getLogger("calgate.providers.google")

_BASE32HEX = re.compile(r"[a-v0-9]{5,1024}")
_WRITE = {"conferenceDataVersion": "1"}
# Pages of 2500 events read for one series-level list (sorted by start in calgate).
MAX_LIST_PAGES = 8
# Waits between two reads of an event whose Meet is pending (seconds, the last one repeats).
MEET_POLL = (0.2, 0.4, 0.8, 1.6)


def _rfc3339(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def google_app(settings: Settings) -> OAuthApp:
    secret = settings.google_client_secret
    return OAuthApp(
        provider="Google",
        auth_url=settings.google_auth_url,
        token_url=settings.google_token_url,
        client_id=settings.google_client_id,
        client_secret=secret.get_secret_value() if secret else None,
        scopes=tuple(settings.google_scopes.split()),
        # offline access gives a refresh token; consent makes Google give it every time
        auth_params={"access_type": "offline", "prompt": "consent"},
    )


def calendar_from_google(item: Mapping[str, Any], account_id: str) -> Calendar:
    role = str(item.get("accessRole") or "reader")
    try:
        tz = zones.canonical(str(item.get("timeZone") or "UTC"))
    except KeyError:
        tz = "UTC"
    primary = bool(item.get("primary", False))
    return Calendar(
        id=str(item["id"]),
        account_id=account_id,
        name=str(item.get("summaryOverride") or item.get("summary") or item["id"]),
        description=str(item.get("description") or ""),
        is_read_only=role not in ("owner", "writer"),
        is_owned_by_user=role == "owner",
        is_default=primary,
        is_primary=primary,
        access_role=role,
        background_color=str(item.get("backgroundColor") or "#1A73E8").upper(),
        foreground_color=str(item.get("foregroundColor") or "#FFFFFF").upper(),
        timezone=tz,
        version=str(item.get("etag") or "1").strip('"'),
    )


def google_event_id(event_id: str) -> str:
    """calgate's id as a Google event id (base32hex); calgate's ids already are."""
    if _BASE32HEX.fullmatch(event_id):
        return event_id
    return event_id.encode().hex()


def _colors(changes: Mapping[str, Any]) -> dict[str, str]:
    """A calendar list entry's colours for ``background_color`` (text black or white)."""
    color = changes.get("background_color")
    if not color:
        return {}
    return {"backgroundColor": str(color), "foregroundColor": text_on(str(color))}


def _sent(fields: EventFields) -> Any:
    return "sent" if fields.notify and fields.attendees else "none"


class GoogleProvider(OAuthProvider):
    kind = "GOOGLE_OAUTH"
    label = "Google"
    capabilities = Capabilities(
        colors="palette",
        palette=tuple(PALETTE),
        conference_create=frozenset({"google_meet"}),
        conference_links=frozenset({"unknown"}),  # from calgate's meeting service, if set
        recurrence="rfc5545",
        invitations="provider",
        hidden_attendees=True,
        guests_can_modify=True,
        calendar_management=True,
        event_types=frozenset(EVENT_TYPES),
        calendar_ids="provider",  # calendars.insert takes no id from the client
    )

    def __init__(
        self,
        settings: Settings,
        db: Database,
        accounts: AccountService,
        http: httpx.AsyncClient,
        policy: Policy,
    ) -> None:
        super().__init__(db, accounts, http, google_app(settings), policy)
        self.base = settings.google_api_url.rstrip("/") + "/calendar/v3"

    def _calendar_url(self, calendar_id: str) -> str:
        return f"{self.base}/users/me/calendarList/{quote(calendar_id, safe='')}"

    def _events_url(self, calendar_id: str, event_id: str | None = None) -> str:
        url = f"{self.base}/calendars/{quote(calendar_id, safe='')}/events"
        return url if event_id is None else f"{url}/{quote(event_id, safe='')}"

    @staticmethod
    def _tz(account: AccountContext) -> str:
        return str(account.params.get("timezone") or "UTC")

    # connecting -----------------------------------------------------------------------------

    async def profile(self, access_token: str, deadline: Deadline) -> Profile:
        response = await send(
            self.http,
            "GET",
            self._calendar_url("primary"),
            policy=self.policy,
            provider=self.label,
            safe=True,
            what="primary calendar",
            deadline=deadline,
            headers={"Authorization": f"Bearer {access_token}"},
        )
        item = response.json()
        calendar = calendar_from_google(item, "")
        return Profile(email=calendar.id, name=calendar.id, timezone=calendar.timezone)

    # calendars ------------------------------------------------------------------------------

    async def list_calendars(self, account: AccountContext) -> list[Calendar]:
        deadline = self.deadline()
        found: list[Calendar] = []
        params = {"maxResults": "250"}
        for _ in range(40):  # 10,000 calendars
            response = await self.call(
                account,
                "GET",
                f"{self.base}/users/me/calendarList",
                safe=True,
                what="calendar list",
                deadline=deadline,
                params=params,
            )
            data = response.json()
            found += [calendar_from_google(i, account.id) for i in data.get("items") or ()]
            token = data.get("nextPageToken")
            if not token:
                break
            params = {"maxResults": "250", "pageToken": str(token)}
        return found

    async def get_calendar(self, account: AccountContext, calendar_id: str) -> Calendar:
        response = await self.call(
            account,
            "GET",
            self._calendar_url(calendar_id),
            safe=True,
            what="calendar",
            expect=(404,),
        )
        if response.status_code == 404:
            raise NotFound(f"calendar {calendar_id!r} not found for this account")
        return calendar_from_google(response.json(), account.id)

    async def _set_calendar(
        self, account: AccountContext, calendar_id: str, changes: Mapping[str, Any]
    ) -> Calendar:
        """``calendars.patch`` for the calendar's own properties, then ``calendarList.patch``
        for the colour (the user's view of it, hex with ``colorRgbFormat=true``)."""
        deadline = self.deadline()
        own = {
            google: changes[name]
            for name, google in (("name", "summary"), ("description", "description"))
            if name in changes
        }
        if "timezone" in changes:
            own["timeZone"] = changes["timezone"]
        url = f"{self.base}/calendars/{quote(calendar_id, safe='')}"
        for method, target, body, params in (
            ("PATCH", url, own, {}),
            (
                "PATCH",
                self._calendar_url(calendar_id),
                _colors(changes),
                {"colorRgbFormat": "true"},
            ),
        ):
            if not body:
                continue
            response = await self.call(
                account,
                method,
                target,
                safe=True,
                what="change calendar",
                deadline=deadline,
                params=params,
                json=body,
                expect=(404,),
            )
            if response.status_code == 404:
                raise NotFound(f"calendar {calendar_id!r} not found for this account")
        return await self.get_calendar(account, calendar_id)

    async def create_calendar(self, account: AccountContext, calendar: Calendar) -> Calendar:
        """``calendars.insert`` (a secondary calendar the account owns), then its colour."""
        body = {"summary": calendar.name, "timeZone": calendar.timezone}
        if calendar.description:
            body["description"] = calendar.description
        response = await self.call(
            account,
            "POST",
            f"{self.base}/calendars",
            safe=False,
            what="create calendar",
            json=body,
        )
        made = str(response.json()["id"])
        return await self._set_calendar(
            account, made, {"background_color": calendar.background_color}
        )

    async def update_calendar(
        self, account: AccountContext, calendar_id: str, changes: Mapping[str, Any]
    ) -> Calendar:
        return await self._set_calendar(account, calendar_id, changes)

    async def delete_calendar(self, account: AccountContext, calendar_id: str) -> None:
        """``calendars.delete`` (secondary calendars; a retry finding it gone is done)."""
        await self.call(
            account,
            "DELETE",
            f"{self.base}/calendars/{quote(calendar_id, safe='')}",
            safe=True,
            what="delete calendar",
            expect=(404, 410),
        )

    # events ---------------------------------------------------------------------------------

    async def _fetch(
        self, account: AccountContext, calendar_id: str, event_id: str, deadline: Deadline
    ) -> dict[str, Any]:
        response = await self.call(
            account,
            "GET",
            self._events_url(calendar_id, event_id),
            safe=True,
            what="event",
            deadline=deadline,
            expect=(404, 410),
        )
        item: dict[str, Any] = response.json() if response.status_code == 200 else {}
        if not item or item.get("status") == "cancelled":
            raise NotFound(f"event {event_id!r} not found in calendar {calendar_id!r}")
        return item

    async def create_event(
        self,
        account: AccountContext,
        calendar_id: str,
        fields: EventFields,
        *,
        event_id: str,
        effects: Effects = no_effects,
    ) -> Event:
        deadline = self.deadline()
        google_id = google_event_id(event_id)
        body = {"id": google_id, **to_google(fields, request_id=event_id)}
        params = {**_WRITE, "sendUpdates": "all" if fields.notify else "none"}
        response = await self.call(
            account,
            "POST",
            self._events_url(calendar_id),
            safe=True,  # the id is ours: a repeated insert answers 409, never a second event
            what="create event",
            deadline=deadline,
            params=params,
            json=body,
            expect=(404, 409),
        )
        if response.status_code == 404:
            raise NotFound(f"calendar {calendar_id!r} not found for this account")
        if response.status_code == 409:
            # An earlier attempt of this very call made it (the answer was lost): fetch it.
            item = await self._fetch(account, calendar_id, google_id, deadline)
        else:
            item = response.json()
        item = await self._meet_made(account, calendar_id, item, deadline)
        event = dataclasses.replace(
            from_google(item, calendar_id, self._tz(account)), notifications=_sent(fields)
        )
        await self.record(effects, Change("created", account, calendar_id, event))
        return event

    async def _meet_made(
        self,
        account: AccountContext,
        calendar_id: str,
        item: dict[str, Any],
        deadline: Deadline,
    ) -> dict[str, Any]:
        """The event once Google has made its Meet ("The data is generated asynchronously"),
        read again while half of the deadline is left; as it is when time runs out."""
        for wait in itertools.chain(MEET_POLL, itertools.repeat(MEET_POLL[-1])):
            if not meet_pending(item) or deadline.left() - wait < deadline.seconds / 2:
                break
            await anyio.sleep(wait)
            item = await self._fetch(account, calendar_id, str(item["id"]), deadline)
        return item

    async def get_event(self, account: AccountContext, calendar_id: str, event_id: str) -> Event:
        deadline = self.deadline()
        item = await self._fetch(account, calendar_id, event_id, deadline)
        tz = self._tz(account)
        if not item.get("recurrence") or not item.get("iCalUID"):
            return from_google(item, calendar_id, tz)
        # An occurrence deleted in Google is a cancelled exception, not an EXDATE of the series:
        # the series-level list of its iCalUID holds them (one more call per series read).
        params = {"iCalUID": str(item["iCalUID"]), "maxResults": "2500"}
        items, _, _ = await self._page(account, calendar_id, params, deadline)
        others = [i for i in items if i.get("id") != item["id"]]
        return series_level([item, *others], calendar_id, tz)[0]

    async def list_events(
        self, account: AccountContext, calendar_id: str, query: EventQuery
    ) -> Page[Event]:
        params: dict[str, str] = {}
        if query.start is not None:
            params["timeMin"] = _rfc3339(query.start)
        if query.end is not None:
            params["timeMax"] = _rfc3339(query.end)
        if query.updated_after is not None:
            params["updatedMin"] = _rfc3339(query.updated_after)
        if query.ical_uid is not None:
            params["iCalUID"] = query.ical_uid
        if query.is_cancelled:
            params["showDeleted"] = "true"
        if query.expand_recurring:
            return await self._expanded(account, calendar_id, query, params)
        # Google orders a series-level list by nothing useful: read the window, sort by start.
        after = cursor.decode(query.cursor) if query.cursor else None
        deadline = self.deadline()
        items: list[dict[str, Any]] = []
        tz, token = self._tz(account), None
        for _ in range(MAX_LIST_PAGES):
            page = {**params, "maxResults": "2500", **({"pageToken": token} if token else {})}
            got, tz, token = await self._page(account, calendar_id, page, deadline)
            items += got
            if token is None:
                break
        else:
            raise InvalidParameters(
                f"start, end: more than {MAX_LIST_PAGES * 2500} events; narrow the window"
            )
        # Cancelled occurrences come as bare items of their own, maybe on another page than
        # their series: read them once every page is in.
        found = [e for e in series_level(items, calendar_id, tz) if matches(e, query)]
        keyed = sorted(((dt_to_us(e.fields.start.utc), e.id), e) for e in found)
        if after is not None:
            keyed = [(k, e) for k, e in keyed if k > after]
        shown = keyed[: query.limit]
        more = len(keyed) > query.limit
        return Page([e for _, e in shown], cursor.encode(*shown[-1][0]) if more and shown else None)

    async def _expanded(
        self,
        account: AccountContext,
        calendar_id: str,
        query: EventQuery,
        params: dict[str, str],
    ) -> Page[Event]:
        """One page of Google's own expansion (``singleEvents``), ordered by start."""
        params |= {
            "singleEvents": "true",
            "orderBy": "startTime",
            "maxResults": str(min(query.limit, 2500)),
        }
        if query.cursor:
            token = decode_cursor(query.cursor).get("p")
            if not token:
                raise InvalidParameters("cursor: not a cursor of this calendar's events")
            params["pageToken"] = token
        items, tz, next_token = await self._page(account, calendar_id, params, self.deadline())
        # A cancelled occurrence listed bare (only ids) cannot be shown: it is left out.
        events = [from_google(i, calendar_id, tz) for i in items if readable(i)]
        return Page(
            [e for e in events if matches(e, query)],
            encode_cursor({"p": next_token}) if next_token else None,
        )

    async def _page(
        self,
        account: AccountContext,
        calendar_id: str,
        params: dict[str, str],
        deadline: Deadline,
    ) -> tuple[list[dict[str, Any]], str, str | None]:
        """One page of ``events.list``: its items as Google sent them, the calendar's time zone
        and the next page's token."""
        response = await self.call(
            account,
            "GET",
            self._events_url(calendar_id),
            safe=True,
            what="event list",
            deadline=deadline,
            params=params,
            expect=(404,),
        )
        if response.status_code == 404:
            raise NotFound(f"calendar {calendar_id!r} not found for this account")
        data = response.json()
        token = data.get("nextPageToken")
        tz = str(data.get("timeZone") or self._tz(account))
        return list(data.get("items") or ()), tz, str(token) if token else None

    async def update_event(
        self,
        account: AccountContext,
        calendar_id: str,
        event_id: str,
        changes: Mapping[str, Any],
        *,
        effects: Effects = no_effects,
    ) -> Event:
        deadline = self.deadline()
        item = await self._fetch(account, calendar_id, event_id, deadline)
        current = from_google(item, calendar_id, self._tz(account))
        fields, given = rules.apply_patch(current, changes)
        expected = changes.get("_version")
        body = patch_to_google(fields, set(given), request_id=new_id(), current=item)
        headers = {"If-Match": str(item["etag"])} if expected is not None else {}
        response = await self.call(
            account,
            "PATCH",
            self._events_url(calendar_id, event_id),
            safe=True,  # the same patch twice leaves the same event
            what="update event",
            deadline=deadline,
            params={**_WRITE, "sendUpdates": "all" if given.get("notify") else "none"},
            json=body,
            headers=headers,
            expect=(404, 410, 412),
        )
        if response.status_code == 412:
            raise Conflict(f"event {event_id!r} was changed concurrently: read it again")
        if response.status_code != 200:
            raise NotFound(f"event {event_id!r} not found in calendar {calendar_id!r}")
        item = await self._meet_made(account, calendar_id, response.json(), deadline)
        updated = dataclasses.replace(
            from_google(item, calendar_id, self._tz(account)),
            notifications=_sent(dataclasses.replace(fields, notify=bool(given.get("notify")))),
        )
        change = Change("updated", account, calendar_id, updated, current, frozenset(given))
        await self.record(effects, change)
        return updated

    @staticmethod
    def _invited(item: Mapping[str, Any]) -> bool:
        """Whether deleting ``item`` must tell its guests: the account organizes it and it has
        guests. Google puts an event on its guests' calendars even when no mail was sent
        (``sendUpdates=none``), so a deletion not sent to them would leave it there."""
        organizer = item.get("organizer") or {}
        guests = [a for a in item.get("attendees") or () if not a.get("self")]
        return bool(guests) and bool(organizer.get("self", not organizer))

    async def delete_event(
        self,
        account: AccountContext,
        calendar_id: str,
        event_id: str,
        *,
        effects: Effects = no_effects,
    ) -> Event:
        deadline = self.deadline()
        item = await self._fetch(account, calendar_id, event_id, deadline)
        current = from_google(item, calendar_id, self._tz(account))
        told = self._invited(item)
        # 404/410 on a retry: an earlier attempt (or someone else) deleted it; it is gone.
        await self.call(
            account,
            "DELETE",
            self._events_url(calendar_id, event_id),
            safe=True,
            what="delete event",
            deadline=deadline,
            params={"sendUpdates": "all" if told else "none"},
            expect=(404, 410),
        )
        if current.master_event_id and current.recurrence_id is not None:
            await self._note_exdate(account, calendar_id, current, deadline)
        deleted = dataclasses.replace(current, is_cancelled=True)
        await self.record(effects, Change("deleted", account, calendar_id, deleted))
        return deleted

    async def respond(
        self,
        account: AccountContext,
        calendar_id: str,
        event_id: str,
        response: Response,
        *,
        effects: Effects = no_effects,
    ) -> Event:
        """The account's own attendee ``responseStatus`` (and ``comment``); Google tells the
        organizer (``sendUpdates=all``)."""
        if response.attendee:
            raise NotApplicable("Google reads attendees' replies itself")
        deadline = self.deadline()
        item = await self._fetch(account, calendar_id, event_id, deadline)
        current = from_google(item, calendar_id, self._tz(account))
        answer = await self.call(
            account,
            "PATCH",
            self._events_url(calendar_id, event_id),
            safe=True,
            what="answer the invitation",
            deadline=deadline,
            params={"sendUpdates": "all"},
            json={"attendees": answered_attendees(item, response)},
            expect=(404, 410),
        )
        if answer.status_code != 200:
            raise NotFound(f"event {event_id!r} not found in calendar {calendar_id!r}")
        updated = from_google(answer.json(), calendar_id, self._tz(account))
        changed = frozenset({"attendees"})
        await self.record(
            effects, Change("updated", account, calendar_id, updated, current, changed)
        )
        return updated

    async def _note_exdate(
        self, account: AccountContext, calendar_id: str, occurrence: Event, deadline: Deadline
    ) -> None:
        """Add an EXDATE for a deleted occurrence to its series' recurrence, so the series
        reads back as on other providers. Best effort: the occurrence is deleted already."""
        assert occurrence.recurrence_id is not None
        try:
            item = await self._fetch(account, calendar_id, occurrence.master_event_id, deadline)
            master = from_google(item, calendar_id, self._tz(account))
            if not master.fields.recurrence:
                return
            lines = rrules.add_exdate(
                master.fields.recurrence, master.fields.start, occurrence.recurrence_id
            )
            if tuple(lines) == master.fields.recurrence:
                return
            await self.call(
                account,
                "PATCH",
                self._events_url(calendar_id, master.id),
                safe=True,
                what="note the deleted occurrence",
                deadline=deadline,
                params={"sendUpdates": "none"},
                json={"recurrence": list(lines)},
            )
        except CalgateError as exc:
            log.info("Google: could not note a deleted occurrence on its series: %s", exc)
