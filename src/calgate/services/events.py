"""Event operations: the route -> service -> provider path every provider shares."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol, TypeVar, runtime_checkable

from sqlalchemy.engine import Connection

from calgate import offload
from calgate.domain import rules
from calgate.domain.model import (
    Calendar,
    Conference,
    Event,
    EventFields,
    EventQuery,
    Page,
    with_organizer,
)
from calgate.domain.rsvp import NotApplicable, Response
from calgate.errors import FeatureNotImplemented, InvalidParameters
from calgate.meetings import MeetingLinks
from calgate.providers.base import (
    AccountContext,
    Capabilities,
    Change,
    Effects,
    Note,
    Provider,
    no_effects,
)
from calgate.providers.registry import Providers
from calgate.services import calendar_creates, calendars, pages
from calgate.services.accounts import AccountService
from calgate.store import bare, idempotency
from calgate.store.bare import ReadOn
from calgate.store.ids import new_id

# Returns the events with what calgate adds to them (e.g. the notifications state), read on
# the connection given (or what a bare read read: calgate.store.bare).
Annotator = Callable[[ReadOn, AccountContext, list[Event]], list[Event]]
T = TypeVar("T")


@runtime_checkable
class StoreReads(Protocol):
    """A provider whose events are calgate's own rows (LOCAL): ``then`` runs on the connection
    of the read that found them, so that the annotators' read is not a second database round
    (each one a hand-off to a database thread and back)."""

    async def get_event_then(
        self,
        account: AccountContext,
        calendar_id: str,
        event_id: str,
        then: Callable[[ReadOn, Event], T],
    ) -> T: ...

    async def list_events_then(
        self,
        account: AccountContext,
        calendar_id: str,
        query: EventQuery,
        then: Callable[[ReadOn, Page[Event]], T],
    ) -> T: ...

    async def list_events_encoded(
        self,
        account: AccountContext,
        calendar_id: str,
        query: EventQuery,
        to_wire: Callable[[Event], object],
        notes: Sequence[Note],
    ) -> Page[Event] | None:
        """The page made and encoded in a worker process (``Page.encoded``), annotated there
        by ``notes``; None: list with :meth:`list_events_then`."""


# What a read from the mirror reads after the event it found, in the same read transaction
# (the notices the annotators read): a plan of calgate.store.bare.
Then = Callable[[Event], bare.Plan]


class MirrorSource(Protocol):
    """Answers reads from a copy of the provider's calendar (the sync mirror,
    :mod:`calgate.sync.reads`); None: ask the provider."""

    async def get_event(
        self, account: AccountContext, calendar_id: str, event_id: str, then: Then | None
    ) -> tuple[Event, Any] | None:
        """The event, and what ``then(event)`` read after it (None without ``then``)."""

    async def list_events(
        self, account: AccountContext, calendar_id: str, query: EventQuery
    ) -> Page[Event] | None: ...


class NoMirror:
    async def get_event(
        self, account: AccountContext, calendar_id: str, event_id: str, then: Then | None
    ) -> tuple[Event, Any] | None:
        return None

    async def list_events(
        self, account: AccountContext, calendar_id: str, query: EventQuery
    ) -> Page[Event] | None:
        return None


class Organized:
    """:func:`with_organizer`, remembered per event object: the store hands out the same event
    again while its row is unchanged (:mod:`calgate.store.rows`), and a list of 100 events made
    100 new events on every read. Used from the event loop only."""

    def __init__(self, size: int = 10_000) -> None:
        self.size = size
        # id(event) -> (event, email, name, the event with its organizer)
        self._made: dict[int, tuple[Event, str, str, Event]] = {}

    def __call__(self, event: Event, email: str, name: str) -> Event:
        if event.organizer is not None and event.organizer.email:
            return event
        found = self._made.get(id(event))
        # The entry holds its event: while it is there, no other object has its id.
        if found is not None and found[0] is event and found[1] == email and found[2] == name:
            return found[3]
        made = with_organizer(event, email, name)
        if len(self._made) >= self.size:
            self._made.clear()
        self._made[id(event)] = (event, email, name, made)
        return made

    def all(self, events: list[Event], email: str, name: str) -> list[Event]:
        """Each of ``events`` with its organizer (a list's events, found again in one loop)."""
        made, out = self._made, []
        for event in events:
            found = made.get(id(event))
            if found is not None and found[0] is event and found[1] == email and found[2] == name:
                out.append(found[3])
            else:
                out.append(self(event, email, name))
        return out


def check_capabilities(caps: Capabilities, kind: str, values: Mapping[str, Any]) -> None:
    """Refuse, before any provider call, what the provider cannot hold."""
    color = values.get("color")
    if color and caps.colors == "palette" and color.upper() not in caps.palette:
        raise InvalidParameters(
            f"color: {color} is not a {kind} colour; use one of {', '.join(caps.palette)}"
        )
    conference = values.get("conference")
    if (
        conference is not None
        and not conference.url
        and conference.provider not in caps.conference_create
        and conference.provider not in caps.conference_links
    ):
        raise FeatureNotImplemented(
            f"conference: {kind} accounts cannot create a {conference.provider} meeting; "
            "give conference.url with an existing meeting link"
        )
    if values.get("is_attendees_list_hidden") and not caps.hidden_attendees:
        raise FeatureNotImplemented(f"is_attendees_list_hidden: {kind} cannot hide attendees")
    if values.get("guests_can_modify") and not caps.guests_can_modify:
        raise FeatureNotImplemented(f"guests_can_modify: {kind} cannot let guests modify events")


class EventService:
    def __init__(self, accounts: AccountService, providers: Providers) -> None:
        self.accounts = accounts
        self.providers = providers
        # Outbox writers (webhooks, invitations) that record every change made through calgate.
        self.effects: list[Effects] = []
        # Meeting links for the conference kinds a provider leaves to calgate.
        self.meetings = MeetingLinks(None)
        # Mails the account's answer to an invitation to the organizer (calgate.mail.reply).
        self.replies: Effects = no_effects
        # Fill in what calgate knows about returned events beyond the provider (the
        # `notifications` state of invitations).
        self.annotators: list[Annotator] = []
        # Reads answered from the sync mirror when it is current (calgate.sync.reads).
        self.mirror: MirrorSource = NoMirror()
        self._organizer = Organized()
        # provider class -> whether it is a StoreReads (isinstance on a Protocol is slow).
        self._reads: dict[type, bool] = {}

    def _caps(self, account: AccountContext, provider: Provider) -> Capabilities:
        return provider.capabilities.adjusted(account.params)

    def _linked(self, caps: Capabilities, conference: Conference | None) -> Conference | None:
        """``conference``, with a meeting made by calgate's meeting service when it has no url
        and the provider leaves that kind to calgate."""
        if conference is None or conference.url:
            return conference
        if conference.provider in caps.conference_create:
            return conference
        return self.meetings.create(conference.provider)

    def _annotate(self, conn: ReadOn, account: AccountContext, events: list[Event]) -> list[Event]:
        for annotate in self.annotators:
            events = annotate(conn, account, events)
        return events

    def _notes(self, account: AccountContext) -> list[Note] | None:
        """What the annotators read and apply for events made in a worker process; None when
        one of them cannot annotate there."""
        notes = []
        for annotate in self.annotators:
            note = getattr(annotate, "note", None)
            if note is None:
                return None
            notes.append(note(account))
        return notes

    def _organized(self, account: AccountContext, events: list[Event]) -> list[Event]:
        return self._organizer.all(events, account.email, account.name)

    async def _annotated(self, account: AccountContext, events: list[Event]) -> list[Event]:
        if self.annotators and events:
            # The notices of the events a provider answered, read on the bare driver (one
            # statement, and the mail counts of queued ones), for the annotators to read.
            ids = {e.id for e in events} | {e.master_event_id for e in events}
            read = await self.accounts.db.read_bare(bare.notices(account.id, ids - {""}))
            events = self._annotate(read, account, events)
        return self._organized(account, events)

    @staticmethod
    def _notices(account: AccountContext) -> Then:
        """What :meth:`_annotated` reads for one event, as a plan (a mirror's read runs it in
        its own transaction: no second database round)."""

        def read(event: Event) -> bare.Plan:
            ids = {event.id, event.master_event_id} - {""}
            return (yield from bare.notices(account.id, ids))

        return read

    def _store_reads(self, provider: Provider) -> StoreReads | None:
        kind = type(provider)
        reads = self._reads.get(kind)
        if reads is None:
            reads = self._reads[kind] = isinstance(provider, StoreReads)
        return provider if reads else None  # type: ignore[return-value]

    def _effects(self, conn: Connection, change: Change) -> None:
        for effect in self.effects:
            effect(conn, change)

    async def connect(self, tenant_id: str, body: Mapping[str, Any]) -> str:
        """Connect an account of ``body["provider"]``; returns the new account's id."""
        provider = self.providers.for_type(str(body.get("provider", "")))
        return await provider.connect(self.accounts, tenant_id, body)

    async def capabilities(self, tenant_id: str, account_id: str) -> Capabilities:
        record = await self.accounts.record(tenant_id, account_id)
        return self.providers.for_type(record.type).capabilities.adjusted(record.params)

    async def _target(self, tenant_id: str, account_id: str) -> tuple[AccountContext, Provider]:
        account = await self.accounts.usable(tenant_id, account_id)
        return account, self.providers.for_type(account.type)

    async def list_calendars(self, tenant_id: str, account_id: str) -> list[Calendar]:
        account, provider = await self._target(tenant_id, account_id)
        return await provider.list_calendars(account)

    async def get_calendar(self, tenant_id: str, account_id: str, calendar_id: str) -> Calendar:
        account, provider = await self._target(tenant_id, account_id)
        return await provider.get_calendar(account, calendar_id)

    async def create_calendar(
        self, tenant_id: str, account_id: str, calendar: Calendar, given: Iterable[str] = ()
    ) -> Calendar:
        """Create ``calendar``; ``given``: the fields the request set (checked against the
        provider's capabilities)."""
        account, provider = await self._target(tenant_id, account_id)
        caps, given = self._caps(account, provider), tuple(given)
        calendars.check_fields(caps, account.type, given)
        if caps.calendar_ids == "provider":
            # Under an Idempotency-Key, a retry after a crash recognises the calendar the first
            # attempt made by what that attempt noted before the provider's create.
            return await calendar_creates.create(provider, account, calendar, given)
        # Under an Idempotency-Key the id is derived from the key, for the providers that let
        # calgate choose it (CalDAV): a retry after a crash finds the calendar the first attempt
        # may have made instead of making a second one.
        keyed = idempotency.event_id()
        if keyed is not None:
            calendar = dataclasses.replace(calendar, id=keyed)
        return await provider.create_calendar(account, calendar)

    async def update_calendar(
        self, tenant_id: str, account_id: str, calendar_id: str, changes: Mapping[str, Any]
    ) -> Calendar:
        account, provider = await self._target(tenant_id, account_id)
        calendars.check_fields(self._caps(account, provider), account.type, changes)
        calendars.check_writable(await provider.get_calendar(account, calendar_id), "changed")
        return await provider.update_calendar(account, calendar_id, changes)

    async def delete_calendar(self, tenant_id: str, account_id: str, calendar_id: str) -> None:
        account, provider = await self._target(tenant_id, account_id)
        calendars.check_fields(self._caps(account, provider), account.type, ())
        calendars.check_deletable(await provider.get_calendar(account, calendar_id))
        await provider.delete_calendar(account, calendar_id)

    async def create(
        self, tenant_id: str, account_id: str, calendar_id: str, fields: EventFields
    ) -> Event:
        account, provider = await self._target(tenant_id, account_id)
        caps = self._caps(account, provider)
        check_capabilities(caps, account.type, _as_map(fields))
        if fields.recurrence:  # checking a series is CPU work: off the event loop
            fields = await offload.run(lambda _: rules.checked(fields), tenant_id)
        else:
            fields = rules.checked(fields)
        fields = dataclasses.replace(fields, conference=self._linked(caps, fields.conference))
        # Under an Idempotency-Key the id is derived from the key: a retry after a crash makes
        # the event the first attempt may have made, not a second one.
        event_id = idempotency.event_id() or new_id()
        return await provider.create_event(
            account, calendar_id, fields, event_id=event_id, effects=self._effects
        )

    async def get(self, tenant_id: str, account_id: str, calendar_id: str, event_id: str) -> Event:
        account, provider = await self._target(tenant_id, account_id)
        notices = self._notices(account) if self.annotators else None
        mirrored = await self.mirror.get_event(account, calendar_id, event_id, notices)
        if mirrored is not None:
            event, read = mirrored
            if read is not None:
                event = self._annotate(read, account, [event])[0]
            return self._organized(account, [event])[0]
        reads = self._store_reads(provider)
        if reads is None:
            event = await provider.get_event(account, calendar_id, event_id)
            return (await self._annotated(account, [event]))[0]

        def then(conn: ReadOn, found: Event) -> Event:
            return self._annotate(conn, account, [found])[0]

        event = await reads.get_event_then(account, calendar_id, event_id, then)
        # A single read is a new event object each time: nothing for Organized to find again.
        return with_organizer(event, account.email, account.name)

    async def list(
        self,
        tenant_id: str,
        account_id: str,
        calendar_id: str,
        query: EventQuery,
        to_wire: Callable[[Event], object] | None = None,
    ) -> Page[Event]:
        """The page of ``query``. With ``to_wire`` (a function of the module level, the wire
        shape of the caller's answer) the page may come encoded already (``Page.encoded``:
        each event's ``orjson.dumps(to_wire(event))``, its ``items`` empty): an expanded list
        of a LOCAL calendar is made in a worker process when there are some."""
        account, provider = await self._target(tenant_id, account_id)
        reported = self._caps(account, provider).event_types
        if query.event_types:
            if not reported & set(query.event_types):
                await provider.get_calendar(account, calendar_id)  # an unknown one is a 404
                return Page([])
            if reported <= set(query.event_types):
                query = dataclasses.replace(query, event_types=())

        reads = self._store_reads(provider)
        annotated = [False]  # whether the last page fetched was annotated in its own read

        def then(conn: ReadOn, page: Page[Event]) -> Page[Event]:
            return dataclasses.replace(page, items=self._annotate(conn, account, page.items))

        async def fetch(q: EventQuery) -> Page[Event]:
            annotated[0] = False
            mirrored = await self.mirror.list_events(account, calendar_id, q)
            if mirrored is not None:
                return mirrored
            if reads is None:
                return await provider.list_events(account, calendar_id, q)
            annotated[0] = True
            if to_wire is not None and q.expand_recurring:
                notes = self._notes(account)
                if notes is not None:
                    made = await reads.list_events_encoded(account, calendar_id, q, to_wire, notes)
                    if made is not None:
                        return made
            return await reads.list_events_then(account, calendar_id, q, then)

        page = await pages.at_offset(fetch, query)
        if annotated[0]:
            return dataclasses.replace(page, items=self._organized(account, page.items))
        return dataclasses.replace(page, items=await self._annotated(account, page.items))

    async def update(
        self,
        tenant_id: str,
        account_id: str,
        calendar_id: str,
        event_id: str,
        changes: Mapping[str, Any],
    ) -> Event:
        account, provider = await self._target(tenant_id, account_id)
        caps = self._caps(account, provider)
        check_capabilities(caps, account.type, changes)
        if changes.get("conference") is not None:
            changes = {**changes, "conference": self._linked(caps, changes["conference"])}
        return await provider.update_event(
            account, calendar_id, event_id, changes, effects=self._effects
        )

    async def respond(
        self,
        tenant_id: str,
        account_id: str,
        calendar_id: str,
        event_id: str,
        response: Response,
    ) -> Event:
        """Record an answer to an invitation (see :meth:`Provider.respond`). The account's own
        answer is mailed to the organizer (``replies``) where calgate sends its mail."""
        account, provider = await self._target(tenant_id, account_id)
        effects = self._effects
        if not response.attendee and self._caps(account, provider).invitations == "calgate":

            def effects(conn: Connection, change: Change) -> None:
                self._effects(conn, change)
                self.replies(conn, change)

        try:
            return await provider.respond(account, calendar_id, event_id, response, effects=effects)
        except NotApplicable as exc:
            raise InvalidParameters(f"event_id: {exc}") from None

    async def delete(
        self, tenant_id: str, account_id: str, calendar_id: str, event_id: str
    ) -> Event:
        account, provider = await self._target(tenant_id, account_id)
        return await provider.delete_event(account, calendar_id, event_id, effects=self._effects)


def _as_map(fields: EventFields) -> dict[str, Any]:
    return {name: getattr(fields, name) for name in EventFields.__dataclass_fields__}
