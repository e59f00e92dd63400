"""iCalendar files of calgate-stored calendars: export, idempotent import, secret feed URLs.

Import rules (``POST …/ics`` and ``calgate import``):

- The whole file is parsed and checked first (times, recurrence lines, RECURRENCE-IDs, and the
  JSON API's limits of :mod:`calgate.domain.limits`, so every imported event can be written
  back through the API): a bad file is a 400 naming the VEVENT and the property, and nothing is
  written.
- Each VEVENT is keyed by (calendar, UID, RECURRENCE-ID). A new key creates an event that keeps
  the file's UID; a known key whose content differs updates the event in place (same id); an
  identical one is left alone, so importing the same file twice changes nothing. Events missing
  from the file stay: an import is not a sync. When one file repeats a key, the VEVENT with the
  highest SEQUENCE wins (the last one on a tie).
- A VEVENT with a RECURRENCE-ID (a modified occurrence) is stored as the exception
  ``{series id}_{token}`` of the series with its UID, from the file or already in the calendar.
  Without such a series it is stored as an event of its own, attached once the series comes.
  Recurrence lines on an occurrence are dropped (an occurrence does not recur).
- Floating times (no zone, no ``Z``) are read in the calendar's zone. ``notify`` is false:
  importing sends no invitations. Webhook subscribers see the created and updated events.
- All or nothing: the whole import is one transaction, so a VEVENT refused late (e.g. against
  a series already stored) or a failure midway leaves the calendar as it was. Inside it, VEVENTs
  are written in batches of :data:`BATCH_EVENTS` (one lookup and one multi-row insert each).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import anyio.to_thread
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from calgate import __version__
from calgate.domain import limits, rules
from calgate.domain.ical import ParsedEvent, calendar_to_ics, canonical_recurrence, iter_ics
from calgate.domain.model import Calendar, Event, EventFields, EventQuery
from calgate.domain.times import EventTime
from calgate.errors import Conflict, FeatureNotImplemented, InvalidParameters, NotFound
from calgate.providers.base import AccountContext, Change, Effects
from calgate.providers.local import bounds_of
from calgate.services.accounts import AccountService
from calgate.store import accounts as account_store
from calgate.store import events as store
from calgate.store.codec import us_to_dt
from calgate.store.db import Database, now_ms_us
from calgate.store.ids import new_id, new_token

if TYPE_CHECKING:
    from calgate.providers.registry import Providers
    from calgate.runtime import Runtime

# One VEVENT with its position in the file (counted from 1), and the VEVENTs of one UID.
Numbered = tuple[int, ParsedEvent]
Group = tuple[Numbered, ...]

BATCH_EVENTS: Final = 500
MAX_UID_LENGTH: Final = 255
FEED_TOKEN_BYTES: Final = 32
_ATTEMPTS: Final = 3
_ALL: Final = EventQuery(limit=2**62)
# The iCalendar property behind each field :func:`calgate.domain.limits.check` may name.
_PROPERTIES: Final = {
    "title": "SUMMARY",
    "body": "DESCRIPTION",
    "location": "LOCATION",
    "attendees": "ATTENDEE",
    "recurrence": "RRULE/RDATE/EXDATE",
    "conference": "CONFERENCE",
    "organizer": "ORGANIZER",
}


@dataclass(frozen=True, slots=True)
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def __add__(self, other: ImportReport) -> ImportReport:
        return ImportReport(
            self.created + other.created,
            self.updated + other.updated,
            self.unchanged + other.unchanged,
        )

    def to_wire(self) -> dict[str, Any]:
        return {
            "object": "CalendarImported",
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
        }


@dataclass(frozen=True, slots=True)
class ImportPlan:
    """A checked file, ready to write: one group per UID, the series (if any) first."""

    account: AccountContext
    calendar: Calendar
    groups: tuple[Group, ...]

    @property
    def total(self) -> int:
        return sum(len(group) for group in self.groups)

    def batches(self) -> Iterator[tuple[Group, ...]]:
        """Groups of about :data:`BATCH_EVENTS` VEVENTs; a UID's VEVENTs stay together."""
        batch: list[Group] = []
        size = 0
        for group in self.groups:
            batch.append(group)
            size += len(group)
            if size >= BATCH_EVENTS:
                yield tuple(batch)
                batch, size = [], 0
        if batch:
            yield tuple(batch)


def feed_digest(token: str) -> str:
    """What the database keeps of a feed token: its SHA-256, so a leaked database opens no feed."""
    return hashlib.sha256(token.encode()).hexdigest()


def _token(time: EventTime | None) -> str:
    return "" if time is None else time.token


def _checked(index: int, parsed: ParsedEvent) -> ParsedEvent:
    where = f"VEVENT {index} (UID {parsed.uid})"
    if len(parsed.uid) > MAX_UID_LENGTH:
        raise InvalidParameters(f"{where}: UID: longer than {MAX_UID_LENGTH} characters")
    fields = parsed.fields
    if parsed.recurrence_id is not None:
        fields = dataclasses.replace(fields, recurrence=())
    try:
        limits.check(fields, parsed.organizer)
    except InvalidParameters as error:
        field = error.detail.split(":", 1)[0].split("[", 1)[0].split(".", 1)[0]
        raise InvalidParameters(f"{where}: {_PROPERTIES[field]}: {error.detail}") from None
    try:
        return dataclasses.replace(parsed, fields=rules.checked(fields))
    except InvalidParameters as error:
        raise InvalidParameters(f"{where}: {error.detail}") from None


def _kind_problem(series_start: EventTime, index: int, parsed: ParsedEvent) -> str | None:
    rid = parsed.recurrence_id
    if rid is None or rid.is_all_day == series_start.is_all_day:
        return None
    kinds = ("a DATE", "a DATE-TIME") if rid.is_all_day else ("a DATE-TIME", "a DATE")
    return (
        f"VEVENT {index} (UID {parsed.uid}): RECURRENCE-ID: is {kinds[0]} but the series' "
        f"DTSTART is {kinds[1]}"
    )


def read_file(data: bytes, floating_tz: str) -> tuple[Group, ...]:
    """Parse and check every VEVENT; one group per UID in file order, the series first."""
    if b"\x00" in data:  # decoded from a base64 or quoted-printable part: the guard saw none
        raise InvalidParameters(
            "file: holds a NUL character (\\u0000), which no calendar text may contain"
        )
    chosen: dict[tuple[str, str], Numbered] = {}
    for index, parsed in enumerate(iter_ics(data, floating_tz=floating_tz), 1):
        parsed = _checked(index, parsed)
        key = (parsed.uid, _token(parsed.recurrence_id))
        kept = chosen.get(key)
        if kept is None or parsed.sequence >= kept[1].sequence:
            chosen.pop(key, None)
            chosen[key] = (index, parsed)
    groups: dict[str, list[Numbered]] = {}
    for (uid, token), item in chosen.items():
        group = groups.setdefault(uid, [])
        if token:
            group.append(item)
        else:
            group.insert(0, item)
    for group in groups.values():
        head = group[0][1]
        if head.recurrence_id is None and head.fields.recurrence:
            for index, parsed in group[1:]:
                problem = _kind_problem(head.fields.start, index, parsed)
                if problem:
                    raise InvalidParameters(problem)
    return tuple(tuple(group) for group in groups.values())


def _content(event: Event) -> tuple[object, ...]:
    """What an import compares: everything a VEVENT carries (not ``notify``, not bookkeeping)."""
    f = event.fields
    lines: tuple[str, ...] = f.recurrence
    if lines:
        with contextlib.suppress(InvalidParameters):  # compared as stored, then
            lines = canonical_recurrence(lines)
    organizer = event.organizer.email.lower() if event.organizer else ""
    attendees = tuple(
        dataclasses.replace(a, is_organizer=a.is_organizer or a.email.lower() == organizer)
        for a in f.attendees
    )
    fields = dataclasses.replace(f, recurrence=lines, attendees=attendees, notify=False)
    return (fields, event.is_cancelled, event.organizer, event.master_event_id,
            _token(event.recurrence_id))  # fmt: skip


def _changed(before: EventFields, after: EventFields) -> frozenset[str]:
    return frozenset(
        name for name in EventFields.__dataclass_fields__
        if getattr(before, name) != getattr(after, name)
    )  # fmt: skip


class _Batch:
    """One transaction of an import: the upserts of some UIDs' VEVENTs."""

    def __init__(self, plan: ImportPlan, groups: Sequence[Group]) -> None:
        self.plan = plan
        self.groups = groups

    def __call__(self, conn: Connection, effects: Effects) -> ImportReport:
        account, calendar_id = self.plan.account, self.plan.calendar.id
        if account_store.get_calendar(conn, account.id, calendar_id) is None:
            raise NotFound(f"calendar {calendar_id!r} not found for this account")
        existing = store.find_by_uids(conn, calendar_id, [g[0][1].uid for g in self.groups])
        now = us_to_dt(now_ms_us())
        inserts: list[Event] = []
        changes: list[Change] = []
        report = ImportReport()
        for group in self.groups:
            series: Event | None = existing.get((group[0][1].uid, ""))
            for index, parsed in group:
                current = existing.get((parsed.uid, _token(parsed.recurrence_id)))
                master = series if series is not None and series.fields.recurrence else None
                if parsed.recurrence_id is not None and master is not None:
                    problem = _kind_problem(master.fields.start, index, parsed)
                    if problem:
                        raise InvalidParameters(problem)
                event = self._event(parsed, current, master, calendar_id, now)
                if parsed.recurrence_id is None:
                    series = event
                if current is None:
                    inserts.append(event)
                    changes.append(Change("created", account, calendar_id, event))
                    report += ImportReport(created=1)
                elif _content(current) == _content(event) and event.sequence <= current.sequence:
                    report += ImportReport(unchanged=1)
                    if parsed.recurrence_id is None:
                        series = current
                else:
                    self._replace(conn, current, event, inserts)
                    before = current.fields
                    changed = _changed(before, event.fields)
                    changes.append(Change("updated", account, calendar_id, event, current, changed))
                    report += ImportReport(updated=1)
        store.insert_events(conn, ((e, bounds_of(e.fields)) for e in inserts))
        for change in changes:
            effects(conn, change)
        return report

    @staticmethod
    def _event(
        parsed: ParsedEvent,
        current: Event | None,
        master: Event | None,
        calendar_id: str,
        now: Any,
    ) -> Event:
        if parsed.recurrence_id is None:
            event_id = current.id if current is not None else new_id()
            master_id = ""
        elif master is not None:
            event_id, master_id = f"{master.id}_{parsed.recurrence_id.token}", master.id
        else:  # an occurrence whose series calgate does not hold
            event_id = current.id if current and not current.master_event_id else new_id()
            master_id = ""
        fields = parsed.fields
        if current is not None:
            fields = dataclasses.replace(fields, notify=current.fields.notify)
        return Event(
            id=event_id,
            calendar_id=calendar_id,
            ical_uid=parsed.uid,
            fields=fields,
            created_at=current.created_at if current is not None else now,
            updated_at=now,
            version=current.version + 1 if current is not None else 1,
            sequence=max(parsed.sequence, current.sequence if current is not None else 0),
            is_cancelled=parsed.is_cancelled,
            master_event_id=master_id,
            recurrence_id=parsed.recurrence_id,
            organizer=parsed.organizer,
        )

    @staticmethod
    def _replace(conn: Connection, current: Event, event: Event, inserts: list[Event]) -> None:
        if current.id != event.id:
            # An occurrence stored alone whose series has come: it becomes its exception.
            store.delete_event(conn, current.calendar_id, current.id)
            inserts.append(dataclasses.replace(event, version=1))
        elif not store.update_event(conn, event, bounds_of(event.fields), current.version):
            raise Conflict(f"event {current.id!r} was changed during the import")


def _in_export_order(events: list[Event]) -> list[Event]:
    """Events by start, each series followed by its exceptions."""
    children: dict[str, list[Event]] = {}
    top: list[Event] = []
    for event in events:
        if event.master_event_id:
            children.setdefault(event.master_event_id, []).append(event)
        else:
            top.append(event)
    ordered: list[Event] = []
    for event in top:
        ordered.append(event)
        ordered.extend(children.pop(event.id, ()))
    for rest in children.values():
        ordered.extend(rest)
    return ordered


def _calendar_and_events(conn: Connection, account_id: str, calendar_id: str) -> Any:
    calendar = account_store.get_calendar(conn, account_id, calendar_id)
    if calendar is None:
        raise NotFound(f"calendar {calendar_id!r} not found for this account")
    rows = store.select_events(conn, calendar_id, _ALL, after=None, limit=2**62, masters_only=False)
    return calendar, [event for event, _ in rows]


class IcsService:
    def __init__(
        self, db: Database, accounts: AccountService, providers: Providers, effects: list[Effects]
    ) -> None:
        self.db = db
        self.accounts = accounts
        self.providers = providers
        self.effects = effects

    @classmethod
    def of(cls, runtime: Runtime) -> IcsService:
        return cls(runtime.db, runtime.accounts, runtime.providers, runtime.events.effects)

    def _effects(self, conn: Connection, change: Change) -> None:
        for effect in self.effects:
            effect(conn, change)

    async def account(self, tenant_id: str, account_id: str) -> AccountContext:
        account = await self.accounts.usable(tenant_id, account_id)
        if not self.providers.for_type(account.type).capabilities.ics_files:
            raise FeatureNotImplemented(
                f"{account.type} accounts: calendars are not kept by calgate, so .ics export, "
                "import and feeds are not available (capability ics_files)"
            )
        return account

    # export and feeds --------------------------------------------------------------------------

    async def _render(self, account_id: str, calendar_id: str) -> tuple[Calendar, bytes]:
        calendar, events = await self.db.read(
            lambda c: _calendar_and_events(c, account_id, calendar_id)
        )
        body = await anyio.to_thread.run_sync(calendar_to_ics, calendar, _in_export_order(events))
        return calendar, body

    async def export(
        self, tenant_id: str, account_id: str, calendar_id: str
    ) -> tuple[Calendar, bytes]:
        """The calendar as RFC 5545 text, a VTIMEZONE for each zone its events use."""
        account = await self.account(tenant_id, account_id)
        return await self._render(account.id, calendar_id)

    async def create_feed(self, tenant_id: str, account_id: str, calendar_id: str) -> str:
        """A new secret feed token for the calendar (the previous one stops working)."""
        account = await self.account(tenant_id, account_id)
        token = new_token(FEED_TOKEN_BYTES)

        def op(conn: Connection) -> None:
            if account_store.get_calendar(conn, account.id, calendar_id) is None:
                raise NotFound(f"calendar {calendar_id!r} not found for this account")
            account_store.set_feed_token(conn, calendar_id, feed_digest(token))

        await self.db.write(op)
        return token

    async def delete_feed(self, tenant_id: str, account_id: str, calendar_id: str) -> None:
        account = await self.account(tenant_id, account_id)

        def op(conn: Connection) -> None:
            if account_store.get_calendar(conn, account.id, calendar_id) is None:
                raise NotFound(f"calendar {calendar_id!r} not found for this account")
            account_store.set_feed_token(conn, calendar_id, None)

        await self.db.write(op)

    async def feed(self, token: str, seen: str = "") -> tuple[str, bytes | None]:
        """The ETag and the text of a feed token's calendar; the text is None when ``seen``
        (an If-None-Match header) holds that ETag. 404 for unknown or revoked tokens.

        The ETag comes from the calendar's version, event count and latest change, so an
        unchanged calendar answers 304 without being rendered.
        """
        unknown = NotFound("no calendar feed at this address (unknown or revoked)")
        if not 20 <= len(token) <= 100:
            raise unknown

        def op(conn: Connection) -> tuple[Calendar, str, tuple[int, int]] | None:
            calendar = account_store.calendar_by_feed_token(conn, feed_digest(token))
            if calendar is None:
                return None
            record = account_store.get_account(conn, calendar.account_id, None)
            if record is None:
                return None
            return calendar, record.type, store.calendar_state(conn, calendar.id)

        found = await self.db.read(op)
        if found is None:
            raise unknown
        calendar, kind, (count, latest) = found
        try:
            if not self.providers.for_type(kind).capabilities.ics_files:
                raise unknown
        except FeatureNotImplemented:
            raise unknown from None
        state = f"{__version__}:{calendar.id}:{calendar.version}:{count}:{latest}"
        etag = f'W/"{hashlib.sha256(state.encode()).hexdigest()[:32]}"'
        if etag in seen:
            return etag, None
        return etag, (await self._render(calendar.account_id, calendar.id))[1]

    # import ------------------------------------------------------------------------------------

    async def prepare(
        self, tenant_id: str, account_id: str, calendar_id: str, data: bytes
    ) -> ImportPlan:
        """Parse and check ``data`` for the calendar; nothing is written yet."""
        account = await self.account(tenant_id, account_id)
        calendar = await self.db.read(
            lambda c: account_store.get_calendar(c, account.id, calendar_id)
        )
        if calendar is None:
            raise NotFound(f"calendar {calendar_id!r} not found for this account")
        groups = await anyio.to_thread.run_sync(read_file, data, calendar.timezone)
        return ImportPlan(account, calendar, groups)

    async def apply(
        self, plan: ImportPlan, progress: Callable[[int], None] | None = None
    ) -> ImportReport:
        """Write the plan in one transaction: all of it, or nothing when any VEVENT is refused.

        ``progress`` gets the VEVENTs of each batch written (counted again if a transaction
        that met a concurrent writer is redone)."""
        batches = [_Batch(plan, groups) for groups in plan.batches()]

        def op(conn: Connection) -> ImportReport:
            report = ImportReport()
            for batch in batches:
                report += batch(conn, self._effects)
                if progress is not None:
                    progress(sum(len(group) for group in batch.groups))
            return report

        for attempt in range(_ATTEMPTS):
            try:
                return await self.db.write(op)
            except (IntegrityError, Conflict):
                # Another writer stored one of these UIDs meanwhile: read again and redo.
                if attempt == _ATTEMPTS - 1:
                    raise Conflict(
                        "the calendar changed while importing (the same UIDs written "
                        "concurrently); retry the import"
                    ) from None
        raise AssertionError("unreachable")

    async def import_ics(
        self, tenant_id: str, account_id: str, calendar_id: str, data: bytes
    ) -> ImportReport:
        plan = await self.prepare(tenant_id, account_id, calendar_id, data)
        return await self.apply(plan)
