"""The outbox worker: claims due deliveries, hands each to its channel, records the outcome.

Several workers (``calgate serve`` processes, ``calgate worker`` processes) may share one
database: a claim is atomic, so a delivery is attempted by one worker at a time. Claims are
fair (:func:`calgate.outbox.store.claim`): one delivery per webhook or recipient in flight,
tenants in turn, and at most ``per_tenant`` of a worker's slots for one tenant, so a receiver
that never answers slows only its own deliveries. Semantics are
at least once: a worker that dies after a channel delivered but before the outcome was recorded
leaves the delivery claimed until its lease ends, and it is attempted again, with the same id
(mail: the same Message-ID; webhooks: the same delivery id), so that receivers can drop it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.engine import Connection

from calgate import metrics
from calgate.background import Background
from calgate.outbox import Outbox, notices, store
from calgate.outbox.store import Delivery
from calgate.store.db import Database, now_us
from calgate.store.ids import new_id

if TYPE_CHECKING:
    from calgate.runtime import Runtime

log = logging.getLogger("calgate.outbox")

# How often finished deliveries older than the retention are pruned.
PRUNE_EVERY_SECONDS = 600.0
# A claim lasts at least this many times the longest channel timeout.
LEASE_OVER_TIMEOUT = 2.0
# After a wake-up that found nothing (the change may not be committed yet), look again once.
RECHECK_SECONDS = 0.05


@dataclass(frozen=True, slots=True)
class Outcome:
    ok: bool
    code: int | None = None
    error: str = ""
    retry: bool = True  # False: a permanent failure, no further attempt


class Channel(Protocol):
    """One way out (``mail``, ``webhook``): delivers one delivery, never raises for a failed
    delivery (it returns an :class:`Outcome`)."""

    name: str
    max_retries: int
    timeout: float

    async def deliver(self, delivery: Delivery, payload: dict[str, Any]) -> Outcome: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delay before retry ``n`` (1-based): ``base * 3**(n-1)``, at most ``cap``, plus up to 10%
    jitter so that retries of many deliveries spread out."""

    base: float
    cap: float

    def delay(self, retry: int) -> float:
        plain = min(self.cap, self.base * 3.0 ** max(0, retry - 1))
        return plain * (1 + random.random() / 10)


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    concurrency: int = 8
    # Deliveries of one tenant in flight at once (0: half of ``concurrency``, at least 1).
    per_tenant: int = 0
    poll_seconds: float = 1.0
    lease_seconds: float = 300.0
    backoff: Backoff = Backoff(10.0, 3600.0)
    retention_seconds: float = 30 * 86400.0
    stop_grace_seconds: float = 10.0


def _seconds_us(seconds: float) -> int:
    return int(seconds * 1_000_000)


class Worker(Background):
    task_name = "calgate-outbox-worker"

    def __init__(
        self, db: Database, outbox: Outbox, channels: list[Channel], config: WorkerConfig
    ) -> None:
        super().__init__()
        self.db = db
        self.outbox = outbox
        self.channels = {c.name: c for c in channels}
        self.config = config
        longest = max((c.timeout for c in channels), default=0.0)
        self.lease_seconds = max(config.lease_seconds, LEASE_OVER_TIMEOUT * longest)
        self.per_tenant = config.per_tenant or max(1, config.concurrency // 2)
        self.token = new_id()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._inflight: dict[asyncio.Task[None], Delivery] = {}
        self._next_prune = 0.0

    # lifecycle (start, stop, running: Background) --------------------------------------

    def _kick(self) -> None:
        """Called by the outbox (possibly from the database writer thread) on new rows."""
        loop, wake = self._loop, self._wake
        if loop is None or wake is None or loop.is_closed():
            return
        loop.call_soon_threadsafe(wake.set)
        # The change that wrote the rows commits right after: look again a moment later.
        loop.call_soon_threadsafe(loop.call_later, RECHECK_SECONDS, wake.set)

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self.outbox.subscribe(self._kick)
        log.info("outbox worker %s started (channels: %s)", self.token, ", ".join(self.channels))
        try:
            while not self._stopping:
                self._wake.clear()
                await self._housekeeping()
                free = self.config.concurrency - len(self._inflight)
                claimed = await self._fill(free) if free > 0 else 0
                if free > 0 and claimed == free:
                    continue  # more may be due
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.config.poll_seconds):
                        await self._wake.wait()
        finally:
            self.outbox.unsubscribe(self._kick)
            await self._drain()
            log.info("outbox worker %s stopped", self.token)

    async def _drain(self) -> None:
        """Let deliveries in flight finish for a while, then give back what is left."""
        if self._inflight:
            await asyncio.wait(list(self._inflight), timeout=self.config.stop_grace_seconds)
        left = list(self._inflight.items())
        for task, _ in left:
            task.cancel()
        if left:
            await asyncio.gather(*(task for task, _ in left), return_exceptions=True)
            ids = [d.id for _, d in left]
            await self.db.write(lambda c: store.release(c, self.token, ids, now=now_us()))

    # claiming and delivering -----------------------------------------------------------

    async def run_once(self) -> int:
        """Claim what is due now, deliver it and wait for the outcomes (for tests and tools)."""
        claimed = await self._fill(self.config.concurrency)
        if self._inflight:
            await asyncio.gather(*self._inflight)
        return claimed

    async def _fill(self, free: int) -> int:
        now = now_us()
        lease_until = now + _seconds_us(self.lease_seconds)

        held = Counter(d.tenant_id for d in self._inflight.values())

        def op(conn: Connection) -> tuple[list[Delivery], dict[str, dict[str, Any]]]:
            claimed = store.claim(
                conn,
                token=self.token,
                now=now,
                lease_until=lease_until,
                limit=free,
                per_tenant=self.per_tenant,
                held=held,
            )
            return claimed, store.payloads(conn, {d.payload_id for d in claimed})

        try:
            claimed, payloads = await self.db.write(op)
        except Exception:
            log.exception("outbox: claiming deliveries failed; retrying later")
            return 0
        for delivery in claimed:
            payload = payloads.get(delivery.payload_id, {})
            task = asyncio.create_task(self._deliver(delivery, payload))
            self._inflight[task] = delivery
            task.add_done_callback(self._done)
        return len(claimed)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._inflight.pop(task, None)
        if self._wake is not None:
            self._wake.set()

    async def _deliver(self, delivery: Delivery, payload: dict[str, Any]) -> None:
        channel = self.channels.get(delivery.channel)
        if channel is None:
            outcome = Outcome(False, error=f"no {delivery.channel!r} channel is configured")
            retries = 0
        else:
            retries = channel.max_retries
            try:
                outcome = await channel.deliver(delivery, payload)
            except Exception as exc:  # a channel bug must not stop the worker
                log.exception("outbox: %s delivery %s raised", delivery.channel, delivery.id)
                outcome = Outcome(False, error=f"{type(exc).__name__}: {exc}")
        try:
            await self._record(delivery, outcome, retries)
        except Exception:
            # The claim stays until its lease ends; the delivery is then attempted again.
            log.exception("outbox: recording delivery %s failed", delivery.id)

    async def _record(self, delivery: Delivery, outcome: Outcome, retries: int) -> None:
        now = now_us()
        if outcome.ok:
            await self.db.write(lambda c: store.succeed(c, delivery.id, now=now, code=outcome.code))
            log.debug("outbox: %s delivery %s done", delivery.channel, delivery.id)
            return
        retry_at: int | None = None
        if outcome.retry and delivery.attempts <= retries:
            delay = self.config.backoff.delay(delivery.attempts)
            retry_at = now + _seconds_us(delay)
        log.log(
            logging.WARNING if retry_at is None else logging.INFO,
            "outbox: %s delivery %s attempt %d failed (%s)%s",
            delivery.channel,
            delivery.id,
            delivery.attempts,
            outcome.error,
            "" if retry_at is None else f"; retrying in {(retry_at - now) / 1e6:.1f}s",
        )
        metrics.outbox_failure(delivery.channel)
        await self.db.write(
            lambda c: store.fail(
                c,
                delivery.id,
                token=self.token,
                now=now,
                code=outcome.code,
                error=outcome.error,
                retry_at=retry_at,
            )
        )

    async def _housekeeping(self) -> None:
        if time.monotonic() < self._next_prune:
            return
        self._next_prune = time.monotonic() + PRUNE_EVERY_SECONDS
        cutoff = now_us() - _seconds_us(self.config.retention_seconds)

        def op(conn: Connection) -> int:
            notices.settle(conn, cutoff)
            return store.prune(conn, cutoff)

        try:
            pruned = await self.db.write(op)
        except Exception:
            log.exception("outbox: pruning old deliveries failed")
            return
        if pruned:
            log.info("outbox: pruned %d finished deliveries", pruned)

    async def aclose(self) -> None:
        await self.stop()
        for channel in self.channels.values():
            await channel.aclose()


@metrics.on_scrape
async def outbox_gauges(runtime: Runtime) -> None:
    """Outbox depth and given-up messages by kind, read from the shared queue at each scrape."""
    counts = await runtime.db.read(store.depth)
    for kind in ("mail", "webhook"):
        metrics.OUTBOX_DEPTH.labels(kind).set(counts.get((kind, "pending"), 0))
        metrics.OUTBOX_FAILED.labels(kind).set(counts.get((kind, "failed"), 0))
