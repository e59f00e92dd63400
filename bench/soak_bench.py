"""Soak: mixed create/list/patch/delete against `calgate serve` for a while, with the server's
memory and the request p99 at the start and at the end (they should not grow).

    python bench/soak_bench.py --minutes 10 [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.serve import serve

KEY = "cg_soak_key"


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98] * 1000 if len(values) > 100 else float("nan")


async def soak(
    base: str, pid: int, seconds: float, interval: float
) -> list[tuple[float, float, float, int]]:
    headers = {"X-API-KEY": KEY}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
        account = (await client.get("/api/v1/accounts")).json()["items"][0]["id"]
        cals = await client.get("/api/v1/calendars", params={"account_id": account})
        url = f"/api/v1/calendars/{cals.json()['data'][0]['id']}/events"
        params = {"account_id": account}
        ids: list[str] = []
        samples: list[tuple[float, float, float, int]] = []
        latencies: list[float] = []
        errors = 0
        end = time.monotonic() + seconds
        rng = random.Random(7)

        async def one() -> None:
            nonlocal errors
            roll = rng.random()
            t0 = time.perf_counter()
            day = rng.randint(1, 28)
            if roll < 0.5 or len(ids) < 50:
                body = {
                    "title": f"soak {rng.random()}",
                    "start": {
                        "date_time": f"2026-05-{day:02d}T10:00:00",
                        "time_zone": "Europe/Paris",
                    },
                    "end": {
                        "date_time": f"2026-05-{day:02d}T11:00:00",
                        "time_zone": "Europe/Paris",
                    },
                    "attendees": [{"email": "ada@example.org"}],
                }
                r = await client.post(url, params=params, json=body)
                if r.status_code == 200:
                    ids.append(r.json()["event_id"])
            elif roll < 0.7:
                window = {
                    "start": f"2026-05-{day:02d}T00:00:00Z",
                    "end": f"2026-05-{day:02d}T23:59:00Z",
                }
                r = await client.get(url, params={**params, **window, "limit": "50"})
            elif roll < 0.9:
                event_id = rng.choice(ids)
                r = await client.patch(
                    f"{url}/{event_id}", params=params, json={"title": "patched"}
                )
            else:
                event_id = ids.pop(rng.randrange(len(ids)))
                r = await client.delete(f"{url}/{event_id}", params=params)
            latencies.append(time.perf_counter() - t0)
            if r.status_code >= 500:
                errors += 1

        async def worker() -> None:
            while time.monotonic() < end:
                await one()

        async def sampler() -> None:
            start = time.monotonic()
            while time.monotonic() < end:
                await asyncio.sleep(interval)
                samples.append(
                    (time.monotonic() - start, rss_mib(pid), p99(latencies), len(latencies))
                )
                latencies.clear()

        await asyncio.gather(sampler(), *(worker() for _ in range(16)))
        print(f"5xx answers: {errors}")
        return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--interval", type=float, default=30.0, help="seconds between samples")
    parser.add_argument("--database-url", help="run on this database (PostgreSQL is emptied)")
    args = parser.parse_args()
    env = {"CALGATE_API_KEY": KEY}
    if args.database_url:
        from tests.conftest import reset_postgres

        asyncio.run(reset_postgres(args.database_url))
        env["CALGATE_DATABASE_URL"] = args.database_url
    with tempfile.TemporaryDirectory() as tmp, serve(Path(tmp), env) as served:
        samples = asyncio.run(
            soak(served.base_url, served.process.pid, args.minutes * 60, args.interval)
        )
    print("| elapsed (s) | server RSS (MiB) | p99 (ms) | requests in interval |")
    print("|---:|---:|---:|---:|")
    for elapsed, rss, tail, count in samples:
        print(f"| {elapsed:.0f} | {rss:.1f} | {tail:.1f} | {count:,} |")


if __name__ == "__main__":
    main()
