"""What the provider-sync tests share: settings, a webhook receiver and an outbox worker, an
account under sync (run on demand through the real scheduler), and waiting for deliveries."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from calgate.outbox.worker import Worker
from calgate.settings import Settings
from calgate.sync.reads import MirrorReads
from calgate.sync.scheduler import Scheduler
from tests.conftest import Api
from tests.receiver import Receiver, running_receiver

EXTRAS = {"event", "webhook_name", "account_id", "delivery_id"}


def sync_settings(database_url: str, tmp_path: Path, **extra: Any) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path,
        sqlite_synchronous="NORMAL",
        allow_loopback_urls=True,
        worker_poll_seconds=0.05,
        **extra,
    )


@pytest.fixture(name="receiver")
def receiver_fixture() -> Iterator[Receiver]:
    with running_receiver() as r:
        yield r


@pytest.fixture(name="worker")
async def worker_fixture(api: Api) -> AsyncIterator[Worker]:
    w = api.runtime.worker()
    async with w.running():
        yield w
    await w.aclose()


async def webhook(api: Api, receiver: Receiver, source: str = "calendar_event") -> None:
    body = {"source": source, "request_url": receiver.url, "name": "sync"}
    r = await api.call("POST", "/api/v1/webhooks", json=body)
    assert r.status_code == 201, r.text


class Synced:
    """A connected account and one of its calendars, synced when the test says so."""

    def __init__(self, api: Api, account_id: str, calendar_id: str) -> None:
        self.api = api
        self.account_id = account_id
        self.calendar_id = calendar_id
        self.scheduler: Scheduler = api.runtime.scheduler()

    async def sync(self) -> None:
        done = await self.scheduler.run_account(self.account_id)
        assert done and all(result is not None for _, result in done), done

    async def sync_state(self) -> dict[str, Any]:
        r = await self.api.call("GET", f"/api/v1/accounts/{self.account_id}")
        states = r.json()["sync"]["calendars"]
        [state] = [s for s in states if s["calendar_id"] == self.calendar_id]
        return dict(state)

    async def live(self, event_id: str) -> dict[str, Any]:
        """The event as GET answers it through calgate."""
        r = await self.api.call(
            "GET",
            f"/api/v1/calendars/{self.calendar_id}/events/{event_id}",
            account_id=self.account_id,
        )
        assert r.status_code == 200, r.text
        return dict(r.json())


async def settle(receiver: Receiver, count: int) -> list[tuple[str, str, dict[str, Any]]]:
    """The deliveries as ``(event, id, body)`` once there are ``count`` of them, after making
    sure no more arrive."""
    await receiver.wait_for(count)
    await anyio.sleep(0.3)
    got = [r.json() for r in receiver.accepted()]
    assert len(got) == count, [(d.get("event"), d.get("id")) for d in got]
    return [(d["event"], d.get("id", ""), d) for d in got]


def same_as_live(delivered: dict[str, Any], live: dict[str, Any]) -> bool:
    """Whether a delivery carries the event as GET shows it (plus the delivery's extras)."""
    return {k: v for k, v in delivered.items() if k not in EXTRAS} == {
        k: v for k, v in live.items() if k in delivered
    }


async def both(api: Api, synced: Synced, path: str, **params: str) -> tuple[Any, Any]:
    """The answer to ``GET path`` from the mirror and from Google (status and JSON)."""
    reads = api.runtime.events.mirror
    assert isinstance(reads, MirrorReads)
    url = f"/api/v1/calendars/{synced.calendar_id}/events{path}"

    async def read() -> httpx.Response:
        return await api.call("GET", url, params=params, account_id=synced.account_id)

    from_mirror, max_age = await read(), reads.max_age_us
    reads.max_age_us = 0
    try:
        live = await read()
    finally:
        reads.max_age_us = max_age
    return (from_mirror.status_code, from_mirror.json()), (live.status_code, live.json())
