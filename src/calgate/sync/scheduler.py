"""The sync scheduler, run by ``calgate serve`` and ``calgate worker``: it enrols the accounts
of synced types, claims due jobs through the database and runs them.

Two kinds of job, each claimed with a lease (:mod:`calgate.store.mirror`): an account's
calendar list (read when the account is connected, then every few intervals) and a calendar's
change feed (every ``interval`` after its last run; after a failure, with a growing delay up to
an hour; ``Retry-After`` when the provider asked for it). Any number of processes share the
jobs; no calendar is run by two at once, and at most ``per_account`` calendars of one account
run at a time across all of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection

from calgate.background import Background
from calgate.errors import CalgateError
from calgate.providers.base import AccountContext
from calgate.services.accounts import AccountService
from calgate.store import accounts as account_store
from calgate.store import bare, mirror
from calgate.store.accounts import AccountRecord
from calgate.store.db import Database, now_us
from calgate.store.ids import new_id
from calgate.store.mirror import CalendarState
from calgate.sync import stats
from calgate.sync.engine import Engine, LeaseLost, Result
from calgate.sync.feed import CalendarGone

log = logging.getLogger("calgate.sync")

ENROL_EVERY_SECONDS = 2.0
MAX_BACKOFF_SECONDS = 3600.0


@dataclass(frozen=True, slots=True)
class SyncConfig:
    interval_seconds: float = 60.0
    concurrency: int = 8
    per_account: int = 2
    lease_seconds: float = 300.0
    tick_seconds: float = 1.0


def _us(seconds: float) -> int:
    return int(seconds * 1_000_000)


class Scheduler(Background):
    task_name = "calgate-sync"

    def __init__(
        self,
        db: Database,
        accounts: AccountService,
        engine: Engine,
        config: SyncConfig,
    ) -> None:
        super().__init__()
        self.db = db
        self.accounts = accounts
        self.engine = engine
        self.config = config
        self.types = sorted(engine.feeds)
        self.token = new_id()
        self._running: set[asyncio.Task[object]] = set()
        self._next_enrol = 0.0

    # lifecycle (start, stop, running, wake: Background) --------------------------------

    async def _main(self) -> None:
        self._wake = asyncio.Event()
        log.info("sync scheduler %s started (%s)", self.token, ", ".join(self.types))
        try:
            while not self._stopping:
                self._wake.clear()
                try:
                    await self.tick()
                except Exception:
                    log.exception("sync: scheduling failed; trying again")
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.config.tick_seconds):
                        await self._wake.wait()
        finally:
            if self._running:
                await asyncio.gather(*self._running, return_exceptions=True)
            log.info("sync scheduler %s stopped", self.token)

    # one tick --------------------------------------------------------------------------

    async def tick(self) -> None:
        """Enrol new accounts, then start the jobs that are due (as many as free slots)."""
        if time.monotonic() >= self._next_enrol:
            self._next_enrol = time.monotonic() + ENROL_EVERY_SECONDS
            await self.db.write(lambda c: mirror.enroll(c, self.types, now_us()))
        free = self.config.concurrency - len(self._running)
        if free <= 0:
            return
        now = now_us()
        accounts_due, calendars_due = await self.db.read_bare(mirror.due_plan(now))
        until = now + _us(self.config.lease_seconds)
        if accounts_due:
            owned = await self.db.write(
                lambda c: mirror.claim_accounts(
                    c, token=self.token, now=now, lease_until=until, limit=free
                )
            )
            for account_id, _tenant in owned:
                self._spawn(self._calendars(account_id))
            free -= len(owned)
        if free <= 0 or not calendars_due:
            return
        states, records = await self.db.write(lambda c: self._claim(c, now, until, free))
        # Each account's secrets opened once for all its calendars claimed now.
        contexts = {a: self.accounts.context_of(r) for a, r in records.items()}
        for state in states:
            self._spawn(self._calendar(state, contexts.get(state.account_id)))

    def _claim(
        self, conn: Connection, now: int, until: int, free: int
    ) -> tuple[list[CalendarState], dict[str, AccountRecord]]:
        """Up to ``free`` due calendars, with their accounts as they are now (read once per
        account, in the claim's transaction)."""
        plan = mirror.claim_plan(
            token=self.token,
            now=now,
            lease_until=until,
            limit=free,
            per_account=self.config.per_account,
            accounts=True,
        )
        return bare.run(plan, bare.on(conn))  # type: ignore[no-any-return]

    def _spawn(self, work: Coroutine[Any, Any, object]) -> None:
        task: asyncio.Task[object] = asyncio.create_task(work)
        self._running.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[object]) -> None:
        self._running.discard(task)
        self.wake()

    # jobs ------------------------------------------------------------------------------

    async def _context(self, account_id: str) -> AccountContext | None:
        record = await self.db.read(lambda c: account_store.get_account(c, account_id, None))
        return None if record is None else self.accounts.context_of(record)

    def _retry_at(self, failures: int, error: Exception) -> int:
        asked = error.headers.get("Retry-After") if isinstance(error, CalgateError) else None
        if asked is not None and asked.isdigit():
            return now_us() + _us(float(asked))
        delay = min(MAX_BACKOFF_SECONDS, self.config.interval_seconds * 2.0 ** min(failures, 12))
        return now_us() + _us(delay)

    async def _calendars(self, account_id: str) -> int | None:
        account = await self._context(account_id)
        if account is None:
            return None
        try:
            return await self.engine.calendars(account, self.token)
        except Exception as error:
            if not isinstance(error, CalgateError):
                log.exception("sync: reading the calendars of %s failed", account_id)
            message = _message(error)
            retry_at = self._retry_at(1, error)
            await self.db.write(
                lambda c: mirror.account_failed(
                    c, account_id, token=self.token, now=now_us(), error=message, retry_at=retry_at
                )
            )
            return None

    async def _calendar(
        self, state: CalendarState, account: AccountContext | None = None
    ) -> Result | None:
        """Run one claimed calendar (``account``: as read when it was claimed)."""
        account = account or await self._context(state.account_id)
        if account is None:
            return None
        started = time.perf_counter()
        try:
            result = await self.engine.run(account, state, self.token)
        except LeaseLost:
            log.warning(
                "sync %s/%s: lease lost, nothing committed", state.account_id, state.calendar_id
            )
            return None
        except Exception as error:
            if not isinstance(error, CalgateError):
                log.exception("sync %s/%s failed", state.account_id, state.calendar_id)
            else:
                log.info("sync %s/%s failed: %s", state.account_id, state.calendar_id, error)
            stats.run(account.type, "error", time.perf_counter() - started)
            message = _message(error)
            retry_at = self._retry_at(state.failures + 1, error)
            calendar_gone = isinstance(error, CalendarGone)

            def failed(conn: Connection) -> None:
                mirror.calendar_failed(
                    conn,
                    state,
                    token=self.token,
                    now=now_us(),
                    error=message,
                    retry_at=retry_at,
                )
                if calendar_gone:  # read the calendar list again now
                    mirror.make_due(conn, state.account_id, now_us())

            await self.db.write(failed)
            return None
        stats.run(account.type, "ok", time.perf_counter() - started)
        stats.seen(account.type, result.changes, result.full_resync)
        return result

    # calgate sync now ----------------------------------------------------------------------

    async def run_account(self, account_id: str) -> list[tuple[str, Result | None]]:
        """Run the account's calendar list and each of its calendars now, in this process
        (those another process holds are skipped)."""
        await self.db.write(lambda c: mirror.enroll(c, self.types, now_us()))
        now = now_us()
        until = now + _us(self.config.lease_seconds)
        owned = await self.db.write(
            lambda c: mirror.claim_accounts(
                c, token=self.token, now=now, lease_until=until, limit=1, account_id=account_id
            )
        )
        if owned:
            await self._calendars(account_id)
        states = await self.db.write(
            lambda c: mirror.claim_calendars(
                c,
                token=self.token,
                now=now_us(),
                lease_until=until,
                limit=10_000,
                per_account=10_000,
                account_id=account_id,
            )
        )
        done: list[tuple[str, Result | None]] = []
        for state in states:
            done.append((state.calendar_id, await self._calendar(state)))
        return done


def _message(error: Exception) -> str:
    if isinstance(error, CalgateError):
        return f"{error.error.type}: {error.detail}"
    return f"{type(error).__name__}: {error}"


__all__ = ["Scheduler", "SyncConfig"]
