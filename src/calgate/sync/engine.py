"""One sync run: pull a calendar's changes from its feed, then, in ONE transaction, compare
them with the mirror, write the mirror, queue the webhook deliveries they cause and store the
new cursor, only while this process still holds the calendar's lease.

So a crash at any point loses nothing (the cursor moves only with the changes it covers) and
reports nothing twice (the deliveries commit with the mirror that says they were made). The
first run of a calendar is its baseline: what is there already is mirrored, not reported.
A run that found nothing has only its end to record, together with other such runs
(:mod:`calgate.sync.quiet`).

Changes made through calgate are not reported again: the effect :class:`OwnWrites` records,
in the transaction of such a change, the version the provider gave it; sync then takes that
version in silently. When sync saw the change first (the provider confirmed it and sync read
it before calgate recorded it), :class:`OwnWrites` drops calgate's own delivery instead.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.engine import Connection

from calgate.domain import rules
from calgate.domain.model import Event
from calgate.providers.base import AccountContext, Change, Effects
from calgate.store import mirror
from calgate.store.db import Database, now_us
from calgate.store.mirror import DELETED, REMOVED, CalendarState, Item, Quiet
from calgate.sync.diff import Delta, deltas, gone
from calgate.sync.feed import ChangeFeed, Pull
from calgate.sync.quiet import QuietRuns

log = logging.getLogger("calgate.sync")


class LeaseLost(Exception):
    """Another process took the calendar over (this run's lease ran out): nothing committed."""


@dataclass(frozen=True, slots=True)
class Result:
    changes: int
    items: int
    full_resync: bool


def _apply(
    conn: Connection,
    account: AccountContext,
    state: CalendarState,
    pull: Pull,
    effect: Effects,
    now: int,
) -> int:
    """Mirror ``pull`` and queue its deliveries; returns how many changes were reported."""
    baseline = state.cursor is None
    touched = {f.item_id for f in pull.changed} | set(pull.removed)
    touched |= {f.cancels[0] for f in pull.changed if f.cancels is not None}
    old = mirror.items(
        conn, account.id, state.calendar_id, None if pull.present is not None else touched
    )
    old = {i: item for i, item in old.items() if item.version != REMOVED}  # tombstones
    _resolve(pull, old)
    # Occurrences that are provider objects of their own and already cancelled (Google): a
    # series gaining their EXDATE later (calgate adds one) does not report them again.
    cancelled = {i for i, item in old.items() if _cancelled(item.events, item.own_version)}
    cancelled |= {f.item_id for f in pull.changed if _cancelled(f.events, None)}
    cancelled |= {
        e.id
        for events, own in [
            *((i.events, i.own_version) for i in old.values()),
            *((f.events, None) for f in pull.changed),
        ]
        if _cancelled(events, own)
        for e in events
    }
    reported = 0

    def report(found: list[Delta], item_id: str) -> None:
        nonlocal reported
        if baseline:
            return
        for kind, event, before in found:
            if kind == "deleted" and event.id != item_id and event.id in cancelled:
                continue
            effect(conn, Change(kind, account, state.calendar_id, event, before))
            reported += 1

    written: list[Item] = []
    for found in pull.changed:
        previous = old.get(found.item_id)
        own = previous.own_version if previous is not None else None
        if previous is not None and previous.events and previous.version == found.version:
            continue  # unchanged
        silent = own == found.version or (
            own == DELETED and all(e.is_cancelled for e in found.events)
        )
        if not silent and not found.quiet:
            before = previous.events if previous is not None else []
            report(deltas(before, found.events, known=own is not None), found.item_id)
        written.append(
            Item(found.item_id, found.href, found.etag, found.version, found.events, own)
        )
    mirror.put_items(conn, account.id, state.calendar_id, written, now)
    removed = set(pull.removed)
    if pull.present is not None:
        removed |= set(old) - pull.present
    for item_id in sorted(removed):
        previous = old.get(item_id)
        if previous is None:
            continue
        if previous.own_version != DELETED:
            # An occurrence that was an object of its own (Graph): deleted, unless its whole
            # series went with it.
            alone = [e for e in previous.events if e.master_event_id not in removed]
            report(gone(alone, occurrences=True), item_id)
    mirror.bury_items(conn, account.id, state.calendar_id, removed & set(old), now)
    return reported


def _found_nothing(pull: Pull) -> bool:
    """Whether ``pull`` changes nothing in the mirror (an idle calendar's poll)."""
    return not pull.changed and not pull.removed and pull.present is None and not pull.resync


def _cancelled(events: list[Event], own_version: int | None) -> bool:
    if own_version == DELETED:
        return True
    return bool(events) and all(e.is_cancelled for e in events)


def _resolve(pull: Pull, old: dict[str, Item]) -> None:
    """Give the cancelled occurrences named only by series and start their event, from their
    series as this pull found it or else as mirrored (those of a series neither holds are left
    out). A first run finds a series and its cancelled occurrences together."""
    found_now = {f.item_id: f.events for f in pull.changed if f.cancels is None and f.events}
    kept = []
    for found in pull.changed:
        if found.cancels is not None and not found.events:
            series_id, start = found.cancels
            series = old.get(series_id)
            events = found_now.get(series_id) or (series.events if series else [])
            master = next((e for e in events if not e.master_event_id), None)
            if master is None:
                continue
            occurrence = rules.occurrence_of(master, start)
            found.events = [dataclasses.replace(occurrence, id=found.item_id, is_cancelled=True)]
        kept.append(found)
    pull.changed = kept


class Engine:
    def __init__(
        self,
        db: Database,
        feeds: Mapping[str, ChangeFeed],
        effect: Effects,
        *,
        interval_seconds: float,
    ) -> None:
        self.db = db
        self.feeds = feeds
        self.effect = effect
        self.interval_us = int(interval_seconds * 1_000_000)
        self.quiet = QuietRuns(db)

    async def calendars(self, account: AccountContext, token: str) -> int:
        """Read the account's calendar list into the sync state (its lease held by ``token``)."""
        found = await self.feeds[account.type].calendars(account)
        now = now_us()
        await self.db.write(
            lambda c: mirror.set_calendars(
                c,
                account.id,
                account.tenant_id,
                found,
                token=token,
                now=now,
                next_due=now + self.interval_us * DISCOVER_EVERY,
            )
        )
        return len(found)

    async def run(self, account: AccountContext, state: CalendarState, token: str) -> Result:
        """One run for one calendar whose lease ``token`` holds."""
        feed = self.feeds[account.type]

        async def known() -> dict[str, Item]:
            return await self.db.read(lambda c: mirror.items(c, account.id, state.calendar_id))

        pull = await feed.pull(account, state, known)
        now = now_us()
        if _found_nothing(pull):
            # Nothing for the mirror: only the run's end to record, with other such runs.
            quiet = Quiet(state, pull.cursor, pull.mode, now, now + self.interval_us)
            if not await self.quiet.finish(quiet, token):
                raise LeaseLost(state.calendar_id)
            return Result(0, 0, False)

        def commit(conn: Connection) -> int:
            changes = _apply(conn, account, state, pull, self.effect, now)
            if not mirror.finish(
                conn,
                state,
                token=token,
                now=now,
                next_due=now + self.interval_us,
                cursor=pull.cursor,
                mode=pull.mode,
                changes=changes,
                full_resync=pull.resync,
            ):
                raise LeaseLost(state.calendar_id)
            return changes

        changes = await self.db.write(commit)
        if changes or pull.resync:
            log.info(
                "sync %s/%s: %d change(s)%s",
                account.id,
                state.calendar_id,
                changes,
                " after a full resync" if pull.resync else "",
            )
        return Result(changes, len(pull.changed), pull.resync)


# The calendar list of an account is read again every this many polling intervals.
DISCOVER_EVERY = 5
