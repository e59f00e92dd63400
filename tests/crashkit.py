"""Drive concurrent creates at a real `calgate serve`, SIGKILL it mid-load, restart, and check
that every acknowledged create is present and complete and that nothing half-written exists.

Used by tests/test_crash.py (small counts) and bench/crash_bench.py (larger counts).
"""

from __future__ import annotations

import asyncio
import os
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.serve import serve

KEY = "cg_crash_test_key"


def body(n: int) -> dict[str, Any]:
    """Create body number ``n``: every field set, all derivable from ``n`` for checking."""
    day = 1 + n % 28
    return {
        "title": f"crash event {n}",
        "body": f"body {n} " + "x" * (n % 50),
        "location": f"room {n % 7}",
        "transparency": "transparent" if n % 2 else "opaque",
        "visibility": "private" if n % 3 else "public",
        "attendees": [
            {"email": f"p{n}@example.org", "display_name": f"P {n}"},
            {"email": f"q{n}@example.org", "optional": True},
        ],
        "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=3"] if n % 5 == 0 else [],
        "start": {"date_time": f"2026-03-{day:02d}T10:00:00", "time_zone": "Europe/Paris"},
        "end": {"date_time": f"2026-03-{day:02d}T11:30:00", "time_zone": "Europe/Paris"},
        "color": "#039BE5",
    }


def matches(sent: dict[str, Any], got: dict[str, Any]) -> bool:
    return (
        got["title"] == sent["title"]
        and got["body"] == sent["body"]
        and got["location"] == sent["location"]
        and got["transparency"] == sent["transparency"]
        and got["visibility"] == sent["visibility"]
        and [a["email"] for a in got["attendees"]] == [a["email"] for a in sent["attendees"]]
        and got["recurrence"] == sent["recurrence"]
        and got["start"]["date_time"].startswith(sent["start"]["date_time"])
        and got["end"]["date_time"].startswith(sent["end"]["date_time"])
        and got["color"] == sent["color"]
    )


@dataclass
class CrashReport:
    acknowledged: dict[str, int] = field(default_factory=dict)  # event id -> body number
    sent: int = 0
    found: int = 0
    complete: int = 0
    missing: list[str] = field(default_factory=list)
    broken: list[str] = field(default_factory=list)
    total_after: int = 0


async def _load(
    base: str, account: str, calendar: str, report: CrashReport, stop: asyncio.Event
) -> None:
    url = f"{base}/api/v1/calendars/{calendar}/events"
    counter = iter(range(10**9))
    limits = httpx.Limits(max_connections=32)
    async with httpx.AsyncClient(limits=limits, timeout=10) as client:

        async def worker() -> None:
            while not stop.is_set():
                n = next(counter)
                report.sent += 1
                try:
                    r = await client.post(
                        url,
                        params={"account_id": account},
                        json=body(n),
                        headers={"X-API-KEY": KEY},
                    )
                except httpx.HTTPError:
                    return  # the server is gone
                if r.status_code == 200:
                    report.acknowledged[r.json()["event_id"]] = n

        await asyncio.gather(*(worker() for _ in range(16)))


async def _ids(base: str) -> tuple[str, str]:
    async with httpx.AsyncClient(timeout=10) as client:
        headers = {"X-API-KEY": KEY}
        account = (await client.get(f"{base}/api/v1/accounts", headers=headers)).json()["items"][0][
            "id"
        ]
        cals = await client.get(
            f"{base}/api/v1/calendars", params={"account_id": account}, headers=headers
        )
        return account, cals.json()["data"][0]["id"]


async def _run_load(base: str, kill_after: float, pid: int, report: CrashReport) -> tuple[str, str]:
    account, calendar = await _ids(base)
    stop = asyncio.Event()

    async def killer() -> None:
        await asyncio.sleep(kill_after)
        os.kill(pid, signal.SIGKILL)
        await asyncio.sleep(0.5)
        stop.set()

    await asyncio.gather(_load(base, account, calendar, report, stop), killer())
    return account, calendar


async def _check(base: str, account: str, calendar: str, report: CrashReport) -> None:
    headers = {"X-API-KEY": KEY}
    url = f"{base}/api/v1/calendars/{calendar}/events"
    async with httpx.AsyncClient(timeout=30) as client:
        seen: dict[str, dict[str, Any]] = {}
        cursor = None
        while True:
            params = {
                "account_id": account,
                "limit": "250",
                **({"cursor": cursor} if cursor else {}),
            }
            page = (await client.get(url, params=params, headers=headers)).json()
            for event in page["data"]:
                seen[event["id"]] = event
            cursor = page["next_cursor"]
            if not cursor:
                break
    report.total_after = len(seen)
    for event_id, n in report.acknowledged.items():
        got = seen.get(event_id)
        if got is None:
            report.missing.append(event_id)
            continue
        report.found += 1
        if matches(body(n), got):
            report.complete += 1
    for event_id, got in seen.items():
        number = (
            int(got["title"].rsplit(" ", 1)[-1]) if got["title"].startswith("crash event ") else -1
        )
        if number < 0 or not matches(body(number), got):
            report.broken.append(event_id)


def crash_and_check(
    data_dir: Path, env: dict[str, str] | None = None, kill_after: float = 2.0
) -> CrashReport:
    """Create under load, SIGKILL the server after ``kill_after`` s, restart, check."""
    report = CrashReport()
    full_env = {"CALGATE_API_KEY": KEY, **(env or {})}
    with serve(data_dir, full_env) as served:
        account, calendar = asyncio.run(
            _run_load(served.base_url, kill_after, served.process.pid, report)
        )
        served.process.wait(timeout=10)
        assert served.process.returncode == -signal.SIGKILL
    with serve(data_dir, full_env) as again:
        asyncio.run(_check(again.base_url, account, calendar, report))
    return report
