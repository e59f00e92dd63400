"""Quiet runs (an idle calendar's poll: nothing changed) end together: the runs that finish
while such a write is under way are recorded in the next one, one transaction for many
calendars, each still only while its lease is held; the sync state they leave (last success,
next run, cursor) is what ``GET /api/v1/accounts/{id}`` shows, as when each run wrote alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest

from calgate.domain.times import format_utc
from calgate.settings import Settings
from calgate.store import mirror
from calgate.store.codec import us_to_dt
from calgate.store.db import Database, Op, now_us
from calgate.store.mirror import CalendarState, Quiet
from calgate.sync.engine import LeaseLost
from calgate.sync.quiet import QuietRuns
from tests.conftest import Api
from tests.radicale import Radicale, radicale_fixture  # noqa: F401
from tests.synckit import sync_settings

pytestmark = pytest.mark.anyio

INTERVAL = 60.0
CALENDARS = ["c0", "c1", "c2", "c3", "c4"]


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return sync_settings(database_url, tmp_path, sync_interval_seconds=INTERVAL)


class Counting:
    """The real database, counting the write transactions asked of it."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.writes = 0

    async def write(self, op: Op[Any]) -> Any:
        self.writes += 1
        return await self.db.write(op)


async def synced_calendars(api: Api, radicale: Radicale) -> str:
    """A CalDAV account with five empty calendars, each past its baseline."""
    user = radicale.add_user()
    for slug in CALENDARS:
        radicale.make_calendar(user, slug, slug.upper())
    body = {
        "provider": "CALDAV",
        "url": radicale.url,
        "username": user.name,
        "password": user.password,
    }
    r = await api.call("POST", "/api/v1/accounts", json=body)
    assert r.status_code == 201, r.text
    account_id = str(r.json()["account_id"])
    done = await api.runtime.scheduler().run_account(account_id)
    assert sorted(c for c, result in done if result is not None) == CALENDARS
    return account_id


async def claim(db: Database, account_id: str, token: str) -> list[CalendarState]:
    now = now_us()
    await db.write(lambda c: mirror.make_due(c, account_id, now))
    return await db.write(
        lambda c: mirror.claim_calendars(
            c,
            token=token,
            now=now_us(),
            lease_until=now_us() + 10**8,
            limit=10,
            per_account=10,
            account_id=account_id,
        )
    )


async def states(db: Database, account_id: str) -> dict[str, CalendarState]:
    return {
        s.calendar_id: s for s in await db.read(lambda c: mirror.calendar_states(c, account_id))
    }


async def test_quiet_runs_ending_together_are_one_transaction(api: Api, radicale: Radicale) -> None:
    """Five calendars' quiet runs end in the same moment: one write records all five (their
    cursor, next run and last success each as its own run found them); a sixth, ending
    later, is a write of its own."""
    db = api.runtime.db
    account_id = await synced_calendars(api, radicale)
    claimed = await claim(db, account_id, "process-a")
    assert sorted(s.calendar_id for s in claimed) == CALENDARS
    counting = Counting(db)
    quiet = QuietRuns(counting)
    runs = [
        Quiet(state, f"token-{i}", state.mode, now_us() - i * 1_000_000, now_us() + 10**7)
        for i, state in enumerate(claimed)
    ]
    recorded: dict[str, bool] = {}
    async with anyio.create_task_group() as tasks:
        for run in runs:

            async def finish(run: Quiet = run) -> None:
                recorded[run.state.calendar_id] = await quiet.finish(run, "process-a")

            tasks.start_soon(finish)
    assert recorded == dict.fromkeys(CALENDARS, True)
    assert counting.writes == 1
    after = await states(db, account_id)
    for run in runs:
        state = after[run.state.calendar_id]
        assert (state.cursor, state.last_success_at, state.due_at) == (
            run.cursor,
            run.now,
            run.next_due,
        )
        assert (state.lease_owner, state.failures, state.last_error) == (None, 0, "")

    [again] = [s for s in await claim(db, account_id, "process-a") if s.calendar_id == "c0"]
    assert await quiet.finish(Quiet(again, "later", again.mode, now_us(), now_us()), "process-a")
    assert counting.writes == 2


async def test_a_quiet_run_whose_lease_was_lost_writes_nothing(
    api: Api, radicale: Radicale
) -> None:
    """In one write with others, a run whose calendar another process took over (its lease ran
    out and was claimed again) records nothing; the others are recorded."""
    db = api.runtime.db
    account_id = await synced_calendars(api, radicale)
    claimed = await claim(db, account_id, "process-a")
    before = await states(db, account_id)
    await db.write(  # c2's lease passes to process-b
        lambda c: c.execute(
            mirror.sc.update()
            .where(mirror.sc.c.account_id == account_id, mirror.sc.c.calendar_id == "c2")
            .values(lease_owner="process-b")
        )
    )
    quiet = QuietRuns(db)
    done: dict[str, bool] = {}
    async with anyio.create_task_group() as tasks:
        for state in claimed:

            async def finish(state: CalendarState = state) -> None:
                run = Quiet(state, "new-token", state.mode, now_us(), now_us() + 10**7)
                done[state.calendar_id] = await quiet.finish(run, "process-a")

            tasks.start_soon(finish)
    assert done == {c: c != "c2" for c in CALENDARS}
    after = await states(db, account_id)
    assert after["c2"].lease_owner == "process-b"
    assert (after["c2"].cursor, after["c2"].last_success_at) == (
        before["c2"].cursor,
        before["c2"].last_success_at,
    )
    assert {c: after[c].cursor for c in CALENDARS if c != "c2"} == dict.fromkeys(
        ["c0", "c1", "c3", "c4"], "new-token"
    )


async def test_idle_polls_keep_the_accounts_sync_state_true(api: Api, radicale: Radicale) -> None:
    """Idle calendars polled by the engine (their runs end together): each calendar's last
    success, lag and next run in ``GET /api/v1/accounts/{id}`` are those of its own run; a run
    that lost its lease raises LeaseLost and leaves its calendar as it was."""
    db = api.runtime.db
    account_id = await synced_calendars(api, radicale)
    scheduler = api.runtime.scheduler()
    engine = scheduler.engine
    context = await scheduler._context(account_id)
    assert context is not None
    claimed = await claim(db, account_id, scheduler.token)
    await db.write(
        lambda c: c.execute(
            mirror.sc.update()
            .where(mirror.sc.c.account_id == account_id, mirror.sc.c.calendar_id == "c4")
            .values(lease_owner="process-b")
        )
    )
    before = await states(db, account_id)
    started = now_us()
    outcomes: dict[str, Any] = {}
    async with anyio.create_task_group() as tasks:
        for state in claimed:

            async def run(state: CalendarState = state) -> None:
                try:
                    outcomes[state.calendar_id] = await engine.run(context, state, scheduler.token)
                except LeaseLost:
                    outcomes[state.calendar_id] = "lease lost"

            tasks.start_soon(run)
    ended = now_us()
    assert outcomes["c4"] == "lease lost"
    assert all(outcomes[c].changes == 0 for c in CALENDARS if c != "c4")
    after = await states(db, account_id)
    assert after["c4"] == before["c4"]

    r = await api.call("GET", f"/api/v1/accounts/{account_id}")
    shown = {s["calendar_id"]: s for s in r.json()["sync"]["calendars"]}
    for calendar_id in CALENDARS[:4]:
        state = after[calendar_id]
        assert state.last_success_at is not None
        assert started <= state.last_success_at <= ended
        assert state.due_at == state.last_success_at + int(INTERVAL * 1_000_000)
        assert state.lease_owner is None
        item = shown[calendar_id]
        assert item["status"] == "ok"
        assert item["last_success_at"] == _iso(state.last_success_at)
        assert item["next_run_at"] == _iso(state.due_at)
        assert 0 <= item["lag_seconds"] < 5
    assert shown["c4"]["last_success_at"] == _iso(before["c4"].last_success_at)


def _iso(us: int | None) -> str:
    assert us is not None
    return format_utc(us_to_dt(us))
