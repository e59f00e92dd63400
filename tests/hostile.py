"""A hostile tenant's recurrence load beside a well-behaved tenant, against `calgate serve`.

Used by tests/test_e2e_hostile_recurrence.py and bench/hostile_bench.py. The hostile tenant keeps
endless SECONDLY series and rules that match once in four years, and sends, from several clients
at once: expanded lists over windows to the year 9999, one-day windows in the year 9000 that it
abandons after a moment (the client disconnects), PATCHes of far occurrences and creates of rare
sub-daily rules. The well-behaved tenant lists its plain events.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx

HOSTILE_KEY = "cg_hostile_tenant_key"
PARIS = "Europe/Paris"
SELF = str(Path(__file__).resolve())  # run by hostile_load_apart()
LEAP_SECOND_RULE = "RRULE:FREQ=SECONDLY;BYMONTH=2;BYMONTHDAY=29;BYHOUR=23;BYMINUTE=59;BYSECOND=59"


@dataclass(frozen=True)
class Tenant:
    key: str
    account_id: str
    calendar_id: str

    @property
    def events(self) -> str:
        return f"/api/v1/calendars/{self.calendar_id}/events"


def series(rule: str) -> dict[str, Any]:
    return {
        "title": "hostile",
        "start": {"date_time": "2026-01-20T10:00:00", "time_zone": PARIS},
        "end": {"date_time": "2026-01-20T10:00:01", "time_zone": PARIS},
        "recurrence": [rule],
    }


def first_tenant(base_url: str, key: str) -> Tenant:
    """The tenant `calgate serve` set up on its first start (with ``CALGATE_API_KEY``)."""
    headers = {"X-API-KEY": key}
    account = httpx.get(f"{base_url}/api/v1/accounts", headers=headers).json()["items"][0]["id"]
    calendars = httpx.get(
        f"{base_url}/api/v1/calendars", params={"account_id": account}, headers=headers
    )
    return Tenant(key, account, calendars.json()["data"][0]["id"])


def new_tenant(base_url: str, data_dir: Path, name: str) -> Tenant:
    """Another tenant, made with the CLI as an operator would."""
    made = subprocess.run(
        [sys.executable, "-m", "calgate", "--data-dir", str(data_dir), "tenants", "create", name],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    key = made.split("API key (shown once): ")[1].split()[0]
    return first_tenant(base_url, key)


def prepare(base_url: str, hostile: Tenant, good: Tenant, good_events: int = 30) -> None:
    """The hostile tenant's series; the well-behaved tenant's plain events."""
    with httpx.Client(base_url=base_url, timeout=60) as client:
        rules = ["RRULE:FREQ=SECONDLY", LEAP_SECOND_RULE, "RRULE:FREQ=MINUTELY;BYDAY=MO"]
        for rule in rules * 2:
            r = client.post(
                hostile.events,
                params={"account_id": hostile.account_id},
                json=series(rule),
                headers={"X-API-KEY": hostile.key},
            )
            assert r.status_code == 200, r.text
        for day in range(good_events):
            r = client.post(
                good.events,
                params={"account_id": good.account_id},
                json={
                    "title": f"meeting {day}",
                    "start": {"date_time": f"2026-03-{day % 28 + 1:02d}T09:00:00Z"},
                    "end": {"date_time": f"2026-03-{day % 28 + 1:02d}T10:00:00Z"},
                },
                headers={"X-API-KEY": good.key},
            )
            assert r.status_code == 200, r.text


KINDS = ("far-list", "far-day", "create", "list")
"""The kinds of hostile request: expanded lists to the year 9999, one-day expanded windows in
the year 9000, creates of a rare sub-daily rule, expanded lists without a window."""


def _hostile_request(
    rng: random.Random, hostile: Tenant, kinds: tuple[str, ...] = KINDS
) -> tuple[str, str, dict[str, Any]]:
    """(method, path, httpx arguments) of one hostile request, of one of ``kinds``."""
    params: dict[str, Any] = {"account_id": hostile.account_id}
    kind = rng.choice(kinds)
    if kind == "far-list":
        window = {"start": "2026-06-01T00:00:00Z", "end": "9999-12-31T00:00:00Z"}
        return "GET", hostile.events, {"params": {**params, "expand_recurring": "true", **window}}
    if kind == "far-day":
        day = f"9{rng.randrange(1000):03d}-01-0{rng.randrange(1, 9)}"
        window = {"start": f"{day}T00:00:00Z", "end": f"{day}T23:59:59Z", "limit": "250"}
        return "GET", hostile.events, {"params": {**params, "expand_recurring": "true", **window}}
    if kind == "create":
        return "POST", hostile.events, {"params": params, "json": series(LEAP_SECOND_RULE)}
    return "GET", hostile.events, {"params": {**params, "expand_recurring": "true"}}  # "list"


async def hostile_load(
    base_url: str,
    hostile: Tenant,
    stop: anyio.Event,
    clients: int = 6,
    seed: int = 13,
    kinds: tuple[str, ...] = KINDS,
) -> dict[str, int]:
    """Hostile requests of ``kinds`` from ``clients`` clients until ``stop``; half of them hang
    up after 0.2 s. Returns how many answers of each status came (``gone``: hung up)."""
    counts: dict[str, int] = {}

    async def client_loop(index: int) -> None:
        rng = random.Random(seed + index)
        patience = 0.2 if index % 2 else 60.0
        headers = {"X-API-KEY": hostile.key}
        async with httpx.AsyncClient(base_url=base_url, headers=headers) as client:
            while not stop.is_set():
                method, path, kwargs = _hostile_request(rng, hostile, kinds)
                try:
                    r = await client.request(method, path, timeout=patience, **kwargs)
                    status = str(r.status_code)
                except httpx.TimeoutException:
                    status = "gone"
                except httpx.TransportError:
                    status = "transport error"
                    await anyio.sleep(0.05)
                counts[status] = counts.get(status, 0) + 1

    async with anyio.create_task_group() as group:
        for index in range(clients):
            group.start_soon(client_loop, index)
    return counts


async def hostile_load_apart(
    base_url: str,
    hostile: Tenant,
    stop: anyio.Event,
    clients: int = 6,
    seed: int = 13,
    kinds: tuple[str, ...] = KINDS,
    cpus: set[int] | None = None,
) -> dict[str, int]:
    """:func:`hostile_load` from a child process of its own, so that the hostile clients' work
    (HTTP, JSON) is not done on the event loop of whoever measures beside them; on ``cpus``
    only, if given."""
    argv = [sys.executable, SELF, base_url, hostile.key]
    argv += [hostile.account_id, hostile.calendar_id, str(clients), str(seed), ",".join(kinds)]
    argv += [",".join(map(str, sorted(cpus or ())))]
    async with await anyio.open_process(argv, stderr=None) as child:
        assert child.stdin is not None and child.stdout is not None
        await stop.wait()
        await child.stdin.aclose()  # the child stops its clients when its stdin closes
        out = b"".join([chunk async for chunk in child.stdout])
        assert await child.wait() == 0, out
    counts: dict[str, int] = json.loads(out)
    return counts


async def _load_until_stdin_closes(argv: list[str]) -> None:
    base_url, key, account_id, calendar_id, clients, seed, kinds, cpus = argv
    if cpus:
        os.sched_setaffinity(0, {int(cpu) for cpu in cpus.split(",")})
    hostile = Tenant(key, account_id, calendar_id)
    stop = anyio.Event()
    seen: dict[str, int] = {}

    async def load() -> None:
        seen.update(
            await hostile_load(
                base_url, hostile, stop, int(clients), int(seed), tuple(kinds.split(","))
            )
        )

    async with anyio.create_task_group() as group:
        group.start_soon(load)
        await anyio.to_thread.run_sync(sys.stdin.buffer.read)
        stop.set()
    sys.stdout.write(json.dumps(seen))


async def plain_lists(
    base_url: str, good: Tenant, count: int, patience: float = 60, tag: str | None = None
) -> list[float]:
    """Seconds each of ``count`` plain lists of the well-behaved tenant took, one at a time.
    With ``tag``, the requests' ``X-Request-ID`` is ``{tag}-{n}`` (found in the access log)."""
    took: list[float] = []
    headers = {"X-API-KEY": good.key}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=patience) as client:
        for n in range(count):
            ids = {} if tag is None else {"X-Request-ID": f"{tag}-{n}"}
            began = time.perf_counter()
            r = await client.get(good.events, params={"account_id": good.account_id}, headers=ids)
            took.append(time.perf_counter() - began)
            assert r.status_code == 200, r.text
            assert len(r.json()["data"]) >= 1
    return took


if __name__ == "__main__":  # the child of hostile_load_apart()
    anyio.run(_load_until_stdin_closes, sys.argv[1:])
