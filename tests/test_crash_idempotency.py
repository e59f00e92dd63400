"""Issue 13, item 8: Idempotency-Key across a crash. Sixteen clients create with unique keys,
`calgate serve` is SIGKILLed mid-load and restarted, and each request left unanswered is
retried with its key: every key ends with exactly one event, and the retries get through
within a lease (a dead process's keys are not held "in progress" for minutes)."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

import anyio.to_thread
import httpx
import pytest

from tests.conftest import PG_URL, reset_postgres
from tests.crashkit import KEY, CrashReport, _check, _ids, body
from tests.serve import serve

pytestmark = pytest.mark.system

HEADERS = {"X-API-KEY": KEY}
# Default lease (15 s) plus the wait of one request (10 s) and slack for a loaded machine.
RETRY_WITHIN = 45.0


@dataclass
class Keyed:
    answered: dict[int, str] = field(default_factory=dict)  # body number -> event id
    unanswered: set[int] = field(default_factory=set)
    retry_seconds: float = 0.0
    replays: int = 0


async def _load(base: str, calendar: str, account: str, report: Keyed, pid: int) -> None:
    url = f"{base}/api/v1/calendars/{calendar}/events"
    counter = iter(range(10**9))
    stop = asyncio.Event()
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=32), timeout=10) as client:

        async def worker() -> None:
            while not stop.is_set():
                n = next(counter)
                try:
                    r = await client.post(
                        url,
                        params={"account_id": account},
                        json=body(n),
                        headers={**HEADERS, "Idempotency-Key": f"crash-{n}"},
                    )
                except httpx.HTTPError:
                    report.unanswered.add(n)
                    return
                assert r.status_code == 200, r.text
                report.answered[n] = r.json()["event_id"]

        async def killer() -> None:
            await asyncio.sleep(2.0)
            os.kill(pid, signal.SIGKILL)
            await asyncio.sleep(0.5)
            stop.set()

        await asyncio.gather(*(worker() for _ in range(16)), killer())


async def _retry(base: str, calendar: str, account: str, report: Keyed) -> None:
    """Each unanswered request again with its key (honouring 409 + Retry-After), then a few
    answered ones: those must be replays of the first answer."""
    url = f"{base}/api/v1/calendars/{calendar}/events"
    started = time.monotonic()
    async with httpx.AsyncClient(timeout=30) as client:

        async def again(n: int) -> httpx.Response:
            while True:
                r = await client.post(
                    url,
                    params={"account_id": account},
                    json=body(n),
                    headers={**HEADERS, "Idempotency-Key": f"crash-{n}"},
                )
                if r.status_code != 409 or time.monotonic() - started > RETRY_WITHIN:
                    return r
                await asyncio.sleep(float(r.headers.get("retry-after", "1")))

        async def settle(n: int) -> None:
            r = await again(n)
            assert r.status_code == 200, f"key crash-{n}: {r.status_code} {r.text}"
            report.answered[n] = r.json()["event_id"]

        await asyncio.gather(*(settle(n) for n in sorted(report.unanswered)))
        report.retry_seconds = time.monotonic() - started
        for n in sorted(report.answered)[:5]:
            r = await again(n)
            assert r.json()["event_id"] == report.answered[n]
            report.replays += r.headers.get("idempotent-replayed") == "true"


def crash_and_retry(data_dir: Path, env: dict[str, str]) -> None:
    full_env = {"CALGATE_API_KEY": KEY, **env}
    report = Keyed()
    with serve(data_dir, full_env) as served:
        account, calendar = asyncio.run(_ids(served.base_url))
        asyncio.run(_load(served.base_url, calendar, account, report, served.process.pid))
        served.process.wait(timeout=10)
        assert served.process.returncode == -signal.SIGKILL
    with serve(data_dir, full_env) as again:
        asyncio.run(_retry(again.base_url, calendar, account, report))
        check = CrashReport(acknowledged={v: k for k, v in report.answered.items()})
        asyncio.run(_check(again.base_url, account, calendar, check))
    assert len(report.answered) > 50, "the load produced too few creates to mean anything"
    assert report.replays == 5
    # One event per key: every answer names a distinct event, all present and complete, and
    # nothing else was made (a retry that did the work twice would leave an extra event).
    assert len(set(report.answered.values())) == len(report.answered)
    assert check.missing == [] and check.broken == []
    assert check.complete == len(report.answered)
    assert check.total_after == len(report.answered), (
        f"{check.total_after - len(report.answered)} duplicate event(s) after retries"
    )
    assert report.retry_seconds < RETRY_WITHIN


def test_keyed_creates_survive_a_crash_once_sqlite(tmp_path: Path) -> None:
    crash_and_retry(tmp_path, {})


@pytest.mark.anyio
@pytest.mark.skipif(not PG_URL, reason="CALGATE_TEST_DATABASE_URL not set")
async def test_keyed_creates_survive_a_crash_once_postgresql(tmp_path: Path) -> None:
    await reset_postgres(PG_URL)
    env = {"CALGATE_DATABASE_URL": PG_URL}
    await anyio.to_thread.run_sync(lambda: crash_and_retry(tmp_path, env))
