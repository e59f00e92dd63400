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

from sqlalchemy import select
from sqlalchemy.engine import Connection

from calgate import offload
from calgate.domain.model import Event, EventQuery, Page
from calgate.providers.base import AccountContext
from calgate.store import mirror, push
from calgate.store import tables as t
from calgate.store.db import Database, now_us
from calgate.sync.readers import READERS, Reader

__all__ = ["MirrorReads", "current_as_of", "mirror_current", "pending_own_write"]

# When the mirror may answer ----------------------------------------------------------------


def _candidates(account_id: str, calendar_id: str) -> Any:
    """Items calgate wrote whose ``own_version`` is not (yet) the version the mirror holds."""
    si = t.sync_items
    return (
        (si.c.account_id == account_id)
        & (si.c.calendar_id == calendar_id)
        & (si.c.own_version.is_not(None))
        & (si.c.own_version != si.c.version)
        & (si.c.version != mirror.REMOVED)
    )


def pending_own_write(conn: Connection, account_id: str, calendar_id: str) -> bool:
    """Whether a change calgate made in the calendar has not been seen by sync yet (its
    ``own_version`` is not the version the mirror holds): until then the mirror is bypassed,
    so that a read right after a write through calgate sees it."""
    si = t.sync_items
    rows = conn.execute(
        select(si.c.version, si.c.own_version, si.c.events).where(
            _candidates(account_id, calendar_id)
        )
    )
    for row in rows:
        if row.own_version != mirror.DELETED or row.version == 0:
            return True
        # Deleted by calgate: seen once sync found it cancelled (an object that stays).
        if not all(e.is_cancelled for e in mirror.events_from_text(row.events)):
            return True
    return False


def current_as_of(
    conn: Connection, account_id: str, calendar_id: str, *, now: int, max_age_us: int
) -> int | None:
    """When the calendar's mirror may answer reads, the time of its last successful sync
    (which names what the mirror holds: every sync run that changes it commits a new one);
    None otherwise. (One statement in the common case: reads take it on every request.)"""
    sc, si = t.sync_calendars, t.sync_items
    maybe_pending = select(si.c.item_id).where(_candidates(account_id, calendar_id)).exists()
    pushed = push.watched(account_id, calendar_id, now)
    row = conn.execute(
        select(
            sc.c.last_success_at,
            sc.c.cursor,
            sc.c.due_at,
            maybe_pending.label("maybe_pending"),
            pushed.label("pushed"),
        ).where(sc.c.account_id == account_id, sc.c.calendar_id == calendar_id)
    ).first()
    if row is None or row.cursor is None or row.last_success_at is None:
        return None
    # An active push channel and no notification waiting (it makes the sync due): the mirror
    # is as current as the provider's last notice, whatever the age of the last run.
    told = bool(row.pushed) and row.due_at > now and max_age_us > 0
    if now - row.last_success_at > max_age_us and not told:
        return None
    if row.maybe_pending and pending_own_write(conn, account_id, calendar_id):
        return None
    return int(row.last_success_at)


def mirror_current(
    conn: Connection, account_id: str, calendar_id: str, *, now: int, max_age_us: int
) -> bool:
    """Whether the calendar's mirror may answer reads: its last successful sync is younger
    than ``max_age_us`` and every change calgate made in it has been seen by sync since."""
    stamp = current_as_of(conn, account_id, calendar_id, now=now, max_age_us=max_age_us)
    return stamp is not None


# The service's mirror source ---------------------------------------------------------------

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
        # sync of the calendar makes its entry stale); read in the database's threads.
        self._listed: dict[tuple[str, str], tuple[int, dict[str, mirror.Item]]] = {}
        self._lock = threading.Lock()

    def _reader(self, account: AccountContext) -> Reader | None:
        return self.readers.get(account.type) if self.max_age_us > 0 else None

    async def _items(
        self, account: AccountContext, calendar_id: str, wanted: list[str] | None
    ) -> dict[str, mirror.Item] | None:
        now, max_age = self.clock(), self.max_age_us

        key = (account.id, calendar_id)

        def op(conn: Connection) -> dict[str, mirror.Item] | None:
            stamp = current_as_of(conn, account.id, calendar_id, now=now, max_age_us=max_age)
            if stamp is None:
                return None
            if wanted is None:
                with self._lock:
                    cached = self._listed.get(key)
                if cached is not None and cached[0] == stamp:
                    return cached[1]
            found = mirror.items(conn, account.id, calendar_id, wanted)
            live = {k: i for k, i in found.items() if i.version != mirror.REMOVED and i.events}
            if wanted is None:
                with self._lock:
                    self._listed.pop(key, None)
                    while len(self._listed) >= LISTED_CALENDARS:
                        self._listed.pop(next(iter(self._listed)))
                    self._listed[key] = (stamp, live)
            return live

        return await self.db.read(op)

    async def get_event(
        self, account: AccountContext, calendar_id: str, event_id: str
    ) -> Event | None:
        reader = self._reader(account)
        if reader is None:
            return None
        found = await self._items(account, calendar_id, reader.wanted(event_id))
        if found is not None and reader.whole(found, event_id):
            found = await self._items(account, calendar_id, None)
        return None if found is None else reader.get(found, event_id)

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
