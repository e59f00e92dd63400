"""calgate next to the ceiling: a bare Starlette app on uvicorn, measured in the same run.

The ceiling is what any Python ASGI route can do on this machine: a Starlette app on uvicorn
(uvloop, httptools — what `calgate serve` runs on) that parses the same JSON body for a create
and answers the very bytes calgate answered for a GET of one event and for a list of 100.
`calgate serve` (one worker, SQLite with `synchronous=FULL`, a fresh data directory) runs beside
it with its LOCAL account and a GOOGLE_OAUTH account connected to the Google test server of the
test tree (bench/provider_overhead_bench.py starts both). `wrk` (one thread, 32 connections)
then measures, round after round, each operation on the ceiling and on calgate alternately
(the order flips every round), so that both see the same load from the rest of the machine:

- create:   POST a seed-shaped body with an RRULE (calgate: a LOCAL create, fsync included);
- get:      GET one LOCAL event;
- list:     GET one week of a LOCAL calendar holding 100 events in that week (limit=100);
- proxied:  GET one Google event through calgate, next to the same GET sent to the test server
            directly (its "ceiling" is the direct call).

Each share is calgate's rate over the ceiling's in the same round; the table shows the median
of the rounds and their spread (min-max), calgate's p99 (median of the rounds) and the CPU
time calgate's process used per request.

    python bench/ceiling_bench.py                    # 3 rounds, 5 s per run (about 3 minutes)
    python bench/ceiling_bench.py --rounds 1 --seconds 2
    python bench/ceiling_bench.py --rounds 1 --profile /tmp/profiles   # py-spy (from PyPI)
    python bench/ceiling_bench.py --set fast_routes=false   # calgate with a setting changed

Needs `wrk` (Debian/Ubuntu: `apt-get install wrk`), Linux (/proc) and the test extras.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import provider_overhead_bench as peers  # noqa: E402  (after the path is set)

CONNECTIONS = 32
WEEK = ("2026-03-02T00:00:00Z", "2026-03-09T00:00:00Z")
CREATE = {**peers.EVENT, "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=4"]}  # seed-shaped


# ---------------------------------------------------------------------------------------------
# The ceiling's process.


def serve_ceiling(port: int, answers: Path) -> None:
    """POST /create parses the body and answers a small JSON; GET /get and GET /list answer
    the bytes calgate answered (read from ``answers``)."""
    import orjson
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    saved = json.loads(answers.read_text())
    one, week = saved["get"].encode(), saved["list"].encode()
    created = orjson.dumps({"object": "CalendarEventCreated", "event_id": "x" * 22})

    async def create(request: Request) -> Response:
        orjson.loads(await request.body())
        return Response(created, media_type="application/json")

    async def get(request: Request) -> Response:
        return Response(one, media_type="application/json")

    async def listing(request: Request) -> Response:
        return Response(week, media_type="application/json")

    routes = [
        Route("/create", create, methods=["POST"]),
        Route("/get", get),
        Route("/list", listing),
    ]
    uvicorn.run(
        Starlette(routes=routes),
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
        lifespan="off",
        server_header=False,
    )


# ---------------------------------------------------------------------------------------------
# The bench.


@dataclass
class Target:
    url: str
    script: str
    pid: int


@dataclass
class Side:
    rps: list[float] = field(default_factory=list)
    p99_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)
    errors: int = 0


def seed(setup: peers.Setup) -> dict[str, str]:
    """The LOCAL account's calendar with 100 events in WEEK; the URLs of the operations."""
    api, headers = f"{setup.calgate}/api/v1", peers.API_KEY
    accounts = httpx.get(f"{api}/accounts", headers=headers).raise_for_status().json()
    local = next(a["id"] for a in accounts["items"] if a["type"] == "LOCAL")
    cals = httpx.get(f"{api}/calendars", params={"account_id": local}, headers=headers)
    calendar = cals.raise_for_status().json()["data"][0]["id"]
    events = f"{api}/calendars/{quote(calendar)}/events"
    with httpx.Client(headers=headers, timeout=30) as client:
        for i in range(100):
            day, minute = 2 + i % 7, (i * 7) % 600
            start = f"2026-03-0{day}T{8 + minute // 60:02d}:{minute % 60:02d}:00Z"
            end = f"2026-03-0{day}T{9 + minute // 60:02d}:{minute % 60:02d}:00Z"
            body = peers.EVENT | {
                "title": f"Meeting {i}",
                "start": {"date_time": start, "time_zone": "Europe/Paris"},
                "end": {"date_time": end, "time_zone": "Europe/Paris"},
            }
            r = client.post(events, params={"account_id": local}, json=body)
            event_id = r.raise_for_status().json()["event_id"]
        client.post(events, params={"account_id": local}, json=CREATE).raise_for_status()
    google = f"{api}/calendars/{quote(peers.CALENDAR)}/events/{setup.event_id}"
    return {
        "create": f"{events}?account_id={local}",
        "get": f"{events}/{event_id}?account_id={local}",
        "list": f"{events}?account_id={local}&start={WEEK[0]}&end={WEEK[1]}&limit=100",
        "proxied": f"{google}?account_id={setup.account_id}",
        "direct": f"{setup.google}{peers.EVENTS}{quote(peers.CALENDAR)}/events/{setup.event_id}",
    }


def plan(setup: peers.Setup, urls: dict[str, str], ceiling: str, pid: int) -> dict[str, Any]:
    """Per operation: (ceiling, calgate) targets."""
    key = peers.API_KEY
    calgate, google = setup.calgate_pid, setup.google_pid
    return {
        "create": (
            Target(f"{ceiling}/create", peers.create_script({}, CREATE), pid),
            Target(urls["create"], peers.create_script(key, CREATE), calgate),
        ),
        "get": (
            Target(f"{ceiling}/get", peers.read_script({}), pid),
            Target(urls["get"], peers.read_script(key), calgate),
        ),
        "list": (
            Target(f"{ceiling}/list", peers.read_script({}), pid),
            Target(urls["list"], peers.read_script(key), calgate),
        ),
        "proxied": (
            Target(urls["direct"], peers.read_script(setup.bearer), google),
            Target(urls["proxied"], peers.read_script(key), calgate),
        ),
    }


def measure(
    runner: peers.Wrk, name: str, target: Target, side: Side, seconds: int, profile: Path | None
) -> None:
    before = peers.cpu_seconds(target.pid)
    spy = None
    if profile is not None and name.startswith("calgate-"):  # samples holding the GIL: CPU
        profile.mkdir(parents=True, exist_ok=True)
        out = profile / f"{name}-{len(side.rps) + 1}.txt"
        cmd = ["py-spy", "record", "--pid", str(target.pid), "--format", "raw", "--gil"]
        cmd += ["--rate", "200", "--duration", str(max(seconds - 1, 1)), "-o", str(out)]
        spy = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    r = runner.run(name, target.url, target.script, CONNECTIONS, seconds)
    if spy is not None:
        spy.wait(timeout=seconds + 30)
    cpu = peers.cpu_seconds(target.pid) - before
    side.rps.append(r["requests"] / r["seconds"])
    side.p99_ms.append(r["p99"] / 1000)
    side.cpu_ms.append(cpu * 1000 / max(r["requests"], 1))
    side.errors += sum(r[k] for k in ("connect", "read", "write", "status", "timeout"))


def spread(values: list[float], digits: int = 0) -> str:
    lo, mid, hi = min(values), statistics.median(values), max(values)
    return f"{mid:,.{digits}f} ({lo:,.{digits}f}-{hi:,.{digits}f})"


def report(results: dict[str, tuple[Side, Side]], server_line: str) -> None:
    print(f"\n{server_line}")
    print(
        "| operation | ceiling req/s | calgate req/s | share of the ceiling | "
        "calgate p99 (ms) | calgate CPU per request (ms) |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for name, (top, ours) in results.items():
        shares = [100 * c / t for c, t in zip(ours.rps, top.rps, strict=True)]
        errors = f" ({ours.errors} errors)" if ours.errors else ""
        print(
            f"| {name} | {spread(top.rps)} | {spread(ours.rps)}{errors} | "
            f"{spread(shares, 1)} % | {statistics.median(ours.p99_ms):.1f} | "
            f"{statistics.median(ours.cpu_ms):.2f} |"
        )
    print("(median of the rounds, min-max in brackets; proxied: the ceiling is a direct call)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--only", nargs="*", help="operations to run (default: all)")
    parser.add_argument(
        "--profile", type=Path, help="record py-spy profiles of calgate (collapsed stacks) here"
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a calgate setting for this run (e.g. fast_routes=false), repeatable",
    )
    parser.add_argument("--serve-ceiling", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_ceiling:
        serve_ceiling(int(args.serve_ceiling[0]), Path(args.serve_ceiling[1]))
        return
    with tempfile.TemporaryDirectory(prefix="calgate-ceiling-") as tmp:
        root = Path(tmp)
        procs = peers.Processes(root)
        try:
            run(procs, root, args)
        finally:
            procs.stop()


def run(procs: peers.Processes, root: Path, args: argparse.Namespace) -> None:
    settings = dict(f"CALGATE_{item.upper()}".split("=", 1) for item in args.set)
    setup = peers.start(procs, root / "data", settings)
    peers.connect(setup)
    urls = seed(setup)
    answers = {op: httpx.get(urls[op], headers=peers.API_KEY).text for op in ("get", "list")}
    (root / "answers.json").write_text(json.dumps(answers))
    port = peers.free_port()
    script = [sys.executable, str(Path(__file__).resolve()), "--serve-ceiling"]
    top = procs.start(
        "ceiling", [*script, str(port), str(root / "answers.json")], peers.clean_env()
    )
    ceiling = f"http://127.0.0.1:{port}"
    peers.wait_http(procs, f"{ceiling}/get")
    server_line = next(
        (x for x in (root / "calgate.log").read_text().splitlines() if "event loop" in x),
        "(not printed)",
    )
    targets = plan(setup, urls, ceiling, top.pid)
    operations = args.only or list(targets)
    runner = peers.Wrk(root, setup, args.seconds, None)
    for name in operations:  # warm-up: connections, pools, caches
        for target in targets[name]:
            runner.run(f"warm-{name}", target.url, target.script, CONNECTIONS, 1)
    results = {name: (Side(), Side()) for name in operations}
    for round_no in range(args.rounds):
        for name in operations:
            pair = list(zip(("ceiling", "calgate"), targets[name], results[name], strict=True))
            for side_name, target, side in pair if round_no % 2 == 0 else reversed(pair):
                measure(runner, f"{side_name}-{name}", target, side, args.seconds, args.profile)
                print(
                    f"round {round_no + 1} {name:8} {side_name:8} {side.rps[-1]:9,.0f} req/s "
                    f"p99 {side.p99_ms[-1]:7.1f} ms  cpu {side.cpu_ms[-1]:.2f} ms/req",
                    flush=True,
                )
    report(results, server_line)


if __name__ == "__main__":
    main()
