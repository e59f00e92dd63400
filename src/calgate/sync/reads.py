"""Reads answered from the sync mirror (docs/sync.md, "Reads from the mirror").

``GET`` of an event and the events list of a synced calendar answer from the mirror when it
is current (:func:`mirror_current`), otherwise from the provider. A reader per account type
rebuilds, from the mirrored items, what the provider's own listing works on and runs the
provider's own listing code over it, so that both paths give the same answer; a read the
mirror cannot answer (an event it does not hold, an account type without a reader) goes to
the provider, which gives the answer (or the error) it always gives.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy.engine import Connection

from calgate import offload
from calgate.domain.model import Event, EventQuery, Page
from calgate.providers.base import AccountContext
from calgate.store import mirror, mirror_reads
from calgate.store.bare import Plan
from calgate.store.db import Database, now_us
from calgate.sync.readers import READERS, Reader

__all__ = ["MirrorReads", "current_as_of", "mirror_current", "pending_own_write"]

# When the mirror may answer (the statements and rules: calgate.store.mirror_reads) ---------


def pending_own_write(conn: Connection, account_id: str, calendar_id: str) -> bool:
    """Whether a change calgate made in the calendar has not been seen by sync yet (its
    ``own_version`` is not the version the mirror holds): until then the mirror is bypassed,
    so that a read right after a write through calgate sees it."""
    plan = mirror_reads.pending_own_write(account_id, calendar_id)
    return bool(mirror_reads.on_connection(conn, plan))


def current_as_of(
    conn: Connection, account_id: str, calendar_id: str, *, now: int, max_age_us: int
) -> int | None:
    """When the calendar's mirror may answer reads, the time of its last successful sync
    (which names what the mirror holds: every sync run that changes it commits a new one);
    None otherwise. (One statement in the common case: reads take it on every request.)"""
    plan = mirror_reads.current_as_of(account_id, calendar_id, now=now, max_age_us=max_age_us)
    stamp: int | None = mirror_reads.on_connection(conn, plan)
    return stamp


def mirror_current(
    conn: Connection, account_id: str, calendar_id: str, *, now: int, max_age_us: int
) -> bool:
    """Whether the calendar's mirror may answer reads: its last successful sync is younger
    than ``max_age_us`` and every change calgate made in it has been seen by sync since."""
    stamp = current_as_of(conn, account_id, calendar_id, now=now, max_age_us=max_age_us)
    return stamp is not None


# The service's mirror source ---------------------------------------------------------------

# What a GET reads after the event it found, in its transaction (calgate.services.events).
Then = Callable[[Event], Plan]

Items = dict[str, mirror.Item]


class Listed(dict[str, mirror.Item]):
    """A calendar's live items as one sync left them: what a list builds from them is kept
    while they are (calgate.sync.readers), so they can be referred to weakly."""

    __slots__ = ("__weakref__",)


def _live(found: Items) -> Items:
    """The items that hold events (no tombstones, no items without events)."""
    return Listed((k, i) for k, i in found.items() if i.version != mirror.REMOVED and i.events)


# Calendars whose decoded items are kept for lists (the most recently listed ones).
LISTED_CALENDARS = 32


class MirrorReads:
    """:class:`calgate.services.events.MirrorSource` over the sync mirror."""

    def __init__(
        self,
        db: Database,
        max_age_seconds: float,
        readers: Mapping[str, Reader] = READERS,
        clock: Callable[[], int] = now_us,
    ) -> None:
        self.db = db
        self.max_age_us = int(max_age_seconds * 1_000_000)
        self.readers = readers
        self.clock = clock
        # The decoded items of the calendars listed last, by the sync that wrote them (a new
        # sync of the calendar makes its entry stale); shared by the reads running plans.
        self._listed: dict[tuple[str, str], tuple[int, dict[str, mirror.Item]]] = {}
        self._lock = threading.Lock()
        # Every item's events decoded once, by their text (GETs, lists, pending own writes).
        self.decoded = mirror_reads.DecodedItems()

    def _reader(self, account: AccountContext) -> Reader | None:
        return self.readers.get(account.type) if self.max_age_us > 0 else None

    async def _items(
        self,
        account: AccountContext,
        calendar_id: str,
        wanted: list[str] | None,
        whole: Callable[[Items], bool] | None = None,
    ) -> Items | None:
        """The calendar's live items (those ``wanted``, or all; all when ``whole`` says so of
        the wanted ones) when its mirror is current, None otherwise: one read transaction on
        the bare driver."""
        now, max_age = self.clock(), self.max_age_us
        found: Items | None = await self.db.read_bare(
            self._plan(account.id, calendar_id, wanted, whole, now, max_age)
        )
        return found

    def _plan(
        self,
        account_id: str,
        calendar_id: str,
        wanted: list[str] | None,
        whole: Callable[[Items], bool] | None,
        now: int,
        max_age: int,
    ) -> Plan:
        stamp = yield from mirror_reads.current_as_of(
            account_id, calendar_id, now=now, max_age_us=max_age, decode=self.decoded
        )
        if stamp is None:
            return None
        if wanted is not None:
            found = yield from mirror_reads.items(account_id, calendar_id, wanted, self.decoded)
            live = _live(found)
            if whole is None or not whole(live):
                return live
        return (yield from self._listing(account_id, calendar_id, stamp))

    def _listing(self, account_id: str, calendar_id: str, stamp: int) -> Plan:
        """Every live item of the calendar whose mirror the sync of ``stamp`` wrote: those
        decoded for the last list of it, or read (and kept for the next lists)."""
        key = (account_id, calendar_id)
        with self._lock:
            cached = self._listed.get(key)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        live = _live((yield from mirror_reads.items(account_id, calendar_id, None, self.decoded)))
        with self._lock:
            self._listed.pop(key, None)
            while len(self._listed) >= LISTED_CALENDARS:
                self._listed.pop(next(iter(self._listed)))
            self._listed[key] = (stamp, live)
        return live

    async def get_event(
        self, account: AccountContext, calendar_id: str, event_id: str, then: Then | None
    ) -> tuple[Event, Any] | None:
        """The event from the mirror and what ``then(event)`` read after it, in one read
        transaction; None: ask the provider."""
        reader = self._reader(account)
        if reader is None:
            return None
        now, max_age = self.clock(), self.max_age_us

        def plan() -> Plan:
            found = yield from self._plan(
                account.id,
                calendar_id,
                reader.wanted(event_id),
                lambda items: reader.whole(items, event_id),
                now,
                max_age,
            )
            event = None if found is None else reader.get(found, event_id)
            if event is None:
                return None
            return event, (None if then is None else (yield from then(event)))

        got: tuple[Event, Any] | None = await self.db.read_bare(plan())
        return got

    async def list_events(
        self, account: AccountContext, calendar_id: str, query: EventQuery
    ) -> Page[Event] | None:
        reader = self._reader(account)
        if reader is None:
            return None
        found = await self._items(account, calendar_id, None)
        if found is None:
            return None
        return await offload.run(
            lambda budget: reader.page(found, query, budget), account.tenant_id
        )
