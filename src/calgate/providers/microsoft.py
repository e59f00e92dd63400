"""OUTLOOK: Microsoft Graph calendars behind the provider seam.

- Every create carries ``transactionId`` = calgate's event id: Graph answers a retried POST
  with the event the first attempt made, so a retry never makes a second event; the id reused
  for another event (``ErrorDuplicateTransactionId``) is a 409.
- ``$expand``/``$select`` are sent on reads only (Graph documents neither for event writes): a
  write whose answer lacks the property calgate keeps is read back once, where it matters.
- Teams meetings: made only where the calendar's ``allowedOnlineMeetingProviders`` holds
  ``teamsForBusiness`` (501 before any write otherwise; capabilities say so per account), and
  never removed or replaced, as Outlook keeps them once made (501).
- Recurrence goes through :mod:`calgate.domain.graph_recurrence` (501 before any call for what
  Outlook cannot hold); EXDATEs become deletions of the matching instances after the write.
- Invitations are Exchange's: with attendees it always sends them (``notify`` is forced).
- Times are read in UTC (``Prefer: outlook.timezone="UTC"``) and shown in the zone calgate
  kept, or Outlook's own; bodies as text (``outlook.body-content-type="text"``).
- At most 4 calls at once per mailbox (Graph's limit); more wait their turn.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Collection, Mapping
from typing import Any
from urllib.parse import quote

import anyio
import httpx

from calgate.domain import rules
from calgate.domain.filters import matches
from calgate.domain.model import Calendar, Event, EventFields, EventQuery, Page
from calgate.domain.rsvp import NotApplicable, Response
from calgate.errors import (
    CalgateError,
    Conflict,
    FeatureNotImplemented,
    InvalidParameters,
    NotFound,
)
from calgate.providers import microsoft_series as series
from calgate.providers.base import AccountContext, Capabilities, Change, Effects, no_effects
from calgate.providers.http import Deadline, Policy, error_for, error_reasons, send
from calgate.providers.microsoft_map import (
    EXPAND,
    Kept,
    check_meeting_kept,
    from_graph_event,
    patch_to_graph,
    recurrence_of,
    to_graph_event,
)
from calgate.providers.oauth import OAuthApp
from calgate.providers.remote import OAuthProvider, Profile, decode_cursor
from calgate.services.accounts import AccountService
from calgate.settings import Settings
from calgate.store.db import Database

log = logging.getLogger("calgate.providers.microsoft")

PREFER = 'outlook.timezone="UTC", outlook.body-content-type="text"'
MAILBOX_CONCURRENCY = 4
TEAMS = "teamsForBusiness"


def microsoft_app(settings: Settings) -> OAuthApp:
    secret = settings.microsoft_client_secret
    base = f"{settings.microsoft_login_url.rstrip('/')}/{settings.microsoft_tenant}/oauth2/v2.0"
    return OAuthApp(
        provider="Microsoft",
        auth_url=f"{base}/authorize",
        token_url=f"{base}/token",
        client_id=settings.microsoft_client_id,
        client_secret=secret.get_secret_value() if secret else None,
        scopes=tuple(settings.microsoft_scopes.split()),
        auth_params={"response_mode": "query", "prompt": "select_account"},
        token_scope=True,
    )


def calendar_from_graph(item: Mapping[str, Any], account: AccountContext) -> Calendar:
    owner = str((item.get("owner") or {}).get("address") or "")
    owned = not owner or owner.lower() == account.email.lower()
    can_edit = bool(item.get("canEdit", True))
    color = str(item.get("hexColor") or "") or "#1A73E8"
    return Calendar(
        id=str(item["id"]),
        account_id=account.id,
        name=str(item.get("name") or ""),
        is_read_only=not can_edit,
        is_owned_by_user=owned,
        is_default=bool(item.get("isDefaultCalendar", False)),
        is_primary=bool(item.get("isDefaultCalendar", False)),
        access_role="owner" if owned else ("writer" if can_edit else "reader"),
        background_color=color.upper(),
        timezone=str(account.params.get("timezone") or "UTC"),
        version=str(item.get("changeKey") or "1"),
    )


class MicrosoftProvider(OAuthProvider):
    kind = "OUTLOOK"
    label = "Outlook"
    capabilities = Capabilities(
        colors="stored",
        conference_create=frozenset({"teams"}),
        conference_links=frozenset({"unknown"}),  # from calgate's meeting service, if set
        recurrence="graph",
        invitations="forced",
        hidden_attendees=True,
        guests_can_modify=False,
        calendar_management=True,
        calendar_fields=frozenset({"name"}),  # Graph calendars: no description nor time zone
        event_types=frozenset({"default", "outOfOffice"}),  # showAs "oof": outOfOffice
        calendar_ids="provider",  # POST /me/calendars takes no id nor transactionId
    )

    def __init__(
        self,
        settings: Settings,
        db: Database,
        accounts: AccountService,
        http: httpx.AsyncClient,
        policy: Policy,
    ) -> None:
        super().__init__(db, accounts, http, microsoft_app(settings), policy)
        self.base = settings.graph_api_url.rstrip("/") + "/v1.0/me"
        self._mailboxes: dict[str, anyio.Semaphore] = {}

    def _calendar_url(self, calendar_id: str) -> str:
        return f"{self.base}/calendars/{quote(calendar_id, safe='')}"

    def events_url(self, calendar_id: str, event_id: str | None = None) -> str:
        url = f"{self._calendar_url(calendar_id)}/events"
        return url if event_id is None else f"{url}/{quote(event_id, safe='')}"

    @staticmethod
    def tz(account: AccountContext) -> str:
        return str(account.params.get("timezone") or "UTC")

    async def call(
        self,
        account: AccountContext,
        method: str,
        url: str,
        *,
        safe: bool,
        what: str,
        deadline: Deadline | None = None,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        expect: Collection[int] = (),
    ) -> httpx.Response:
        gate = self._mailboxes.get(account.id)
        if gate is None:
            if len(self._mailboxes) > 10_000:
                self._mailboxes = {
                    k: v for k, v in self._mailboxes.items() if v.value < MAILBOX_CONCURRENCY
                }
            gate = self._mailboxes[account.id] = anyio.Semaphore(MAILBOX_CONCURRENCY)
        deadline = deadline or self.deadline()
        with anyio.move_on_after(max(0.0, deadline.left())) as waited:
            await gate.acquire()
        if waited.cancelled_caught:
            raise _busy(deadline)
        try:
            return await super().call(
                account,
                method,
                url,
                safe=safe,
                what=what,
                deadline=deadline,
                params=params,
                json=json,
                headers={"Prefer": PREFER, **(headers or {})},
                expect=expect,
            )
        finally:
            gate.release()

    # connecting -----------------------------------------------------------------------------

    async def profile(self, access_token: str, deadline: Deadline) -> Profile:
        async def read(path: str, what: str) -> Any:
            response = await send(
                self.http,
                "GET",
                self.base + path,
                policy=self.policy,
                provider=self.label,
                safe=True,
                what=what,
                deadline=deadline,
                headers={"Authorization": f"Bearer {access_token}"},
            )
            return response.json()

        me = await read("", "user profile")
        email = str(me.get("mail") or me.get("userPrincipalName") or "")
        calendar = await read("/calendar", "default calendar")
        # A personal account or a tenant without Teams: no Teams meetings for this account.
        teams = TEAMS in (calendar.get("allowedOnlineMeetingProviders") or ())
        return Profile(
            email=email,
            name=str(me.get("displayName") or email),
            capabilities={} if teams else {"conference_create": []},
        )

    # calendars ------------------------------------------------------------------------------

    async def list_calendars(self, account: AccountContext) -> list[Calendar]:
        deadline = self.deadline()
        found: list[Calendar] = []
        params: dict[str, str] = {"$top": "100"}
        for _ in range(100):
            response = await self.call(
                account,
                "GET",
                f"{self.base}/calendars",
                safe=True,
                what="calendar list",
                deadline=deadline,
                params=params,
            )
            data = response.json()
            found += [calendar_from_graph(i, account) for i in data.get("value") or ()]
            cursor = series.page_cursor(data)
            if cursor is None:
                break
            params = {"$top": "100", **decode_cursor(cursor)}
        return found

    async def _calendar(
        self, account: AccountContext, calendar_id: str, deadline: Deadline | None = None
    ) -> dict[str, Any]:
        response = await self.call(
            account,
            "GET",
            self._calendar_url(calendar_id),
            safe=True,
            what="calendar",
            deadline=deadline,
            expect=(400, 404),
        )
        if response.status_code != 200:
            raise NotFound(f"calendar {calendar_id!r} not found for this account")
        item: dict[str, Any] = response.json()
        return item

    async def get_calendar(self, account: AccountContext, calendar_id: str) -> Calendar:
        return calendar_from_graph(await self._calendar(account, calendar_id), account)

    async def create_calendar(self, account: AccountContext, calendar: Calendar) -> Calendar:
        """``POST /me/calendars`` (Graph calendars hold a name; colours are Outlook presets
        and ``hexColor`` is read-only, so calgate sets no colour)."""
        response = await self.call(
            account,
            "POST",
            f"{self.base}/calendars",
            safe=False,
            what="create calendar",
            json={"name": calendar.name},
        )
        return calendar_from_graph(response.json(), account)

    async def update_calendar(
        self, account: AccountContext, calendar_id: str, changes: Mapping[str, Any]
    ) -> Calendar:
        response = await self.call(
            account,
            "PATCH",
            self._calendar_url(calendar_id),
            safe=True,
            what="change calendar",
            json={"name": changes["name"]},
            expect=(404,),
        )
        if response.status_code == 404:
            raise NotFound(f"calendar {calendar_id!r} not found for this account")
        return calendar_from_graph(response.json(), account)

    async def delete_calendar(self, account: AccountContext, calendar_id: str) -> None:
        await self.call(
            account,
            "DELETE",
            self._calendar_url(calendar_id),
            safe=True,
            what="delete calendar",
            expect=(404,),
        )

    async def require_teams(
        self, account: AccountContext, calendar_id: str, deadline: Deadline
    ) -> None:
        """501 unless the calendar may hold Teams meetings (its
        ``allowedOnlineMeetingProviders``): Graph would make the event without one."""
        calendar = await self._calendar(account, calendar_id, deadline)
        if TEAMS not in (calendar.get("allowedOnlineMeetingProviders") or ()):
            raise FeatureNotImplemented(
                f"conference: Outlook calendar {calendar_id!r} cannot hold Teams meetings (its "
                f"allowedOnlineMeetingProviders lack {TEAMS}: a personal account or a tenant "
                "without Teams); give conference.url with an existing meeting link"
            )

    async def written(
        self,
        account: AccountContext,
        calendar_id: str,
        item: dict[str, Any],
        kept: Kept,
        deadline: Deadline,
    ) -> Event:
        """The event a write answered. Graph documents no ``$expand`` on writes, so the answer
        lacks the property calgate keeps: where that property changes how the event reads, it
        is read back once. The write is done whatever the read gives: if it fails, the event
        reads with the property as written."""
        tz = self.tz(account)
        event = from_graph_event(item, calendar_id, tz)
        if "singleValueExtendedProperties" in item:
            return event
        assumed = from_graph_event(
            {**item, "singleValueExtendedProperties": kept.property()}, calendar_id, tz
        )
        if assumed == event:
            return event
        try:
            fresh = await self.fetch(account, calendar_id, str(item["id"]), deadline)
        except CalgateError as exc:
            log.info("Outlook: could not read back a written event: %s", exc)
            return assumed
        return from_graph_event(fresh, calendar_id, tz)

    # events ---------------------------------------------------------------------------------

    async def fetch(
        self, account: AccountContext, calendar_id: str, event_id: str, deadline: Deadline
    ) -> dict[str, Any]:
        response = await self.call(
            account,
            "GET",
            self.events_url(calendar_id, event_id),
            safe=True,
            what="event",
            deadline=deadline,
            params={"$expand": EXPAND},
            expect=(400, 404),
        )
        if response.status_code != 200:
            raise NotFound(f"event {event_id!r} not found in calendar {calendar_id!r}")
        item: dict[str, Any] = response.json()
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
        pattern = recurrence_of(fields)  # 501 before any call for what Outlook cannot hold
        deadline = self.deadline()
        if fields.conference is not None and not fields.conference.url:
            await self.require_teams(account, calendar_id, deadline)
        body = {**to_graph_event(fields, pattern), "transactionId": event_id}
        response = await self.call(
            account,
            "POST",
            self.events_url(calendar_id),
            safe=True,  # transactionId: a repeated POST answers the event the first one made
            what="create event",
            deadline=deadline,
            json=body,
            expect=(400, 404, 409),
        )
        if response.status_code == 404:
            raise NotFound(f"calendar {calendar_id!r} not found for this account")
        if response.status_code not in (200, 201):
            raise _create_error(response, event_id)
        event = await self.written(account, calendar_id, response.json(), Kept.of(fields), deadline)
        if pattern is not None:
            await series.remove_instances(
                self, account, calendar_id, event, pattern.exdates, deadline
            )
        await self.record(effects, Change("created", account, calendar_id, event))
        return event

    async def get_event(self, account: AccountContext, calendar_id: str, event_id: str) -> Event:
        item = await series.locate(self, account, calendar_id, event_id, self.deadline())
        return from_graph_event(item, calendar_id, self.tz(account))

    async def list_events(
        self, account: AccountContext, calendar_id: str, query: EventQuery
    ) -> Page[Event]:
        params: dict[str, str] = {"$top": str(query.limit), "$expand": EXPAND}
        if query.expand_recurring:
            if query.start is None or query.end is None:
                raise InvalidParameters(
                    "start, end: Outlook expands series only within a window; give both"
                )
            url = f"{self._calendar_url(calendar_id)}/calendarView"
            params["startDateTime"] = query.start.isoformat()
            params["endDateTime"] = query.end.isoformat()
        else:
            url = self.events_url(calendar_id)
            params["$orderby"] = "start/dateTime"
        if query.cursor:
            params.update(decode_cursor(query.cursor))
        response = await self.call(
            account, "GET", url, safe=True, what="event list", params=params, expect=(400, 404)
        )
        if response.status_code != 200:
            raise NotFound(f"calendar {calendar_id!r} not found for this account")
        data = response.json()
        tz = self.tz(account)
        events = [from_graph_event(item, calendar_id, tz) for item in data.get("value") or ()]
        window = not query.expand_recurring
        kept = [
            e for e in events if matches(e, query, window=window) and series.in_window(e, query)
        ]
        return Page(kept, series.page_cursor(data))

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
        item = await series.locate(self, account, calendar_id, event_id, deadline)
        current = from_graph_event(item, calendar_id, self.tz(account))
        fields, given = rules.apply_patch(current, changes)
        expected = changes.get("_version")
        pattern = recurrence_of(fields)  # 501 before the change for what Outlook cannot hold
        changed = set(given)
        if "conference" in changed and check_meeting_kept(item, fields.conference):
            changed.discard("conference")  # the meeting Outlook holds stays as it is
        elif "conference" in changed and fields.conference and not fields.conference.url:
            await self.require_teams(account, calendar_id, deadline)
        body = patch_to_graph(fields, changed, pattern)
        headers = {"If-Match": str(item["@odata.etag"])} if expected is not None else {}
        response = await self.call(
            account,
            "PATCH",
            self.events_url(calendar_id, str(item["id"])),
            safe=True,
            what="update event",
            deadline=deadline,
            json=body,
            headers=headers,
            expect=(404, 412),
        )
        if response.status_code == 412:
            raise Conflict(f"event {event_id!r} was changed concurrently: read it again")
        if response.status_code != 200:
            raise NotFound(f"event {event_id!r} not found in calendar {calendar_id!r}")
        kept = Kept.of(fields)
        updated = await self.written(account, calendar_id, response.json(), kept, deadline)
        if pattern is not None and {"recurrence", "start", "end"} & set(given):
            await series.remove_instances(
                self, account, calendar_id, updated, pattern.exdates, deadline
            )
        change = Change("updated", account, calendar_id, updated, current, frozenset(given))
        await self.record(effects, change)
        return updated

    async def delete_event(
        self,
        account: AccountContext,
        calendar_id: str,
        event_id: str,
        *,
        effects: Effects = no_effects,
    ) -> Event:
        deadline = self.deadline()
        item = await series.locate(self, account, calendar_id, event_id, deadline)
        current = from_graph_event(item, calendar_id, self.tz(account))
        await self.call(
            account,
            "DELETE",
            self.events_url(calendar_id, str(item["id"])),
            safe=True,  # 404 on a retry: the first attempt deleted it
            what="delete event",
            deadline=deadline,
            expect=(404,),
        )
        if current.master_event_id and current.recurrence_id is not None:
            await series.note_exdate(self, account, calendar_id, current, deadline)
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
        """``accept`` / ``tentativelyAccept`` / ``decline`` with the comment; Exchange sends
        the answer to the organizer (``sendResponse``)."""
        if response.attendee:
            raise NotApplicable("Exchange reads attendees' replies itself")
        deadline = self.deadline()
        item = await series.locate(self, account, calendar_id, event_id, deadline)
        current = from_graph_event(item, calendar_id, self.tz(account))
        if item.get("isOrganizer"):
            raise NotApplicable(
                "the account organises this event; an organizer does not answer its own invitation"
            )
        action = _ACTIONS[response.status]
        answer = await self.call(
            account,
            "POST",
            f"{self.events_url(calendar_id, str(item['id']))}/{action}",
            safe=True,  # the same answer twice leaves the same event
            what=f"answer the invitation ({action})",
            deadline=deadline,
            json={"comment": response.comment, "sendResponse": True},
            expect=(404,),
        )
        if answer.status_code == 404:
            raise NotFound(f"event {event_id!r} not found in calendar {calendar_id!r}")
        fresh = await series.locate(self, account, calendar_id, event_id, deadline)
        updated = from_graph_event(fresh, calendar_id, self.tz(account))
        changed = frozenset({"attendees"})
        await self.record(
            effects, Change("updated", account, calendar_id, updated, current, changed)
        )
        return updated


_ACTIONS = {"yes": "accept", "maybe": "tentativelyAccept", "no": "decline"}


def _create_error(response: httpx.Response, event_id: str) -> CalgateError:
    if "ErrorDuplicateTransactionId" in error_reasons(response):
        return Conflict(
            f"transactionId: Outlook says the transactionId of this create ({event_id!r}, "
            "calgate's event id) was already used to create a different event "
            "(ErrorDuplicateTransactionId); nothing was created: send the create again"
        )
    return error_for(response, "Outlook", "create event")


def _busy(deadline: Deadline) -> CalgateError:
    return CalgateError(
        f"Outlook: the mailbox's calls did not finish within {deadline.seconds:g} s",
        type="errors/request_timeout",
    )
