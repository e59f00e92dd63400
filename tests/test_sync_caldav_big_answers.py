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
from tests.test_caldav_big_answers import (
    HEAD,
    big_proxy,
    connected,
    event_response,
    multistatus,
)

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
        sync_mirror_max_age_seconds=3600,  # lists answer from the mirror once synced
        provider_timeout_seconds=60.0,
        provider_max_answer_bytes=64 * MIB,
    )


async def test_a_big_sync_answer_is_read_off_the_event_loop(
    api: Api, radicale: Radicale, receiver: Receiver, worker: Worker
) -> None:
    with big_proxy(radicale.url) as proxy:
        target, path = await connected(api, radicale, proxy)
        account_id = target.account_id
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


def sync_part(names: range, calendar_path: str, token: str, truncated: bool) -> bytes:
    """A sync-collection answer holding the events ``big-{n}`` for ``n`` in ``names`` (each
    ~1 KB), marked truncated (507 on the collection) or not, with its token."""
    parts = [HEAD, *(event_response(n, calendar_path) for n in names)]
    if truncated:
        parts.append(
            f"<D:response><D:href>{calendar_path}</D:href>"
            "<D:status>HTTP/1.1 507 Insufficient Storage</D:status></D:response>"
        )
    parts.append(f"<D:sync-token>{token}</D:sync-token></D:multistatus>")
    return "".join(parts).encode()


async def test_a_truncated_sync_answer_goes_on_from_the_token_it_carries(
    api: Api, radicale: Radicale, receiver: Receiver, worker: Worker
) -> None:
    """RFC 6578: an answer truncated by the server (507 on the collection) is continued with
    the sync-token it carries; both parts (big ones, read in the worker processes) land in
    the mirror."""
    first, second = f"{TOKEN}-part-1", f"{TOKEN}-part-2"
    with big_proxy(radicale.url) as proxy:
        target, path = await connected(api, radicale, proxy)
        account_id = target.account_id

        def respond(body: bytes) -> bytes:
            if first.encode() in body:
                return sync_part(range(201, 401), path, second, truncated=False)
            if second.encode() in body:
                return sync_part(range(0), path, second, truncated=False)
            return sync_part(range(1, 201), path, first, truncated=True)

        proxy.respond = respond
        synced = synckit.Synced(api, account_id, "work")
        await synced.sync()
        state = await synced.sync_state()
        asked = [b.decode() for b in proxy.reports]

    assert state["status"] == "ok", state
    # The first REPORT with no token, the second with the token of the truncated answer.
    assert len(asked) == 2, asked
    assert "<D:sync-token></D:sync-token>" in asked[0]
    assert first in asked[1]
    listed: list[str] = []
    params = {"start": "2026-03-01T00:00:00Z", "end": "2026-03-02T00:00:00Z", "limit": "250"}
    while True:
        r = await api.call(
            "GET", "/api/v1/calendars/work/events", account_id=account_id, params=params
        )
        assert r.status_code == 200, r.text
        listed += [e["title"] for e in r.json()["data"]]
        if not r.json()["next_cursor"]:
            break
        params = {**params, "cursor": r.json()["next_cursor"]}
    assert sorted(listed) == sorted(f"event {n}" for n in range(1, 401))
