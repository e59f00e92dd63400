"""Push notifications: outside change -> webhook latency with push and with polling, and the
notifications one process absorbs.

Real processes and sockets: the Google and Graph test servers of the test tree on loopback
ports (they POST their notifications over HTTP, as Google and Microsoft do), a real
`calgate serve` (SQLite, or --database-url) and a webhook receiver on loopback.

1. Latency, in two `calgate serve` runs of the same build, same machine, same run:
   - push: CALGATE_PUBLIC_URL set, channels active, polling interval at its default (60 s);
   - polling (the reference): no public URL, so no channels; the default 60 s interval.
   For each, one Google and one Outlook account; N events are created on each test server
   "from outside" at random gaps; for each, the time from the change to the receiver getting
   its `calendar_event_created`. Reported: p50/p99/max per provider.
2. Absorption: C concurrent clients POST valid Google notifications (a live channel's id and
   token) to `/api/v1/push/google` for S seconds; reported: notifications recorded per second
   (each one a committed write making the calendar due) and the p99 answer time.

    python bench/push_bench.py                 # N=20 per provider and mode
    python bench/push_bench.py --quick         # N=6
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakes import google_push  # noqa: E402
from tests.pushkit import Pushed, pushed, wait_until  # noqa: E402
from tests.receiver import Receiver, running_receiver  # noqa: E402

PROVIDERS = ("GOOGLE_OAUTH", "OUTLOOK")


class Arrivals:
    """When each delivery's event id first reached the receiver (5 ms resolution)."""

    def __init__(self, receiver: Receiver) -> None:
        self.receiver = receiver
        self.at: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        seen = 0
        while not self._stop.is_set():
            got = self.receiver.accepted()
            now = time.monotonic()
            for request in got[seen:]:
                self.at.setdefault(str(request.json().get("id")), now)
            seen = len(got)
            time.sleep(0.005)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _latencies(
    p: dict[str, Pushed], arrivals: Arrivals, n: int, gap: float
) -> dict[str, list[float]]:
    made: dict[str, list[tuple[str, float]]] = {k: [] for k in p}
    for i in range(n):
        for provider, one in p.items():
            made[provider].append((one.outside_create(f"Bench {i}"), time.monotonic()))
        time.sleep(random.uniform(0.5, 1.5) * gap)
    every = [event_id for rows in made.values() for event_id, _ in rows]
    wait_until(lambda: all(e in arrivals.at for e in every), 200, "every delivery")
    return {k: [arrivals.at[e] - t for e, t in rows] for k, rows in made.items()}


async def _absorb(
    url: str, headers: dict[str, str], clients: int, seconds: float, method: str = "POST"
) -> tuple[int, float]:
    times: list[float] = []
    done = 0
    stop = time.monotonic() + seconds

    async def client() -> None:
        nonlocal done
        async with httpx.AsyncClient(timeout=10) as http:
            while time.monotonic() < stop:
                started = time.perf_counter()
                r = await http.request(method, url, headers=headers)
                times.append(time.perf_counter() - started)
                done += r.status_code in (200, 202)

    await asyncio.gather(*(client() for _ in range(clients)))
    return done, _pct(times, 0.99)


def run_mode(mode: str, n: int, tmp: Path, database_url: str, absorb: bool) -> dict[str, Any]:
    with ExitStack() as stack:
        receiver = stack.enter_context(running_receiver())
        arrivals = Arrivals(receiver)
        extra = {"CALGATE_PUSH_ENABLED": "true" if mode == "push" else "false"}
        url = database_url or f"sqlite+aiosqlite:///{tmp / mode / 'calgate.db'}"
        p0 = stack.enter_context(pushed(PROVIDERS[0], receiver, tmp / mode, url, **extra))
        p0.env["CALGATE_LOG_LEVEL"] = "warning"
        stack.enter_context(p0.running())
        accounts = {PROVIDERS[0]: p0}
        p1 = Pushed(p0.fakes, PROVIDERS[1], receiver, p0.data, p0.env, p0.port, p0.served)
        accounts[PROVIDERS[1]] = p1
        p0.connect()
        p1.connect(webhook=False)
        for one in accounts.values():
            if mode == "push":
                one.wait_active()
            else:
                wait_until(lambda one=one: one.calendar_state().get("status") == "ok", 60)
        time.sleep(1.0)
        gap = 1.0 if mode == "push" else 5.0
        result: dict[str, Any] = {"latency": _latencies(accounts, arrivals, n, gap)}
        if absorb:
            [watch] = google_push.live(p0.fakes.google)
            headers = {
                "X-Goog-Channel-ID": watch.id,
                "X-Goog-Channel-Token": watch.token,
                "X-Goog-Resource-ID": watch.resource_id,
                "X-Goog-Resource-State": "exists",
                "X-Goog-Message-Number": "1",
            }
            done, p99 = asyncio.run(_absorb(f"{p0.base}/api/v1/push/google", headers, 32, 5.0))
            result["absorb"] = (done / 5.0, p99)
            # The reference: the same client on the route that does nothing (GET /healthz).
            bare, bare_p99 = asyncio.run(_absorb(f"{p0.base}/healthz", {}, 32, 5.0, "GET"))
            result["bare"] = (bare / 5.0, bare_p99)
        arrivals.close()
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    n = 6 if args.quick else 20
    print(f"push_bench {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, N={n} per provider")
    with tempfile.TemporaryDirectory() as tmp:
        results = {
            mode: run_mode(mode, n, Path(tmp), args.database_url, mode == "push")
            for mode in ("push", "polling")
        }
    print(f"{'mode':8} {'provider':13} {'p50 s':>7} {'p99 s':>7} {'max s':>7} {'mean s':>7}")
    for mode, result in results.items():
        for provider, values in result["latency"].items():
            print(
                f"{mode:8} {provider:13} {statistics.median(values):7.2f} "
                f"{_pct(values, 0.99):7.2f} {max(values):7.2f} {statistics.mean(values):7.2f}"
            )
    for provider in PROVIDERS:
        ratio = statistics.median(results["polling"]["latency"][provider]) / statistics.median(
            results["push"]["latency"][provider]
        )
        print(f"{provider}: polling p50 / push p50 = {ratio:.0f}x")
    rate, p99 = results["push"]["absorb"]
    bare, bare_p99 = results["push"]["bare"]
    print(f"absorption: {rate:.0f} notifications/s recorded (32 clients, 5 s), p99 {p99:.3f} s")
    print(f"reference, GET /healthz, same client: {bare:.0f}/s, p99 {bare_p99:.3f} s")
    print(f"absorption / reference = {rate / bare:.2f}")


if __name__ == "__main__":
    main()
