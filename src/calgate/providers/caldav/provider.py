"""CALDAV and ICLOUD accounts: the provider seam over one CalDAV server per account.

Each operation is a handful of WebDAV calls sharing one deadline (:mod:`.transport`):

- create: ``PUT {calendar}/{event id}.ics`` with ``If-None-Match: *``; a 412 after a retried
  PUT means the first one landed (checked by its UID), so a retry never makes a second event;
- get: ``GET`` the resource; an occurrence id ``{event id}_{token}`` reads the series';
- list: ``REPORT calendar-query`` with the window, then :mod:`.listing`;
- patch: ``GET``, merge with :func:`calgate.domain.rules.merge`, ``PUT`` with ``If-Match`` (a
  412 is a 409 ``conflict``: someone changed the event in between);
- delete: ``DELETE`` with ``If-Match``; an occurrence gets an EXDATE on its series instead.

After each confirmed change, the ``effects`` hook runs in a transaction of its own.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import quote

import httpx

from calgate import offload
from calgate.cache import TTLCache
from calgate.domain import cursor, recurrence, rules
from calgate.domain.model import Calendar, Event, EventFields, EventQuery, Organizer, Page
from calgate.domain.rsvp import Response, answered
from calgate.errors import (
    CalgateError,
    Conflict,
    InvalidParameters,
    NotFound,
)
from calgate.providers.base import (
    AccountContext,
    Capabilities,
    Change,
    Effects,
    no_effects,
    record_change,
)
from calgate.providers.caldav import (
    collections,
    connecting,
    discovery,
    listing,
    reading,
    resources,
    xml,
)
from calgate.providers.caldav.discovery import DavCalendar
from calgate.providers.caldav.resources import Resource
from calgate.providers.caldav.transport import Answer, Credentials, Dav, is_big, read_apart
from calgate.providers.http import Policy, make_client
from calgate.services.accounts import AccountService
from calgate.settings import Settings
from calgate.store import accounts as account_store
from calgate.store.db import Database
from calgate.store.ids import new_id

# How long a discovered calendar list is trusted before an unknown id makes calgate look again.
CALENDARS_TTL: Final = 60.0
_TOKEN = re.compile(r"[0-9]{8}(T[0-9]{6}Z)?")
ICS: Final = {"Content-Type": "text/calendar; charset=utf-8"}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _calendar_gone(calendar_id: str) -> NotFound:
    return NotFound(f"calendar {calendar_id!r} not found for this account")


def _event_gone(event_id: str) -> NotFound:
    return NotFound(f"event {event_id!r} not found in this calendar")


def _changed(event_id: str) -> Conflict:
    return Conflict(
        f"event {event_id!r} was changed on the CalDAV server since it was read: read it again "
        "and retry"
    )


class CalDAVProvider:
    kind = "CALDAV"
    capabilities = Capabilities(
        colors="any",
        conference_create=frozenset(),
        conference_links=frozenset({"unknown"}),  # from calgate's meeting service, if set
        recurrence="rfc5545",
        invitations="calgate",
        hidden_attendees=True,
        guests_can_modify=True,
        calendar_management=True,
    )

    def __init__(
        self,
        settings: Settings,
        db: Database,
        *,
        accounts: AccountService | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.accounts = accounts
        self.transport = transport
        self.policy = Policy(
            timeout=settings.provider_timeout_seconds,
            retries=settings.provider_retries,
            max_answer_bytes=settings.provider_max_answer_bytes,
        )
        self.allow_loopback = settings.allow_loopback_urls
        self.client: httpx.AsyncClient | None = None
        self.calendars: TTLCache[str, list[DavCalendar]] = TTLCache(CALENDARS_TTL)

    async def aclose(self) -> None:
        if self.client is not None:
            await self.client.aclose()
            self.client = None

    def _http(self) -> httpx.AsyncClient:
        if self.client is None:
            self.client = make_client(transport=self.transport, public_only=not self.allow_loopback)
        return self.client

    def _dav(self, account: AccountContext) -> Dav:
        credentials = Credentials(
            str(account.params.get("username", "")), account.secrets.get("password", "")
        )

        async def expired() -> None:
            self.calendars.discard(account.id)
            if self.accounts is not None:
                await self.accounts.set_status(account, "CREDENTIALS")
            else:
                await self.db.write(
                    lambda c: account_store.set_status(c, account.id, "CREDENTIALS")
                )

        return Dav(
            self._http(),
            self.policy,
            credentials,
            on_unauthorized=expired,
            allow_loopback=self.allow_loopback,
        )

    # connecting ------------------------------------------------------------------------------

    def server_url(self, body: Mapping[str, Any]) -> str:
        url = connecting.text(body, "url", required=True)
        return connecting.server_url(url, allow_loopback=self.allow_loopback)

    async def _find_account(self, request: connecting.Request) -> connecting.Found:
        """The server's principal and calendars for ``request``'s details (connect, reconnect)."""
        dav = Dav(
            self._http(),
            self.policy,
            request.credentials,
            connecting=True,
            allow_loopback=self.allow_loopback,
        )
        return await connecting.discover(dav, request)

    async def connect(
        self, accounts: AccountService, tenant_id: str, body: Mapping[str, Any]
    ) -> str:
        request = connecting.Request.read(body, self.kind, self.server_url(body))
        found = await self._find_account(request)
        record = await accounts.create(
            tenant_id,
            self.kind,
            found.name,
            email=found.email,
            params=found.params,
            secrets={"password": request.credentials.password},
        )
        self.calendars.put(record.id, found.calendars)
        return record.id

    async def reconnect(
        self, accounts: AccountService, tenant_id: str, account_id: str, body: Mapping[str, Any]
    ) -> str:
        """Give an existing account the password in ``body`` (read as :meth:`connect` reads
        it, and checked with the server as it checks it): its id, calendars, mirror and
        webhooks stay. The details must reach the same account, the same username on the same
        server (403 ``account_mismatch`` otherwise, before the password is sent anywhere), and
        the server must name the account's own principal. Its status goes back to OK, which
        resumes its sync (:meth:`AccountService.reconnect`)."""
        record = await accounts.record(tenant_id, account_id)
        if record.type != self.kind:
            raise InvalidParameters(
                f"reconnect_account: {account_id!r} is not a {self.kind} account"
            )
        request = connecting.Request.read(body, self.kind, self.server_url(body))
        connecting.same_server(record.id, record.params, request)
        found = await self._find_account(request)
        connecting.same_principal(record.id, record.params, found)
        await accounts.reconnect(record, {"password": request.credentials.password})
        self.calendars.put(record.id, found.calendars)
        return record.id

    # calendars ------------------------------------------------------------------------------

    async def _discover(self, dav: Dav, account: AccountContext) -> list[DavCalendar]:
        home = await discovery.list_home(dav, str(account.params["home"]))
        self.calendars.put(account.id, home.calendars)
        return home.calendars

    async def _known(
        self, dav: Dav, account: AccountContext, calendar_id: str
    ) -> tuple[DavCalendar, list[DavCalendar]]:
        """The calendar ``calendar_id`` and all of the account's (discovered again when the
        list is old or does not hold the id)."""
        known = self.calendars.get(account.id)
        if known is None or not any(c.id == calendar_id for c in known):
            known = await self._discover(dav, account)
        for calendar in known:
            if calendar.id == calendar_id:
                return calendar, known
        raise _calendar_gone(calendar_id)

    async def _calendar(self, dav: Dav, account: AccountContext, calendar_id: str) -> DavCalendar:
        return (await self._known(dav, account, calendar_id))[0]

    async def list_calendars(self, account: AccountContext) -> list[Calendar]:
        found = await self._discover(self._dav(account), account)
        default = discovery.default_of(found, account.params.get("default"))
        calendars = [discovery.to_calendar(account.id, c, default) for c in found]
        return sorted(calendars, key=lambda c: not c.is_default)

    async def get_calendar(self, account: AccountContext, calendar_id: str) -> Calendar:
        found, known = await self._known(self._dav(account), account, calendar_id)
        return discovery.to_calendar(
            account.id, found, discovery.default_of(known, account.params.get("default"))
        )

    async def create_calendar(self, account: AccountContext, calendar: Calendar) -> Calendar:
        """``calendar.id``, when given (derived from an Idempotency-Key), names the collection:
        a retry whose first attempt made it finds it there instead of making a second one."""
        dav = self._dav(account)
        calendar_id = calendar.id or new_id()
        values = {
            "name": calendar.name,
            "description": calendar.description,
            "background_color": calendar.background_color,
            "timezone": calendar.timezone,
        }
        url = discovery.join(str(account.params["home"]), f"{calendar_id}/")
        refused = await collections.make(dav, url, values, maybe_made=bool(calendar.id))
        self.calendars.discard(account.id)
        try:
            return await self.get_calendar(account, calendar_id)
        except NotFound:
            if refused is None:
                raise
            raise refused from None  # not made by an earlier attempt either: really refused

    async def update_calendar(
        self, account: AccountContext, calendar_id: str, changes: Mapping[str, Any]
    ) -> Calendar:
        dav = self._dav(account)
        await collections.patch(dav, (await self._calendar(dav, account, calendar_id)).url, changes)
        self.calendars.discard(account.id)
        return await self.get_calendar(account, calendar_id)

    async def delete_calendar(self, account: AccountContext, calendar_id: str) -> None:
        dav = self._dav(account)
        await collections.remove(dav, (await self._calendar(dav, account, calendar_id)).url)
        self.calendars.discard(account.id)

    # reading --------------------------------------------------------------------------------

    async def _fetch(self, dav: Dav, calendar: DavCalendar, event_id: str) -> Resource | None:
        """The resource named by ``event_id`` (``{id}.ics``, else ``{id}``), or None."""
        names = [resources.resource_name(event_id)]
        if not event_id.lower().endswith(resources.SUFFIX):
            names.append(event_id)
        for name in names:
            url = discovery.join(calendar.url, quote(name, safe=""))
            answer = await dav.request("GET", url, expect=(404, 410), what="event")
            if answer.status < 300:
                return resources.read(answer.content, event_id, calendar.id, url, answer.etag)
        return None

    async def _locate(
        self, dav: Dav, calendar: DavCalendar, event_id: str
    ) -> tuple[Resource, Event]:
        """The resource holding ``event_id`` and the event itself (maybe an occurrence)."""
        if not event_id or "/" in event_id or event_id in (".", ".."):
            raise _event_gone(event_id)
        parts = rules.split_occurrence_id(event_id)
        if parts is not None and _TOKEN.fullmatch(parts[1]):
            series = await self._fetch(dav, calendar, parts[0])
            if series is not None and series.master is not None:
                found = resources.occurrence(series, parts[1])
                if found is not None:
                    return series, found
        resource = await self._fetch(dav, calendar, event_id)
        if resource is None or resource.master is None:
            raise _event_gone(event_id)
        return resource, resource.master

    async def get_event(self, account: AccountContext, calendar_id: str, event_id: str) -> Event:
        dav = self._dav(account)
        calendar = await self._calendar(dav, account, calendar_id)
        return (await self._locate(dav, calendar, event_id))[1]

    async def list_events(
        self, account: AccountContext, calendar_id: str, query: EventQuery
    ) -> Page[Event]:
        if query.cursor:
            cursor.decode(query.cursor)  # a bad cursor is a 400 before any call
        dav = self._dav(account)
        calendar = await self._calendar(dav, account, calendar_id)
        answer = await dav.request(
            "REPORT",
            calendar.url,
            body=xml.calendar_query(query.start, query.end),
            headers={"Depth": "1", "Content-Type": "application/xml; charset=utf-8"},
            expect=(404, 410),
            what="calendar query",
            keep_turn=True,
        )
        if answer.status in (404, 410):
            self.calendars.discard(account.id)
            raise _calendar_gone(calendar_id)

        if is_big(answer):
            return await read_apart(
                answer,
                account.tenant_id,
                reading.query_page,
                answer.content,
                answer.url,
                calendar_id,
                query,
            )
        found = reading.query_resources(answer.content, answer.url, calendar_id)
        return await offload.run(
            lambda budget: listing.page(found, query, budget), account.tenant_id
        )

    # writing --------------------------------------------------------------------------------

    async def _etag(self, dav: Dav, answer: Answer, url: str) -> str:
        """The new ETag of a written resource (a HEAD when the PUT answer has none)."""
        if answer.etag:
            return answer.etag
        head = await dav.request("HEAD", url, expect=(404,), what="event")
        return head.etag

    async def _put(
        self,
        dav: Dav,
        account: AccountContext,
        resource: Resource,
        calendar_id: str,
        *,
        create: bool,
    ) -> Answer:
        condition = {"If-None-Match": "*"} if create else {}
        if not create and resource.etag:
            condition = {"If-Match": resource.etag}
        scheduling = self.capabilities.adjusted(account.params).invitations == "provider"
        answer = await dav.request(
            "PUT",
            resource.url,
            body=resources.render(resource, scheduling=scheduling),
            headers={**ICS, **condition},
            safe=bool(condition),
            expect=(404, 409, 412),
            what="event",
        )
        if answer.status in (404, 409):
            if create:
                raise _calendar_gone(calendar_id)
            raise _event_gone(resource.event_id)
        return answer

    async def create_event(
        self,
        account: AccountContext,
        calendar_id: str,
        fields: EventFields,
        *,
        event_id: str,
        effects: Effects = no_effects,
    ) -> Event:
        dav = self._dav(account)
        calendar = await self._calendar(dav, account, calendar_id)
        if calendar.read_only:
            raise CalgateError(
                f"calendar {calendar_id!r} is read-only for this account",
                type="errors/insufficient_permissions",
            )
        now = _now()
        event = Event(
            id=event_id,
            calendar_id=calendar_id,
            ical_uid=f"{event_id}@calgate",
            fields=fields,
            created_at=now,
            updated_at=now,
            organizer=Organizer(account.email, account.name) if account.email else None,
        )
        url = discovery.join(calendar.url, resources.resource_name(event_id))
        resource = Resource(event_id, url, "", event)
        answer = await self._put(dav, account, resource, calendar_id, create=True)
        if answer.status == 412:
            # Our resource name is taken: by an earlier attempt of this create (a retry here, or
            # a retry with the same Idempotency-Key after a crash: the id derives from the key)
            # when the resource there has our UID; by someone else's resource otherwise.
            landed = await self._fetch(dav, calendar, event_id)
            if landed is None or landed.master is None or landed.master.ical_uid != event.ical_uid:
                raise Conflict(f"an event named {event_id!r} already exists in this calendar")
            etag = landed.etag
        else:
            etag = await self._etag(dav, answer, url)
        created = dataclasses.replace(event, version=resources.version_of(etag))
        await record_change(self.db, effects, Change("created", account, calendar_id, created))
        return created

    async def _write(
        self,
        dav: Dav,
        account: AccountContext,
        calendar: DavCalendar,
        resource: Resource,
        target: Event,
        event_id: str,
    ) -> str:
        """PUT a changed resource over the version read; returns the new ETag."""
        answer = await self._put(dav, account, resource, calendar.id, create=False)
        if answer.status != 412:
            return await self._etag(dav, answer, resource.url)
        if answer.attempts > 1:  # did the first attempt land?
            again = await self._fetch(dav, calendar, resource.event_id)
            if again is not None:
                token = target.recurrence_id.token if target.recurrence_id else None
                now = again.master if token is None else again.overrides.get(token)
                if now is not None and now.fields == target.fields:
                    return again.etag
        raise _changed(event_id)

    async def update_event(
        self,
        account: AccountContext,
        calendar_id: str,
        event_id: str,
        changes: Mapping[str, Any],
        *,
        effects: Effects = no_effects,
    ) -> Event:
        dav = self._dav(account)
        calendar = await self._calendar(dav, account, calendar_id)
        resource, current = await self._locate(dav, calendar, event_id)
        fields, given = rules.apply_patch(current, changes, version=resource.version)
        updated = dataclasses.replace(
            current,
            fields=fields,
            updated_at=_now(),
            sequence=current.sequence + (1 if rules.is_significant(given) else 0),
        )
        if current.recurrence_id is not None and current.master_event_id:
            resource.overrides[current.recurrence_id.token] = updated
        else:
            resource.master = updated
        etag = await self._write(dav, account, calendar, resource, updated, event_id)
        updated = dataclasses.replace(updated, version=resources.version_of(etag))
        change = Change("updated", account, calendar_id, updated, current, frozenset(given))
        await record_change(self.db, effects, change)
        return updated

    async def delete_event(
        self,
        account: AccountContext,
        calendar_id: str,
        event_id: str,
        *,
        effects: Effects = no_effects,
    ) -> Event:
        dav = self._dav(account)
        calendar = await self._calendar(dav, account, calendar_id)
        resource, current = await self._locate(dav, calendar, event_id)
        deleted = dataclasses.replace(current, is_cancelled=True)
        master = resource.master
        if not current.master_event_id:
            headers = {"If-Match": resource.etag} if resource.etag else {}
            answer = await dav.request(
                "DELETE", resource.url, headers=headers, expect=(404, 410, 412), what="event"
            )
            if answer.status == 412:
                raise _changed(event_id)
            if answer.status in (404, 410) and answer.attempts == 1:
                raise _event_gone(event_id)
        else:
            if master is None or current.recurrence_id is None:  # _locate gives neither
                raise _event_gone(event_id)
            token = current.recurrence_id.token
            lines = recurrence.add_exdate(
                master.fields.recurrence, master.fields.start, current.recurrence_id
            )
            resource.master = dataclasses.replace(
                master,
                fields=dataclasses.replace(master.fields, recurrence=tuple(lines)),
                updated_at=_now(),
                sequence=master.sequence + 1,
            )
            resource.overrides.pop(token, None)
            resource.sources.pop(token, None)
            etag = await self._write(dav, account, calendar, resource, resource.master, event_id)
            # The series' new version: what provider sync compares (calgate.sync.own).
            deleted = dataclasses.replace(deleted, version=resources.version_of(etag))
        await record_change(self.db, effects, Change("deleted", account, calendar_id, deleted))
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
        """The attendee's PARTSTAT in the resource; a server with RFC 6638 scheduling tells the
        organizer itself (an attendee's PUT changing its PARTSTAT is its reply)."""
        dav = self._dav(account)
        calendar = await self._calendar(dav, account, calendar_id)
        resource, current = await self._locate(dav, calendar, event_id)
        updated = dataclasses.replace(answered(current, response, account.email), updated_at=_now())
        if current.recurrence_id is not None and current.master_event_id:
            resource.overrides[current.recurrence_id.token] = updated
        else:
            resource.master = updated
        etag = await self._write(dav, account, calendar, resource, updated, event_id)
        updated = dataclasses.replace(updated, version=resources.version_of(etag))
        change = Change("updated", account, calendar_id, updated, current, frozenset({"attendees"}))
        await record_change(self.db, effects, change)
        return updated


class ICloudProvider(CalDAVProvider):
    """iCloud: CalDAV at ``settings.icloud_url`` with an app-specific password. iCloud
    schedules itself (RFC 6638), so invitations are the provider's, and its invitations show
    every attendee (no hidden lists)."""

    kind = "ICLOUD"
    capabilities = dataclasses.replace(CalDAVProvider.capabilities, **connecting.SCHEDULING_SERVER)

    def server_url(self, body: Mapping[str, Any]) -> str:
        if body.get("url") is not None:
            raise InvalidParameters(
                "url: ICLOUD accounts use the iCloud server (setting icloud_url); connect "
                "another server as a CALDAV account"
            )
        return connecting.server_url(self.settings.icloud_url, allow_loopback=self.allow_loopback)
