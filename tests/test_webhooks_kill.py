"""No delivery is lost when the real `calgate serve` process is killed (SIGKILL) mid-queue:
changes queued while the receiver is down, a kill, a restart that delivers part of the queue,
another kill with deliveries in flight, and a last restart that delivers the rest."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import BACKENDS, PG_URL, reset_postgres
from tests.receiver import Receiver
from tests.serve import free_port, ids_from_banner, serve

pytestmark = pytest.mark.system
KEY = "cg_kill_test_key_0123456789"
EVENTS = 40


@pytest.fixture(params=BACKENDS)
def env(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    values = {
        "CALGATE_API_KEY": KEY,
        "CALGATE_ALLOW_LOOPBACK_URLS": "true",
        "CALGATE_WORKER_POLL_SECONDS": "0.05",
        "CALGATE_RETRY_BASE_SECONDS": "0.2",
        "CALGATE_RETRY_MAX_SECONDS": "0.5",
        "CALGATE_WEBHOOK_TIMEOUT_SECONDS": "1",
        "CALGATE_WORKER_LEASE_SECONDS": "2",
        # Enough retries to outlast the receiver's outage: only a loss would fail the test.
        "CALGATE_WEBHOOK_MAX_RETRIES": "100",
        "CALGATE_WORKER_CONCURRENCY": "4",
        "CALGATE_SQLITE_SYNCHRONOUS": "NORMAL",
    }
    if request.param == "postgresql":
        import asyncio

        asyncio.run(reset_postgres(PG_URL))
        values["CALGATE_DATABASE_URL"] = PG_URL
    yield values


def wait(condition_name: str, check: object, within: float) -> None:
    assert callable(check)
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {condition_name}")


def test_sigkill_mid_queue_loses_nothing(tmp_path: Path, env: dict[str, str]) -> None:
    receiver = Receiver(port=free_port(), delay=0.05)  # down until started
    headers = {"X-API-KEY": KEY}
    created: list[str] = []
    try:
        with serve(tmp_path, env) as first:
            account_id, calendar_id = ids_from_banner(first.text())
            base = first.base_url
            r = httpx.post(
                f"{base}/api/v1/webhooks",
                json={"source": "calendar_event", "request_url": receiver.url, "name": "kill"},
                headers=headers,
            )
            assert r.status_code == 201, r.text
            hook_id = r.json()["webhook_id"]
            for i in range(EVENTS):
                r = httpx.post(
                    f"{base}/api/v1/calendars/{calendar_id}/events",
                    params={"account_id": account_id},
                    json={
                        "title": f"event {i}",
                        "start": {"date_time": "2026-03-01T10:00:00Z"},
                        "end": {"date_time": "2026-03-01T11:00:00Z"},
                    },
                    headers=headers,
                )
                assert r.status_code == 200, r.text
                created.append(r.json()["event_id"])
            first.process.kill()  # SIGKILL: no shutdown, nothing flushed
            first.process.wait()

        receiver.start()
        with serve(tmp_path, env) as second:
            wait("a first part of the queue", lambda: len(receiver.accepted()) >= 8, 30)
            second.process.kill()  # with deliveries in flight (the receiver is slow)
            second.process.wait()
        partial = len(receiver.accepted())
        assert partial < EVENTS, "the kill came too late to test anything"

        with serve(tmp_path, env) as third:
            received = lambda: {r.json()["id"] for r in receiver.accepted()}  # noqa: E731
            wait("every event", lambda: received() >= set(created), 60)
            url = f"{third.base_url}/api/v1/webhooks/{hook_id}/deliveries"

            def listing() -> list[dict[str, object]]:
                r = httpx.get(url, params={"limit": "250"}, headers=headers)
                assert r.status_code == 200
                items: list[dict[str, object]] = r.json()["items"]
                return items

            # The receiver may have answered before the outcome was recorded.
            wait(
                "every delivery recorded",
                lambda: all(d["status"] == "delivered" for d in listing()),
                30,
            )
            listed = listing()
    finally:
        receiver.stop()

    payloads = [r.json() for r in receiver.accepted()]
    delivery_ids = {p["delivery_id"] for p in payloads}
    # One delivery per change, each received at least once (a kill between sending and
    # recording sends it again, with the same id), none lost.
    assert len(listed) == EVENTS
    assert {d["id"] for d in listed} == delivery_ids
    assert {d["status"] for d in listed} == {"delivered"}
    assert {p["id"] for p in payloads} == set(created)
    assert {p["event"] for p in payloads} == {"calendar_event_created"}
    duplicates = len(payloads) - len(delivery_ids)
    assert 0 <= duplicates <= 8  # at most the deliveries in flight at the kill (concurrency 4)
