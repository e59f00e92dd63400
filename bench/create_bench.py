"""Create-event throughput and latency: calgate next to Radicale, measured in the same run.

Both servers run on this machine, each on a fresh data directory. The load comes from `wrk`
(32 connections, one client thread); each request creates one event with the same content:
calgate through `POST /api/v1/calendars/{id}/events`, Radicale through a CalDAV `PUT` of a new
`.ics` resource. Then both calendars are grown to 100,000 events (pre-filled without HTTP:
calgate's rows through its store, Radicale's files in its collection folder) and the create
rate is measured again at each size.

    python bench/create_bench.py                 # full run (a few minutes)
    python bench/create_bench.py --quick         # smaller sizes, shorter runs

Needs `wrk` (Debian/Ubuntu: `apt-get install wrk`) and the test extras (Radicale).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from calgate.settings import Settings

HERE = Path(__file__).parent
KEY = "cg_bench_key"
CONNECTIONS = 32


@dataclass
class Run:
    peer: str
    size: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, headers: dict[str, str] | None = None) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(url, headers=headers, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def parse_wrk(out: str) -> tuple[float, float, float, int]:
    def ms(label: str) -> float:
        m = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not m:
            return float("nan")
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = 0
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m:
        errors += int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        errors += sum(int(g) for g in m.groups())
    return rps, ms("50%"), ms("99%"), errors


def wrk(url: str, script: Path, seconds: int, *args: str) -> tuple[float, float, float, int]:
    cmd = ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "--timeout", "60s", "--latency"]
    cmd += ["-s", str(script), url]
    out = subprocess.run([*cmd, "--", *args], capture_output=True, text=True, check=True).stdout
    return parse_wrk(out)


BODY = {
    "title": "Bench event",
    "body": "Agenda",
    "location": "Room 4",
    "start": {"date_time": "2026-01-20T13:30:00Z", "time_zone": "Europe/Paris"},
    "end": {"date_time": "2026-01-20T14:30:00Z", "time_zone": "Europe/Paris"},
    "attendees": [{"email": "ada@example.org", "display_name": "Ada"}],
}
CALGATE_LUA = f"""
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-API-KEY"] = "{KEY}"
wrk.body = '{json.dumps(BODY)}'
"""

RADICALE_LUA = r"""
local counter = 0
local threads = 0
function setup(thread) thread:set("tid", threads); threads = threads + 1 end
function init(args) prefix = args[1] .. "-" .. tid end
request = function()
  counter = counter + 1
  local uid = prefix .. "-" .. counter
  local body = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\nBEGIN:VEVENT\r\n" ..
    "UID:" .. uid .. "\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260120T133000Z\r\n" ..
    "DTEND:20260120T143000Z\r\nSUMMARY:Bench event\r\nDESCRIPTION:Agenda\r\n" ..
    "LOCATION:Room 4\r\nATTENDEE;CN=Ada;ROLE=REQ-PARTICIPANT:mailto:ada@example.org\r\n" ..
    "END:VEVENT\r\nEND:VCALENDAR\r\n"
  return wrk.format("PUT", wrk.path .. uid .. ".ics", {
    ["Content-Type"] = "text/calendar",
    ["Authorization"] = "Basic YmVuY2g6eA==",
    ["If-None-Match"] = "*"}, body)
end
"""


class Calgate:
    def __init__(self, root: Path, database_url: str | None = None, workers: int = 1) -> None:
        self.data = root / f"calgate-{workers}-{'pg' if database_url else 'sqlite'}"
        self.database_url = database_url
        self.workers = workers
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {**os.environ, "CALGATE_API_KEY": KEY, "CALGATE_DATA_DIR": str(self.data)}
        if self.database_url:
            env["CALGATE_DATABASE_URL"] = self.database_url
        cmd = [sys.executable, "-m", "calgate", "serve", "--port", str(self.port)]
        self.proc = subprocess.Popen(
            [*cmd, "--workers", str(self.workers)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_http(f"http://127.0.0.1:{self.port}/healthz")
        headers = {"X-API-KEY": KEY}
        base = f"http://127.0.0.1:{self.port}/api/v1"
        self.account = httpx.get(f"{base}/accounts", headers=headers).json()["items"][0]["id"]
        cals = httpx.get(f"{base}/calendars", params={"account_id": self.account}, headers=headers)
        self.calendar = cals.json()["data"][0]["id"]
        self.url = f"{base}/calendars/{self.calendar}/events?account_id={self.account}"

    def stop(self) -> None:
        if self.proc:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def warm_up(self) -> None:
        httpx.post(self.url, json=BODY, headers={"X-API-KEY": KEY}, timeout=600).raise_for_status()

    def fill(self, count: int) -> None:
        """Add ``count`` events straight through calgate's store (not measured)."""
        asyncio.run(_fill_calgate(self.settings(), self.calendar, count))

    def settings(self) -> Settings:
        return Settings(data_dir=self.data, database_url=self.database_url)

    def count(self) -> int:
        return asyncio.run(_count_calgate(self.settings()))


async def _count_calgate(settings: Settings) -> int:
    from sqlalchemy import func, select

    from calgate.runtime import Runtime
    from calgate.store import tables

    runtime = Runtime.build(settings)
    try:
        query = select(func.count()).select_from(tables.events)
        return int(await runtime.db.read(lambda c: c.execute(query).scalar_one()))
    finally:
        await runtime.aclose()


async def _fill_calgate(settings: Settings, calendar_id: str, count: int) -> None:
    import datetime as dt

    from calgate.domain.model import Attendee, Event, EventFields
    from calgate.domain.times import EventTime
    from calgate.providers.local import bounds_of
    from calgate.runtime import Runtime
    from calgate.store import events
    from calgate.store.ids import new_id

    runtime = Runtime.build(settings)
    now = dt.datetime.now(dt.UTC)
    base = dt.datetime(2026, 1, 1, 9, 0)
    try:
        for offset in range(0, count, 5000):
            batch = []
            for i in range(offset, min(count, offset + 5000)):
                start = EventTime(wall=base + dt.timedelta(hours=i % 20000), tz="Europe/Paris")
                fields = EventFields(
                    title=f"Fill {i}",
                    start=start,
                    end=start.shifted(dt.timedelta(hours=1)),
                    attendees=(Attendee("ada@example.org", "Ada"),),
                )
                eid = new_id()
                event = Event(eid, calendar_id, f"{eid}@calgate", fields, now, now)
                batch.append((event, bounds_of(fields)))
            await runtime.db.write(lambda c, b=batch: events.insert_events(c, b))
    finally:
        await runtime.aclose()


class Radicale:
    def __init__(self, root: Path) -> None:
        self.root = root / "radicale"
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.collection = self.root / "collections" / "collection-root" / "bench" / "cal"

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        config = self.root / "config"
        config.write_text(
            f"[server]\nhosts = 127.0.0.1:{self.port}\n"
            f"[auth]\ntype = none\n[rights]\ntype = owner_only\n"
            f"[storage]\nfilesystem_folder = {self.root / 'collections'}\n"
            "[logging]\nlevel = error\n"
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "radicale", "--config", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        auth = {"Authorization": "Basic YmVuY2g6eA=="}
        wait_http(f"http://127.0.0.1:{self.port}/", auth)
        if not self.collection.exists():
            r = httpx.request(
                "MKCALENDAR", f"http://127.0.0.1:{self.port}/bench/cal/", headers=auth
            )
            r.raise_for_status()
        self.url = f"http://127.0.0.1:{self.port}/bench/cal/"

    def stop(self) -> None:
        if self.proc:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def warm_up(self) -> None:
        """One create first: Radicale reads a grown collection on its first request."""
        uid = f"warm-{time.time_ns()}"
        body = (
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\nBEGIN:VEVENT\r\n"
            f"UID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260120T133000Z\r\n"
            "DTEND:20260120T143000Z\r\nSUMMARY:Warm\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
        )
        headers = {"Authorization": "Basic YmVuY2g6eA==", "Content-Type": "text/calendar"}
        httpx.put(
            f"{self.url}{uid}.ics", content=body, headers=headers, timeout=600
        ).raise_for_status()

    def fill(self, count: int) -> None:
        """Add ``count`` events as files in the collection folder (not measured)."""
        for i in range(count):
            uid = f"fill-{time.time_ns()}-{i}"
            (self.collection / f"{uid}.ics").write_text(
                "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\nBEGIN:VEVENT\r\n"
                f"UID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260120T133000Z\r\n"
                "DTEND:20260120T143000Z\r\nSUMMARY:Fill\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
            )


def count_rows(peer: Calgate | Radicale) -> int:
    if isinstance(peer, Radicale):
        return sum(1 for p in peer.collection.iterdir() if p.suffix == ".ics")
    return peer.count()


def matrix(root: Path, script: Path, seconds: int, postgres: str | None) -> None:
    """Creates per second on an empty calendar: SQLite and PostgreSQL, 1 and 2 workers."""
    variants = [("SQLite", None)] + ([("PostgreSQL", postgres)] if postgres else [])
    print("| store | workers | creates/s | p50 (ms) | p99 (ms) | errors |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, url in variants:
        for workers in (1, 2):
            if url:
                from tests.conftest import reset_postgres

                asyncio.run(reset_postgres(url))
            peer = Calgate(root, url, workers)
            peer.start()
            try:
                rps, p50, p99, errors = wrk(peer.url, script, seconds, "m")
            finally:
                peer.stop()
            print(f"| {name} | {workers} | {rps:,.0f} | {p50:.1f} | {p99:.1f} | {errors} |")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="smaller sizes and shorter runs")
    parser.add_argument("--seconds", type=int, default=10, help="length of each measured run")
    parser.add_argument("--peers", default="calgate,radicale", help="comma-separated peers to run")
    parser.add_argument("--sizes", help="comma-separated calendar sizes (default 0,10k,50k,100k)")
    parser.add_argument(
        "--matrix",
        action="store_true",
        help="instead: SQLite and PostgreSQL (with --postgres), 1 and 2 workers, empty calendar",
    )
    parser.add_argument("--postgres", help="PostgreSQL URL for --matrix (it is emptied)")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "create_bench.json")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")
    seconds = 3 if args.quick else args.seconds
    sizes = [0, 2_000, 10_000] if args.quick else [0, 10_000, 50_000, 100_000]
    if args.sizes:
        sizes = [int(n) for n in args.sizes.split(",")]
    scripts = Path(tempfile.mkdtemp(prefix="calgate-bench-"))
    (scripts / "calgate.lua").write_text(CALGATE_LUA)
    (scripts / "radicale.lua").write_text(RADICALE_LUA)
    runs: list[Run] = []
    if args.matrix:
        with tempfile.TemporaryDirectory(prefix="calgate-bench-") as tmp:
            matrix(Path(tmp), scripts / "calgate.lua", seconds, args.postgres)
        return
    with tempfile.TemporaryDirectory(prefix="calgate-bench-", ignore_cleanup_errors=True) as tmp:
        root = Path(tmp)
        peers: list[tuple[str, Calgate | Radicale, Path]] = [
            ("calgate", Calgate(root), scripts / "calgate.lua"),
            ("radicale", Radicale(root), scripts / "radicale.lua"),
        ]
        wanted = set(args.peers.split(","))
        for name, peer, script in peers:
            if name not in wanted:
                continue
            peer.start()
            try:
                for size in sizes:
                    have = count_rows(peer)
                    if have < size:
                        peer.stop()
                        peer.fill(size - have)
                        peer.start()
                        peer.warm_up()
                    rps, p50, p99, errors = wrk(peer.url, script, seconds, f"r{size}")
                    runs.append(Run(name, size, rps, p50, p99, errors))
                    print(
                        f"{name:9} size {size:>7}: {rps:8.1f} creates/s  "
                        f"p50 {p50:7.1f} ms  p99 {p99:7.1f} ms  errors {errors}",
                        flush=True,
                    )
            finally:
                peer.stop()
    print()
    print(
        "| calendar size | calgate creates/s | calgate p50 / p99 (ms) "
        "| Radicale creates/s | Radicale p50 / p99 (ms) | ratio |"
    )
    print("|---:|---:|---:|---:|---:|---:|")
    for size in sizes:
        found = {r.peer: r for r in runs if r.size == size}
        if len(found) < 2:
            continue
        c, r = found["calgate"], found["radicale"]
        print(
            f"| {size:,} | {c.rps:,.0f} | {c.p50_ms:.1f} / {c.p99_ms:.1f} | {r.rps:,.1f} | "
            f"{r.p50_ms:.1f} / {r.p99_ms:.1f} | {c.rps / r.rps if r.rps else float('inf'):.0f}x |"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps([asdict(r) for r in runs], indent=2))
    shutil.rmtree(scripts, ignore_errors=True)


if __name__ == "__main__":
    main()
