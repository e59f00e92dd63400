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
2. Absorption: `wrk` (one thread, 32 connections, a Lua script setting the POST and its
   headers) sends valid Google notifications (a live channel's id and token) to
   `/api/v1/push/google` for 5 s; reported: notifications answered 202 per second, p50/p99,
   and how many the channel's `notifications` count (the database) grew by meanwhile, which
   must be at least as many (wrk drops the answers still in flight when it stops). The
   reference, in the same run and process: the same wrk on `GET /healthz` (a route that does
   nothing). The Python client the bench used before (httpx, 32 tasks) is run too, to show
   how much of a figure is the client's.

    python bench/push_bench.py                 # N=20 per provider and mode
    python bench/push_bench.py --quick         # N=6
    python bench/push_bench.py --absorb-only   # the absorption figures alone (push mode)

Needs `wrk` (Debian/Ubuntu: `apt-get install wrk`) for the absorption figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import statistics
import subprocess
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


# wrk: the Lua script sets the request; done() prints the figures as one JSON line.
DONE = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests":%d,"seconds":%f,"p50":%d,"p99":%d,"errors":%d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.status + e.timeout))
end
"""


def _lua(text: str) -> str:
    assert "]==]" not in text
    return f"[==[{text}]==]"


def _wrk(
    url: str, headers: dict[str, str], method: str, seconds: float
) -> tuple[float, float, float]:
    """wrk, one thread, 32 connections: (answers per second, p50 s, p99 s); errors refused."""
    lines = [f"wrk.method = {_lua(method)}"]
    lines += [f"wrk.headers[ {_lua(k)} ] = {_lua(v)}" for k, v in headers.items()]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write("\n".join(lines) + DONE)
    cmd = ["wrk", "-t1", "-c32", f"-d{seconds:g}s", "--latency", "-s", script.name, url]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    Path(script.name).unlink()
    line = next((x for x in done.stdout.splitlines() if x.startswith("BENCH ")), None)
    if done.returncode or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr}{done.stdout}")
    r = json.loads(line.removeprefix("BENCH "))
    if r["errors"]:
        raise RuntimeError(f"wrk saw {r['errors']} errors or non-2xx answers on {url}")
    return r["requests"] / r["seconds"], r["p50"] / 1e6, r["p99"] / 1e6


def absorb(p0: Pushed, seconds: float = 5.0, profile: Path | None = None) -> dict[str, Any]:
    """The absorption figures against ``p0``'s running `calgate serve` (its Google channel)."""
    [watch] = google_push.live(p0.fakes.google)
    headers = {
        "X-Goog-Channel-ID": watch.id,
        "X-Goog-Channel-Token": watch.token,
        "X-Goog-Resource-ID": watch.resource_id,
        "X-Goog-Resource-State": "exists",
        "X-Goog-Message-Number": "1",
        "Content-Length": "0",
    }
    push_url, bare_url = f"{p0.base}/api/v1/push/google", f"{p0.base}/healthz"
    result: dict[str, Any] = {}
    _wrk(push_url, headers, "POST", 1)  # warm-up: connections, caches
    _wrk(bare_url, {}, "GET", 1)

    def recorded() -> int:
        return int(p0.calendar_state()["push"]["notifications"])

    before = recorded()
    spy = None
    if profile is not None and p0.served is not None:  # py-spy on calgate: where the CPU goes
        cmd = ["py-spy", "record", "--pid", str(p0.served.process.pid), "--format", "raw"]
        cmd += ["--gil", "--rate", "200", "--duration", str(max(int(seconds) - 1, 1))]
        spy = subprocess.Popen([*cmd, "-o", str(profile)], stdout=subprocess.DEVNULL)
    rate, p50, p99 = _wrk(push_url, headers, "POST", seconds)
    if spy is not None:
        spy.wait(timeout=60)
    time.sleep(1.0)  # the answers wrk stopped waiting for
    result["absorb"] = (rate, p50, p99, recorded() - before, int(rate * seconds))
    result["bare"] = _wrk(bare_url, {}, "GET", seconds)
    done, client_p99 = asyncio.run(_absorb(push_url, headers, 32, seconds))
    bare, bare_p99 = asyncio.run(_absorb(bare_url, {}, 32, seconds, "GET"))
    result["python"] = (done / seconds, client_p99, bare / seconds, bare_p99)
    return result


def run_mode(
    mode: str,
    n: int,
    tmp: Path,
    database_url: str,
    absorbing: bool,
    latency: bool = True,
    profile: Path | None = None,
) -> dict[str, Any]:
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
        result: dict[str, Any] = {}
        if latency:
            result["latency"] = _latencies(accounts, arrivals, n, gap)
        if absorbing:
            result |= absorb(p0, profile=profile)
        arrivals.close()
        return result


def report_absorption(result: dict[str, Any]) -> None:
    rate, p50, p99, grew, answered = result["absorb"]
    bare, bare_p50, bare_p99 = result["bare"]
    print(
        f"absorption (wrk, 32 connections, 5 s): {rate:.0f} notifications/s answered 202, "
        f"p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms; the channel's count grew by "
        f"{grew} (wrk counted {answered})"
    )
    print(
        f"reference, GET /healthz, same wrk: {bare:.0f}/s, p50 {bare_p50 * 1000:.1f} ms, "
        f"p99 {bare_p99 * 1000:.1f} ms; absorption / reference = {rate / bare:.2f}"
    )
    done, client_p99, python_bare, python_bare_p99 = result["python"]
    print(
        f"the Python client (httpx, 32 tasks): push {done:.0f}/s (p99 {client_p99:.3f} s), "
        f"GET /healthz {python_bare:.0f}/s (p99 {python_bare_p99:.3f} s)"
    )
    if grew < answered:
        print("WARNING: fewer notifications recorded than answered 202")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--database-url", default="")
    parser.add_argument("--absorb-only", action="store_true")
    parser.add_argument(
        "--profile", type=Path, help="py-spy's raw samples of calgate during the push wrk run"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("push_bench needs wrk for the absorption figures (apt-get install wrk)")
    n = 6 if args.quick else 20
    print(f"push_bench {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, N={n} per provider")
    if args.absorb_only:
        with tempfile.TemporaryDirectory() as tmp:
            only = run_mode(
                "push", n, Path(tmp), args.database_url, True, latency=False, profile=args.profile
            )
        report_absorption(only)
        return
    with tempfile.TemporaryDirectory() as tmp:
        results = {
            mode: run_mode(
                mode, n, Path(tmp), args.database_url, mode == "push", profile=args.profile
            )
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
    report_absorption(results["push"])


if __name__ == "__main__":
    main()
