"""Free/busy and availability across accounts: ask each account's source (concurrently), keep
an error entry for an account or calendar that could not be read, and let the domain merge.

Limits (``Limits``, from settings) are checked before any source is asked.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import anyio

from calgate.domain import availability as av
from calgate.domain import freebusy as fb
from calgate.errors import CalgateError, FeatureNotImplemented, InvalidParameters
from calgate.freebusy.base import CalendarBusy, Origin, Source, Window
from calgate.services.accounts import AccountService
from calgate.settings import Settings


@dataclass(frozen=True, slots=True)
class Limits:
    max_window_days: int = 62
    max_calendars: int = 50
    max_participants: int = 20
    max_slots: int = 10_000

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            max_window_days=settings.free_busy_max_window_days,
            max_calendars=settings.free_busy_max_calendars,
            max_participants=settings.availability_max_participants,
            max_slots=settings.availability_max_slots,
        )


@dataclass(frozen=True, slots=True)
class Wanted:
    """The calendars of one account a request asks about (None: its primary calendar)."""

    account_id: str
    calendar_ids: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class Entry:
    account_id: str
    calendar: CalendarBusy


@dataclass(frozen=True, slots=True)
class Asked:
    """An availability participant: which calendars, and the domain's view of the rest."""

    wanted: Wanted
    working_hours: av.WorkingHours | None = None
    optional: bool = False


@dataclass(frozen=True, slots=True)
class Query:
    """An availability question (the participants apart)."""

    start: dt.datetime
    end: dt.datetime
    duration_minutes: int
    interval_minutes: int
    buffer_before_minutes: int = 0
    buffer_after_minutes: int = 0
    min_required: int | None = None


@dataclass(frozen=True, slots=True)
class Availability:
    slots: list[av.Slot]
    errors: list[Entry]


def check_window(start: dt.datetime, end: dt.datetime, limits: Limits) -> None:
    if end <= start:
        raise InvalidParameters("end: must be after start")
    if end - start > dt.timedelta(days=limits.max_window_days):
        raise InvalidParameters(
            f"end: the window is longer than {limits.max_window_days} days "
            "(the free_busy_max_window_days limit)"
        )


class FreeBusyService:
    def __init__(
        self, accounts: AccountService, sources: Mapping[str, Source], limits: Limits
    ) -> None:
        self.accounts = accounts
        self.sources = sources
        self.limits = limits

    def origin(self, account_type: str) -> Origin | None:
        source = self.sources.get(account_type)
        return None if source is None else source.origin

    async def _account(self, tenant_id: str, wanted: Wanted, window: Window) -> list[Entry]:
        try:
            account = await self.accounts.usable(tenant_id, wanted.account_id)
            source = self.sources.get(account.type)
            if source is None:
                raise FeatureNotImplemented(f"{account.type} accounts have no free/busy")
            found = await source.busy(account, wanted.calendar_ids, window)
        except CalgateError as exc:
            ids: Sequence[str | None] = wanted.calendar_ids or [None]
            return [Entry(wanted.account_id, CalendarBusy(c, error=exc)) for c in ids]
        return [Entry(wanted.account_id, c) for c in found]

    async def _gather(
        self, tenant_id: str, wanted: Sequence[Wanted], window: Window
    ) -> list[list[Entry]]:
        # Unknown accounts are the caller's mistake: 404 before anything is asked.
        for w in wanted:
            await self.accounts.record(tenant_id, w.account_id)
        results: list[list[Entry]] = [[] for _ in wanted]

        async def one(i: int) -> None:
            results[i] = await self._account(tenant_id, wanted[i], window)

        async with anyio.create_task_group() as group:
            for i in range(len(wanted)):
                group.start_soon(one, i)
        return results

    def _check_calendars(self, wanted: Sequence[Wanted], field: str) -> None:
        count = sum(len(w.calendar_ids or (None,)) for w in wanted)
        if count > self.limits.max_calendars:
            raise InvalidParameters(
                f"{field}: {count} calendars asked; at most {self.limits.max_calendars} "
                "(the free_busy_max_calendars limit)"
            )

    async def free_busy(
        self, tenant_id: str, start: dt.datetime, end: dt.datetime, wanted: Sequence[Wanted]
    ) -> list[Entry]:
        check_window(start, end, self.limits)
        self._check_calendars(wanted, "calendars")
        found = await self._gather(tenant_id, wanted, Window(start, end))
        return [entry for entries in found for entry in entries]

    def _check_availability(self, q: Query, asked: Sequence[Asked]) -> None:
        check_window(q.start, q.end, self.limits)
        minutes = (q.end - q.start) // dt.timedelta(minutes=1)
        if q.duration_minutes > minutes:
            raise InvalidParameters(
                f"duration_minutes: {q.duration_minutes} is longer than the window "
                f"({minutes} minutes)"
            )
        if not asked:
            raise InvalidParameters("participants: at least one participant is needed")
        if len(asked) > self.limits.max_participants:
            raise InvalidParameters(
                f"participants: {len(asked)} given; at most {self.limits.max_participants} "
                "(the availability_max_participants limit)"
            )
        ids = [a.wanted.account_id for a in asked]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise InvalidParameters(f"participants: account {twice[0]!r} is listed twice")
        required = sum(1 for a in asked if not a.optional)
        if required == 0:
            raise InvalidParameters("participants: at least one participant must not be optional")
        if q.min_required is not None and not 1 <= q.min_required <= required:
            raise InvalidParameters(
                f"min_required: must be between 1 and {required} (the participants that are "
                "not optional)"
            )
        count = (minutes - q.duration_minutes) // q.interval_minutes + 1
        if count > self.limits.max_slots:
            raise InvalidParameters(
                f"interval_minutes: this window has {count} slot starts; at most "
                f"{self.limits.max_slots} (the availability_max_slots limit); give a longer "
                "interval or a shorter window"
            )
        self._check_calendars([a.wanted for a in asked], "participants")

    async def availability(self, tenant_id: str, q: Query, asked: Sequence[Asked]) -> Availability:
        """Busy time is read over the window widened by the buffers; a participant whose
        calendars could not all be read is never free (the error is in the answer)."""
        self._check_availability(q, asked)
        minute = 60_000_000
        start, end = fb.to_us(q.start), fb.to_us(q.end)
        before, after = q.buffer_before_minutes * minute, q.buffer_after_minutes * minute
        window = Window(fb.from_us(start - before), fb.from_us(end + after))
        found = await self._gather(tenant_id, [a.wanted for a in asked], window)
        participants: list[av.Participant] = []
        errors: list[Entry] = []
        for a, entries in zip(asked, found, strict=True):
            failed = [e for e in entries if e.calendar.error is not None]
            errors += failed
            busy = [b for e in entries for b in e.calendar.busy]
            if failed:
                busy = [fb.Busy(start - before, end + after)]
            participants.append(
                av.Participant(a.wanted.account_id, busy, a.working_hours, a.optional)
            )
        request = av.Request(
            start,
            end,
            q.duration_minutes * minute,
            q.interval_minutes * minute,
            participants,
            before,
            after,
            q.min_required,
        )
        return Availability(av.slots(request), errors)
