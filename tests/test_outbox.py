"""The outbox tables and worker on a real database (SQLite, and PostgreSQL when configured):
atomic claims shared by several workers, leases that expire, retries, release on stop, pruning."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from calgate.outbox import NewDelivery, Outbox, notices, store
from calgate.outbox.store import Delivery
from calgate.outbox.worker import Backoff, Outcome, Worker, WorkerConfig
from calgate.runtime import Runtime
from calgate.settings import Settings
from calgate.store import tables
from calgate.store.db import Database, now_us
from calgate.store.ids import new_id

pytestmark = pytest.mark.anyio
FAST = WorkerConfig(concurrency=8, poll_seconds=0.02, backoff=Backoff(0.02, 0.05))


@dataclass
class Recorder:
    """A channel that records what it is given; ``answers`` scripts the outcomes."""

    name: str = "test"
    max_retries: int = 2
    timeout: float = 1.0
    seen: list[str] = field(default_factory=list)
    answers: list[Outcome | Exception] = field(default_factory=list)
    hold: anyio.Event | None = None
    pause: float = 0.0  # how long each delivery takes, as a real receiver's answer would

    async def deliver(self, delivery: Delivery, payload: dict[str, Any]) -> Outcome:
        self.seen.append(delivery.id)
        assert payload == {"shared": True}
        if self.pause:
            await anyio.sleep(self.pause)
        if self.hold is not None:
            await self.hold.wait()
        answer = self.answers.pop(0) if self.answers else Outcome(True, code=200)
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def aclose(self) -> None:
        return None


async def enqueue(db: Database, outbox: Outbox, count: int, channel: str = "test") -> list[str]:
    def op(conn: sa.Connection) -> list[str]:
        return outbox.add(
            conn,
            tenant_id="t",
            account_id="a",
            change_id=new_id(),
            event_id="e",
            payload={"shared": True},
            deliveries=[
                NewDelivery(channel, f"target-{i}", "topic", {"i": i}) for i in range(count)
            ],
        )

    return await db.write(op)


async def statuses(db: Database) -> dict[str, tuple[str, int]]:
    def op(conn: sa.Connection) -> dict[str, tuple[str, int]]:
        o = tables.outbox
        rows = conn.execute(sa.select(o.c.id, o.c.status, o.c.attempts))
        return {r.id: (r.status, r.attempts) for r in rows}

    return await db.read(op)


async def settled(db: Database, ids: list[str]) -> bool:
    found = await statuses(db)
    return all(found[i][0] != "pending" for i in ids)


async def until(check: Callable[[], Awaitable[bool]], within: float = 5.0) -> None:
    with anyio.fail_after(within):
        while True:
            if await check():
                return
            await anyio.sleep(0.01)


@pytest.fixture
async def db(runtime: Runtime) -> Database:
    return runtime.db


@pytest.fixture
async def second_db(settings: Settings) -> AsyncIterator[Database]:
    """Another connection pool on the same database: a second calgate process."""
    other = Database(settings.effective_database_url, synchronous="NORMAL")
    yield other
    await other.dispose()


async def test_concurrent_claims_never_overlap(db: Database, second_db: Database) -> None:
    ids = await enqueue(db, Outbox(), 300)
    now = now_us()

    async def claim(database: Database, n: int) -> list[str]:
        token = f"w{n}"
        got = await database.write(
            lambda c: store.claim(c, token=token, now=now, lease_until=now + 10**9, limit=25)
        )
        assert {d.claim for d in got} <= {token}
        assert len(got) <= 25
        return [d.id for d in got]

    batches = await asyncio.gather(*(claim(db if n % 2 else second_db, n) for n in range(16)))
    claimed = [i for batch in batches for i in batch]
    assert len(claimed) == len(set(claimed)) == 300
    assert set(claimed) == set(ids)
    assert {s for s in (await statuses(db)).values()} == {("pending", 1)}


async def test_a_claim_takes_no_more_than_asked(db: Database) -> None:
    # Regression: one UPDATE ... WHERE id IN (SELECT ... LIMIT n FOR UPDATE SKIP LOCKED)
    # claimed every due row on PostgreSQL.
    await enqueue(db, Outbox(), 40)
    now = now_us()

    async def claim(limit: int) -> int:
        got = await db.write(
            lambda c: store.claim(c, token=new_id(), now=now, lease_until=now + 10**9, limit=limit)
        )
        return len(got)

    assert [await claim(n) for n in (4, 4, 30, 4, 4)] == [4, 4, 30, 2, 0]


async def test_lease_expiry_hands_a_claim_to_another_worker(db: Database) -> None:
    [delivery_id] = await enqueue(db, Outbox(), 1)
    now = now_us()
    [first] = await db.write(
        lambda c: store.claim(c, token="a", now=now, lease_until=now + 1000, limit=10)
    )
    assert first.attempts == 1
    # Still leased: nobody else gets it.
    assert (
        await db.write(
            lambda c: store.claim(c, token="b", now=now + 999, lease_until=now + 10**6, limit=10)
        )
        == []
    )
    # The lease ended (worker "a" died): "b" claims it, as a second attempt.
    [again] = await db.write(
        lambda c: store.claim(c, token="b", now=now + 1000, lease_until=now + 10**6, limit=10)
    )
    assert (again.id, again.attempts, again.claim) == (delivery_id, 2, "b")
    # A late failure from "a" must not reschedule what "b" holds...
    await db.write(
        lambda c: store.fail(
            c, delivery_id, token="a", now=now, code=500, error="late", retry_at=now
        )
    )
    assert (await db.read(lambda c: store.get(c, delivery_id))).claim == "b"  # type: ignore[union-attr]
    # ...but a late success from "a" is a success.
    await db.write(lambda c: store.succeed(c, delivery_id, now=now, code=200))
    assert (await statuses(db))[delivery_id] == ("delivered", 2)


async def test_worker_delivers_retries_and_gives_up(db: Database) -> None:
    outbox = Outbox()
    channel = Recorder(
        answers=[
            Outcome(False, code=500, error="boom"),
            RuntimeError("channel bug"),
            Outcome(True, code=200),
        ]
    )
    [delivery_id] = await enqueue(db, outbox, 1)
    worker = Worker(db, outbox, [channel], FAST)
    async with worker.running():
        await until(lambda: settled(db, [delivery_id]))
    assert (await statuses(db))[delivery_id] == ("delivered", 3)
    assert channel.seen == [delivery_id] * 3

    channel.answers = [Outcome(False, code=500, error="no")] * 3
    [doomed] = await enqueue(db, outbox, 1)
    async with worker.running():
        await until(lambda: settled(db, [doomed]))
    found = await db.read(lambda c: store.get(c, doomed))
    assert found is not None
    assert (found.status, found.attempts, found.last_code, found.last_error) == (
        "failed",
        3,
        500,
        "no",
    )


async def test_permanent_failure_is_not_retried(db: Database) -> None:
    outbox = Outbox()
    channel = Recorder(answers=[Outcome(False, code=550, error="no such user", retry=False)])
    [delivery_id] = await enqueue(db, outbox, 1)
    worker = Worker(db, outbox, [channel], FAST)
    assert await worker.run_once() == 1
    assert (await statuses(db))[delivery_id] == ("failed", 1)


async def test_unknown_channel_is_failed(db: Database) -> None:
    outbox = Outbox()
    [delivery_id] = await enqueue(db, outbox, 1, channel="carrier-pigeon")
    worker = Worker(db, outbox, [Recorder()], FAST)
    await worker.run_once()
    found = await db.read(lambda c: store.get(c, delivery_id))
    assert found is not None
    assert (found.status, found.last_error) == (
        "failed",
        "no 'carrier-pigeon' channel is configured",
    )


async def test_two_workers_share_the_queue(db: Database, second_db: Database) -> None:
    outbox = Outbox()
    ids = await enqueue(db, outbox, 120)
    # Deliveries that take a moment, so one worker cannot drain the queue before the other's
    # first poll (an instant channel let one worker take all 120 on a quiet machine).
    a, b = Recorder(pause=0.02), Recorder(pause=0.02)
    wa = Worker(db, outbox, [a], FAST)
    wb = Worker(second_db, Outbox(), [b], FAST)
    async with wa.running(), wb.running():
        await until(lambda: settled(db, ids), within=20)
    assert sorted(a.seen + b.seen) == sorted(ids)  # each exactly once
    assert a.seen and b.seen


async def test_stopping_gives_back_what_is_in_flight(db: Database) -> None:
    outbox = Outbox()
    ids = await enqueue(db, outbox, 3)
    channel = Recorder(hold=anyio.Event())
    config = WorkerConfig(concurrency=8, poll_seconds=0.02, stop_grace_seconds=0.1)
    worker = Worker(db, outbox, [channel], config)
    await worker.start()

    async def all_started() -> bool:
        return len(channel.seen) == 3

    await until(all_started)
    await worker.stop()
    # Not attempted to the end: due again at once, the attempt not counted.
    assert await statuses(db) == {i: ("pending", 0) for i in ids}
    channel.hold = None
    assert await Worker(db, outbox, [channel], FAST).run_once() == 3
    assert {s for s in (await statuses(db)).values()} == {("delivered", 1)}


async def test_new_rows_wake_the_worker(db: Database) -> None:
    outbox = Outbox()
    channel = Recorder()
    slow_poll = WorkerConfig(concurrency=8, poll_seconds=30.0)
    worker = Worker(db, outbox, [channel], slow_poll)
    async with worker.running():
        await anyio.sleep(0.1)  # the worker is idle, waiting up to 30 s
        [delivery_id] = await enqueue(db, outbox, 1)
        await until(lambda: settled(db, [delivery_id]))


async def test_pruning_settles_notices_first(db: Database) -> None:
    outbox = Outbox()
    change_id = new_id()

    def op(conn: sa.Connection) -> list[str]:
        ids = outbox.add(
            conn,
            tenant_id="t",
            account_id="acc",
            change_id=change_id,
            event_id="ev",
            payload={"shared": True},
            deliveries=[NewDelivery("mail", "ada@example.org", "REQUEST", {})],
        )
        notices.put(conn, "acc", "ev", change_id, "queued", now_us())
        return ids

    [delivery_id] = await db.write(op)
    assert await db.read(lambda c: notices.states(c, "acc", ["ev"])) == {"ev": "queued"}
    now = now_us()
    await db.write(
        lambda c: store.fail(c, delivery_id, token="x", now=now, code=None, error="", retry_at=None)
    )
    # Not claimed by "x": nothing recorded.
    assert await db.read(lambda c: notices.states(c, "acc", ["ev"])) == {"ev": "queued"}
    await db.write(lambda c: store.claim(c, token="x", now=now, lease_until=now, limit=1))
    await db.write(
        lambda c: store.fail(c, delivery_id, token="x", now=now, code=550, error="", retry_at=None)
    )
    assert await db.read(lambda c: notices.states(c, "acc", ["ev"])) == {"ev": "failed"}

    def prune(conn: sa.Connection) -> int:
        notices.settle(conn, now + 1)
        return store.prune(conn, now + 1)

    assert await db.write(prune) == 1
    assert await statuses(db) == {}
    assert await db.read(lambda c: notices.states(c, "acc", ["ev"])) == {"ev": "failed"}

    def payloads(conn: sa.Connection) -> int:
        query = sa.select(sa.func.count()).select_from(tables.outbox_payloads)
        return int(conn.execute(query).scalar_one())

    assert await db.read(payloads) == 0


def test_backoff_grows_and_is_capped() -> None:
    backoff = Backoff(10.0, 100.0)
    delays = [backoff.delay(n) for n in range(1, 6)]
    for delay, plain in zip(delays, [10.0, 30.0, 90.0, 100.0, 100.0], strict=True):
        assert plain <= delay <= plain * 1.1


async def test_migration_matches_the_tables(db: Database) -> None:
    mine = {"outbox", "outbox_payloads", "notices", "webhooks"}

    def diff(conn: sa.Connection) -> list[Any]:
        context = MigrationContext.configure(conn)
        return [d for d in compare_metadata(context, tables.metadata) if _table_of(d) in mine]

    assert await db.read(diff) == []


def _table_of(diff: Any) -> str | None:
    item = diff[0] if isinstance(diff, list) else diff
    for part in item[1:]:
        name = getattr(part, "name", None)
        table = getattr(part, "table", None)
        if table is not None:
            return str(table.name)
        if isinstance(part, str) and part in {"outbox", "outbox_payloads", "notices", "webhooks"}:
            return part
        if name in {"outbox", "outbox_payloads", "notices", "webhooks"}:
            return str(name)
    return None
