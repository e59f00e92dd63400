"""A well-behaved tenant's webhook latency beside a hostile one (issue 13, item 3).

    python bench/webhook_fairness_bench.py [--samples 30] [--hooks 20] [--repeat 3]

In one process on a fresh SQLite database: the real app (through httpx's ASGI transport), its
outbox worker (default concurrency 8), and two real HTTP receivers on loopback, one healthy
and one that never answers (it sleeps past the 2 s webhook timeout). Tenant B has one webhook
on the healthy receiver and creates events one after the other; the latency of each is the
time from the create's answer to the receiver's request. Reference: tenant B alone. Then the
same beside tenant A, whose ``--hooks`` webhooks all point at the silent receiver and which
creates an event every 0.5 s. Printed: p50 and p99 of both, their ratio, with the date and
the spread of the ratio over ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.receiver import running_receiver

from calgate.api.app import create_app
from calgate.bootstrap import bootstrap
from calgate.runtime import Runtime
from calgate.settings import Settings
from calgate.store import keys

EVENT = {"title": "t", "start": {"date": "2026-03-02"}, "end": {"date": "2026-03-03"}}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def run(samples: int, hooks: int, hostile: bool) -> list[float]:
    """Tenant B's delivery latencies (seconds), with or without tenant A's load."""
    with (
        tempfile.TemporaryDirectory() as folder,
        running_receiver() as healthy,
        running_receiver() as silent,
    ):
        silent.delay = 60.0
        settings = Settings(
            data_dir=Path(folder),
            sqlite_synchronous="NORMAL",
            allow_loopback_urls=True,
            worker_poll_seconds=0.05,
            webhook_timeout_seconds=2.0,
            retry_base_seconds=30.0,
            access_log=False,
        )
        runtime = Runtime.build(settings)
        await runtime.start()
        first = await bootstrap(runtime)
        assert first is not None
        tenant_b = await runtime.db.write(lambda c: keys.create_tenant(c, "b"))
        _, key_b = await runtime.db.write(lambda c: keys.create_key(c, tenant_b, "b"))
        account_b = await runtime.accounts.create_local(tenant_b, "B")
        calendar_b = (await runtime.events.list_calendars(tenant_b, account_b.id))[0].id
        app = create_app(settings, runtime)
        transport = httpx.ASGITransport(app=app)
        worker = runtime.worker()
        async with (
            httpx.AsyncClient(transport=transport, base_url="http://calgate.bench") as client,
            worker.running(),
        ):

            async def call(key: str, account: str, path: str, body: Any) -> httpx.Response:
                r = await client.post(
                    path, params={"account_id": account}, headers={"X-API-KEY": key}, json=body
                )
                assert r.status_code in (200, 201), r.text
                return r

            hook = {"source": "calendar_event", "name": "h"}
            await call(
                key_b, account_b.id, "/api/v1/webhooks", {**hook, "request_url": healthy.url}
            )
            load: asyncio.Task[None] | None = None
            if hostile:
                for _ in range(hooks):
                    await call(
                        first.api_key,
                        first.account_id,
                        "/api/v1/webhooks",
                        {**hook, "request_url": silent.url},
                    )

                async def hostile_load() -> None:
                    while True:
                        await call(
                            first.api_key,
                            first.account_id,
                            f"/api/v1/calendars/{first.calendar_id}/events",
                            EVENT,
                        )
                        await asyncio.sleep(0.5)

                load = asyncio.create_task(hostile_load())
                await asyncio.sleep(1.0)  # the silent receiver's slots are taken
            latencies = []
            for n in range(samples):
                await call(key_b, account_b.id, f"/api/v1/calendars/{calendar_b}/events", EVENT)
                started = time.perf_counter()
                while True:
                    if len(healthy.received()) > n:
                        break
                    await asyncio.sleep(0.002)
                latencies.append(time.perf_counter() - started)
            if load is not None:
                load.cancel()
        await worker.aclose()
        await runtime.aclose()
        return latencies


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--hooks", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rows = []
    for _ in range(args.repeat):
        alone = await run(args.samples, args.hooks, hostile=False)
        beside = await run(args.samples, args.hooks, hostile=True)
        rows.append((alone, beside))
    print(f"{dt.date.today()} SQLite, {args.samples} deliveries per run, {args.repeat} runs")
    print("| run | B alone p50 / p99 (ms) | B beside A p50 / p99 (ms) | p99 ratio |")
    print("|---|---:|---:|---:|")
    ratios = []
    for i, (alone, beside) in enumerate(rows, 1):
        ratio = percentile(beside, 0.99) / percentile(alone, 0.99)
        ratios.append(ratio)
        print(
            f"| {i} | {percentile(alone, 0.5) * 1000:.0f} / {percentile(alone, 0.99) * 1000:.0f}"
            f" | {percentile(beside, 0.5) * 1000:.0f} / {percentile(beside, 0.99) * 1000:.0f}"
            f" | {ratio:.2f}x |"
        )
    print(
        f"p99 ratio: median {statistics.median(ratios):.2f}x "
        f"(spread {min(ratios):.2f}-{max(ratios):.2f}x)"
    )


if __name__ == "__main__":
    asyncio.run(main())
