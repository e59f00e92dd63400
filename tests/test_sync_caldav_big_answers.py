"""Big CalDAV answers read by provider sync (issue 13, item 4): a calendar whose
``sync-collection`` answer is megabytes long (a big calendar's first sync, or a hostile server)
is read off the event loop, as the events list reads its big calendar queries: other requests
go on being served meanwhile. A real Radicale holds the account; the proxy in front of it
answers the sync REPORT with a big multistatus of its own."""

from __future__ import annotations

import time
from pathlib import Path

import anyio
import pytest

from calgate.outbox.worker import Worker
from calgate.settings import Settings
from tests import synckit
from tests.conftest import Api
from tests.radicale import Radicale, radicale_fixture  # noqa: F401
from tests.receiver import Receiver
from tests.synckit import receiver_fixture, sync_settings, webhook, worker_fixture  # noqa: F401
from tests.test_caldav_big_answers import big_proxy, multistatus

pytestmark = pytest.mark.anyio
MIB = 2**20
TOKEN = "http://radicale.invalid/sync/big-1"


def sync_answer(size: int, calendar_path: str) -> bytes:
    """A sync-collection answer listing about ``size`` bytes of events, with its token."""
    body = multistatus(size, calendar_path)
    end = b"</D:multistatus>"
    assert body.endswith(end)
    return body[: -len(end)] + f"<D:sync-token>{TOKEN}</D:sync-token>".encode() + end


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return sync_settings(
        database_url,
        tmp_path,
        sync_interval_seconds=3600,
        provider_timeout_seconds=60.0,
        provider_max_answer_bytes=64 * MIB,
    )


async def test_a_big_sync_answer_is_read_off_the_event_loop(
    api: Api, radicale: Radicale, receiver: Receiver, worker: Worker
) -> None:
    with big_proxy(radicale.url) as proxy:
        user = radicale.add_user()
        path = radicale.make_calendar(user, "work", "Work")
        body = {
            "provider": "CALDAV",
            "url": proxy.url + "/",
            "username": user.name,
            "password": user.password,
        }
        r = await api.call("POST", "/api/v1/accounts", json=body)
        assert r.status_code == 201, r.text
        account_id = r.json()["account_id"]
        await webhook(api, receiver)
        proxy.answer = sync_answer(2 * MIB, path)
        synced = synckit.Synced(api, account_id, "work")

        gaps: list[float] = []
        done = anyio.Event()

        async def ticker() -> None:
            last = time.perf_counter()
            while not done.is_set():
                await anyio.sleep(0.005)
                now = time.perf_counter()
                gaps.append(now - last)
                last = now

        async def sync() -> None:
            try:
                await synced.sync()
            finally:
                done.set()

        started = time.perf_counter()
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(ticker)
            await sync()
        took = time.perf_counter() - started
        state = await synced.sync_state()

    assert state["status"] == "ok", state
    # Every event of the answer is in the mirror: a list answers from it, all of them.
    r = await api.call(
        "GET",
        "/api/v1/calendars/work/events",
        account_id=account_id,
        params={"start": "2026-03-01T00:00:00Z", "end": "2026-03-02T00:00:00Z", "limit": "250"},
    )
    assert r.status_code == 200, r.text
    assert len(r.json()["data"]) == 250
    # On the loop, the whole reading would be one gap as long as the sync itself; off it, the
    # longest gap is a GIL turn, which a loaded machine can stretch well past 5 ms.
    assert max(gaps) < max(0.3, took / 2), f"loop stalled {max(gaps):.2f} s of {took:.2f} s"
