"""calgate's added latency over a direct call to the local Google test server.

The Google Calendar test server of the test tree (tests/fakes/google.py) runs in its own
process under uvicorn; the real `calgate serve` runs in another, on a fresh data directory,
with a GOOGLE_OAUTH account connected to that server through `POST /api/v1/accounts` (the
refresh token comes from the test server's own OAuth routes: consent, then code exchange).
`wrk` (one thread) then sends the same operation both ways, for a fixed time, at each
number of connections:

- direct:       GET {google}/calendar/v3/calendars/{cal}/events/{id}   (Bearer token)
- via calgate:  GET /api/v1/calendars/{cal}/events/{id}?account_id=...  (X-API-KEY)

and the same for creating an event (POST; the direct POST replays the body and query calgate
sent to the test server for the same event, with a fresh client-chosen id each time).
"Added" is via calgate minus direct, percentile by percentile. 32 and 512 connections are the
figures asked for; 1 connection shows calgate's own time per request without queueing. wrk's
percentiles cover the requests answered within a run, so when calgate queues for seconds (512
connections) its p99 is cut by the run length. The CPU time each process used during a run is
read from /proc, to show where the time goes.

    python bench/provider_overhead_bench.py            # 10 s per run, about 3 minutes
    python bench/provider_overhead_bench.py --quick    # 3 s per run, about 1.5 minutes

Needs `wrk` (Debian/Ubuntu: `apt-get install wrk`), Linux (/proc) and the test extras
(google-api-python-client, uvicorn). `--profile DIR` records py-spy profiles of calgate
(collapsed stacks, samples holding the GIL) during the via-calgate runs.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

KEY = "cg_bench_key"
API_KEY = {"X-API-KEY": KEY}
CLIENT_ID, CLIENT_SECRET = "calgate-test-client", "calgate-test-secret"
CALENDAR = "user@example.com"  # the test server's primary calendar
EVENTS = "/calendar/v3/calendars/"
TICK = os.sysconf("SC_CLK_TCK")
EVENT = {
    "title": "Bench event",
    "body": "Agenda",
    "location": "Room 4",
    "start": {"date_time": "2026-01-20T13:30:00Z", "time_zone": "Europe/Paris"},
    "end": {"date_time": "2026-01-20T14:30:00Z", "time_zone": "Europe/Paris"},
    "attendees": [{"email": "ada@example.org", "display_name": "Ada"}],
}


# ---------------------------------------------------------------------------------------------
# The test server's process: tests/fakes/google.py under uvicorn, plus two bench routes.


class BenchControl:
    """Wraps the test server: answers ``/_bench/*`` itself and keeps the request log short.

    ``/_bench/stats``: how many requests the test server answered (to count calgate's calls
    per request). ``/_bench/last?method=POST&path=/calendar/...``: the last such request
    (query and JSON body), to replay what calgate sent.
    """

    def __init__(self, app: Any, state: Any) -> None:
        self.app, self.state, self.served = app, state, 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        from starlette.responses import JSONResponse

        if scope["type"] != "http" or not scope["path"].startswith("/_bench/"):
            await self.app(scope, receive, send)
            if scope["type"] == "http":
                self.served += 1
                records = self.state.requests.records
                if len(records) > 2000:  # the log keeps every request: bound its memory
                    del records[:-100]
            return
        if scope["path"] == "/_bench/stats":
            answer: Any = {"served": self.served}
        else:
            want = {k: v[0] for k, v in parse_qs(scope["query_string"].decode()).items()}
            found = self.state.requests.find(want.get("method"), want.get("path", "/"))
            last = found[-1] if found else None
            answer = last and {"path": last.path, "query": last.query, "body": last.json}
        await JSONResponse(answer)(scope, receive, send)


def serve_test_server(port: int) -> None:
    import uvicorn
    from tests.fakes import GoogleState, google_app

    state = GoogleState()
    app = BenchControl(google_app(state), state)
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        server_header=False,
    )


# ---------------------------------------------------------------------------------------------
# The bench's process: start both servers, connect the account, run wrk.


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def machine_cpu() -> float:
    """CPU seconds all processes of the machine have used (busy time of every CPU)."""
    first = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in first[:8])
    return (user + nice + system + irq + softirq + steal) / TICK


class Processes:
    """The child processes of the run, each in its own session; stopped in reverse order."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.started: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, name: str, cmd: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = (self.logs / f"{name}.log").open("wb")
        proc = subprocess.Popen(
            cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        self.started.append((name, proc))
        return proc

    def tail(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")[-3000:]

    def check(self) -> None:
        for name, proc in self.started:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}:\n{self.tail(name)}")

    def stop(self) -> None:
        """calgate first (it may still be waiting on the test server), then the server."""
        for _, proc in reversed(self.started):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def wait_http(procs: Processes, url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        procs.check()
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up within 30 s")


@dataclass
class Setup:
    google: str
    calgate: str
    google_pid: int
    calgate_pid: int
    access_token: str = ""
    account_id: str = ""
    event_id: str = ""
    direct_insert: dict[str, Any] = field(default_factory=dict)
    upstream: dict[str, float] = field(default_factory=dict)

    @property
    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}

    def stats(self) -> int:
        return int(httpx.get(f"{self.google}/_bench/stats").json()["served"])


def clean_env() -> dict[str, str]:
    """This environment without CALGATE_ settings, so that a run does not depend on the shell."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALGATE_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def start(procs: Processes, data: Path, settings: dict[str, str] | None = None) -> Setup:
    """The Google test server and calgate; ``settings``: more ``CALGATE_*`` variables."""
    google_port, calgate_port = free_port(), free_port()
    google = f"http://127.0.0.1:{google_port}"
    script = str(Path(__file__).resolve())
    fake = procs.start(
        "google-test-server",
        [sys.executable, script, "--serve-test-server", str(google_port)],
        clean_env(),
    )
    wait_http(procs, f"{google}/_bench/stats")
    env = clean_env() | {
        "CALGATE_API_KEY": KEY,
        "CALGATE_DATA_DIR": str(data),
        "CALGATE_PUBLIC_URL": f"http://127.0.0.1:{calgate_port}",
        "CALGATE_ALLOW_LOOPBACK_URLS": "true",
        "CALGATE_GOOGLE_API_URL": google,
        "CALGATE_GOOGLE_AUTH_URL": f"{google}/o/oauth2/v2/auth",
        "CALGATE_GOOGLE_TOKEN_URL": f"{google}/token",
        "CALGATE_GOOGLE_CLIENT_ID": CLIENT_ID,
        "CALGATE_GOOGLE_CLIENT_SECRET": CLIENT_SECRET,
        **(settings or {}),
    }
    serve = [sys.executable, "-m", "calgate", "serve", "--port", str(calgate_port)]
    calgate_proc = procs.start("calgate", serve, env)
    calgate = f"http://127.0.0.1:{calgate_port}"
    wait_http(procs, f"{calgate}/healthz")
    return Setup(google, calgate, fake.pid, calgate_proc.pid)


def connect(setup: Setup) -> None:
    """Consent and code exchange on the test server, the account in calgate, one event."""
    redirect = "http://127.0.0.1/bench-callback"
    consent = httpx.get(
        f"{setup.google}/o/oauth2/v2/auth",
        params={
            "client_id": CLIENT_ID,
            "redirect_uri": redirect,
            "response_type": "code",
            "scope": "https://www.googleapis.com/auth/calendar",
        },
    )
    code = parse_qs(urlsplit(consent.headers["location"]).query)["code"][0]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect}
    form |= {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    tokens = httpx.post(f"{setup.google}/token", data=form).raise_for_status().json()
    setup.access_token = tokens["access_token"]
    api, headers = f"{setup.calgate}/api/v1", {"X-API-KEY": KEY}
    body = {"provider": "GOOGLE_OAUTH", "refresh_token": tokens["refresh_token"]}
    r = httpx.post(f"{api}/accounts", json=body, headers=headers, timeout=30)
    if r.status_code != 201:
        raise RuntimeError(f"connecting the Google account: {r.status_code} {r.text}")
    setup.account_id = r.json()["account_id"]
    created = httpx.post(
        f"{api}/calendars/{quote(CALENDAR)}/events",
        params={"account_id": setup.account_id},
        json=EVENT,
        headers=headers,
        timeout=30,
    ).raise_for_status()
    setup.event_id = created.json()["event_id"]
    sent = httpx.get(f"{setup.google}/_bench/last", params={"method": "POST", "path": EVENTS})
    setup.direct_insert = sent.raise_for_status().json()
    if setup.direct_insert["body"].get("id") != setup.event_id:
        raise RuntimeError(f"the test server did not see calgate's insert: {setup.direct_insert}")


# ---------------------------------------------------------------------------------------------
# wrk: one Lua script per target; done() prints the figures as one JSON line.

DONE = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests":%d,"seconds":%f,"p50":%d,"p90":%d,"p99":%d,"max":%d,' ..
    '"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
"""


def lua_string(text: str) -> str:
    assert "]==]" not in text
    return f"[==[{text}]==]"


def read_script(headers: dict[str, str]) -> str:
    lines = [f"wrk.headers[ {lua_string(k)} ] = {lua_string(v)}" for k, v in headers.items()]
    return "\n".join(lines) + DONE


def create_script(headers: dict[str, str], body: dict[str, Any]) -> str:
    """A POST of ``body`` each time."""
    head = read_script({**headers, "Content-Type": "application/json"})
    return f'wrk.method = "POST"\nwrk.body = {lua_string(json.dumps(body))}\n' + head


def insert_script(headers: dict[str, str], body: dict[str, Any]) -> str:
    """Google's insert of ``body`` with a fresh client-chosen ``id`` each time (as calgate
    sends it), unique across runs through args[1]."""
    rest = json.dumps({k: v for k, v in body.items() if k != "id"})[1:]
    return (
        read_script({**headers, "Content-Type": "application/json"})
        + f"local counter, tag, rest = 0, '', {lua_string(rest)}\n"
        + """init = function(args) tag = args[1] end
request = function()
  counter = counter + 1
  local body = '{"id":"' .. tag .. string.format("%09d", counter) .. '",' .. rest
  return wrk.format("POST", nil, nil, body)
end
"""
    )


@dataclass
class Figures:
    requests: int  # answered within the run, as wrk counts them
    seconds: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: int  # wrk's socket errors, timeouts and non-2xx answers
    cpu_ms: dict[str, float]  # CPU time of each process per request it handled
    others: float  # CPUs kept busy by other processes of the machine meanwhile (0 to 2)


@dataclass
class Row:
    operation: str
    connections: int
    direct: Figures
    via: Figures


class Wrk:
    """Runs wrk against one target and reads the CPU time the processes used meanwhile."""

    def __init__(self, scripts: Path, setup: Setup, seconds: int, profile: Path | None) -> None:
        self.scripts, self.setup, self.seconds, self.profile = scripts, setup, seconds, profile
        self.runs = 0

    def run(
        self, name: str, url: str, script: str, connections: int, seconds: int
    ) -> dict[str, Any]:
        self.runs += 1
        path = self.scripts / f"{name}.lua"
        path.write_text(script)
        cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s"]
        cmd += ["--latency", "-s", str(path), url, "--", f"bench{self.runs:04d}"]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
        line = next((x for x in done.stdout.splitlines() if x.startswith("BENCH ")), None)
        if done.returncode or line is None:
            raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr}{done.stdout}")
        result: dict[str, Any] = json.loads(line.removeprefix("BENCH "))
        return result

    def settle(self) -> int:
        """Wait until calgate has finished the requests wrk left in flight: the test server
        receives nothing more and calgate's CPU is idle (at most 60 s); the server's count."""
        pid, deadline = self.setup.calgate_pid, time.monotonic() + 60
        last, cpu = self.setup.stats(), cpu_seconds(pid)
        while True:
            time.sleep(0.25)
            now, cpu_now = self.setup.stats(), cpu_seconds(pid)
            if (now == last and cpu_now - cpu < 0.01) or time.monotonic() > deadline:
                return now
            last, cpu = now, cpu_now

    def measure(self, operation: str, way: str, url: str, script: str, n: int) -> Figures:
        self.run(f"{way}-{operation}", url, script, n, 1)  # warm-up: connections, pools
        pids = {"calgate": self.setup.calgate_pid, "test server": self.setup.google_pid}
        served = self.settle()
        before = {k: cpu_seconds(p) for k, p in pids.items()}
        wrk_before, machine_before, started = children_cpu(), machine_cpu(), time.monotonic()
        profiler = self.start_profile(operation, way, n)
        try:
            r = self.run(f"{way}-{operation}", url, script, n, self.seconds)
        finally:
            if profiler is not None:
                profiler.wait(timeout=self.seconds + 30)
        wrk_cpu = children_cpu() - wrk_before
        ours = wrk_cpu + sum(cpu_seconds(p) - before[k] for k, p in pids.items())
        others = (machine_cpu() - machine_before - ours) / (time.monotonic() - started)
        # Requests handled, those wrk stopped waiting for included.
        calls = self.setup.upstream[operation] if way == "via" else 1.0
        handled = max((self.settle() - served) / calls, 1.0)
        cpu = {k: (cpu_seconds(p) - before[k]) * 1000 / handled for k, p in pids.items()}
        cpu["wrk"] = wrk_cpu * 1000 / max(r["requests"], 1)
        return Figures(
            requests=r["requests"],
            seconds=r["seconds"],
            rps=r["requests"] / r["seconds"],
            p50_ms=r["p50"] / 1000,
            p90_ms=r["p90"] / 1000,
            p99_ms=r["p99"] / 1000,
            max_ms=r["max"] / 1000,
            errors=sum(r[k] for k in ("connect", "read", "write", "status", "timeout")),
            cpu_ms=cpu,
            others=max(others, 0.0),
        )

    def start_profile(self, operation: str, way: str, n: int) -> subprocess.Popen[bytes] | None:
        """py-spy on calgate during the via-calgate runs (samples holding the GIL: CPU)."""
        if self.profile is None or way != "via":
            return None
        self.profile.mkdir(parents=True, exist_ok=True)
        out = self.profile / f"calgate-{operation}-{n}.txt"
        cmd = ["py-spy", "record", "--pid", str(self.setup.calgate_pid), "--format", "raw"]
        cmd += ["--gil", "--rate", "200", "--duration", str(max(self.seconds - 1, 1))]
        return subprocess.Popen([*cmd, "-o", str(out)], stdout=subprocess.DEVNULL)


Plan = dict[str, tuple[str, str, str, str]]


def targets(setup: Setup) -> Plan:
    """Per operation: direct URL and script, via-calgate URL and script."""
    event = f"{quote(CALENDAR)}/events/{setup.event_id}"
    account = urlencode({"account_id": setup.account_id})
    sent = setup.direct_insert
    insert_url = f"{setup.google}{quote(sent['path'])}"
    if sent["query"]:
        insert_url += "?" + urlencode(sent["query"])
    return {
        "read": (
            f"{setup.google}{EVENTS}{event}",
            read_script(setup.bearer),
            f"{setup.calgate}/api/v1/calendars/{event}?{account}",
            read_script(API_KEY),
        ),
        "create": (
            insert_url,
            insert_script(setup.bearer, sent["body"]),
            f"{setup.calgate}/api/v1/calendars/{quote(CALENDAR)}/events?{account}",
            create_script(API_KEY, EVENT),
        ),
    }


def check_targets(setup: Setup, plan: Plan) -> None:
    """Before measuring: both ways answer 200 (the same event for a read), and how many
    requests calgate makes to the test server per operation."""
    direct_url, _, via_url, _ = plan["read"]
    direct = httpx.get(direct_url, headers=setup.bearer)
    via = httpx.get(via_url, headers=API_KEY, timeout=30)
    if direct.status_code != 200 or via.status_code != 200:
        raise RuntimeError(f"read check: direct {direct.status_code}, calgate {via.status_code}")
    if direct.json()["id"] != setup.event_id or via.json()["id"] != setup.event_id:
        raise RuntimeError("read check: not the same event both ways")
    direct_url, _, via_url, _ = plan["create"]
    body = {**setup.direct_insert["body"], "id": "benchcheck0"}
    direct = httpx.post(direct_url, json=body, headers=setup.bearer)
    if direct.status_code != 200:
        raise RuntimeError(f"create check: direct {direct.status_code} {direct.text}")
    calls: dict[str, tuple[int, Callable[[], httpx.Response]]] = {
        "read": (20, lambda: httpx.get(plan["read"][2], headers=API_KEY, timeout=30)),
        "create": (
            5,
            lambda: httpx.post(plan["create"][2], json=EVENT, headers=API_KEY, timeout=30),
        ),
    }
    for operation, (count, call) in calls.items():
        before = setup.stats()
        for _ in range(count):
            call().raise_for_status()
        setup.upstream[operation] = (setup.stats() - before) / count


def fmt(value: float) -> str:
    if abs(value) < 10:
        return f"{value:.2f}"
    return f"{value:.1f}" if abs(value) < 100 else f"{value:.0f}"


def latency(f: Figures) -> str:
    return f"{fmt(f.p50_ms)} / {fmt(f.p99_ms)}" if f.requests else "none answered"


def added(r: Row) -> str:
    if not (r.direct.requests and r.via.requests):
        return "n/a"
    return f"{fmt(r.via.p50_ms - r.direct.p50_ms)} / {fmt(r.via.p99_ms - r.direct.p99_ms)}"


def progress(r: Row) -> str:
    def side(f: Figures) -> str:
        if not f.requests:
            return f"no answer in {f.seconds:.0f} s"
        return f"p50 {f.p50_ms:7.2f} ms  p99 {f.p99_ms:7.2f} ms  {f.rps:6,.0f}/s"

    return f"{r.operation:6} c={r.connections:<4} direct {side(r.direct)} | calgate {side(r.via)}"


def report(rows: list[Row], setup: Setup) -> None:
    print()
    print(
        "| operation | connections | direct p50 / p99 (ms) | direct req/s "
        "| via calgate p50 / p99 (ms) | via calgate req/s | added p50 / p99 (ms) "
        "| errors direct / via |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        d, v = r.direct, r.via
        print(
            f"| {r.operation} | {r.connections} | {latency(d)} | {d.rps:,.0f} "
            f"| {latency(v)} | {v.rps:,.0f} | {added(r)} | {d.errors} / {v.errors} |"
        )
    calls = ", ".join(f"{k} {v:g}" for k, v in setup.upstream.items())
    print()
    print(f"CPU time per request handled (ms); test-server calls per calgate request: {calls}.")
    print()
    print(
        "| operation | connections | direct: test server / wrk "
        "| via calgate: calgate / test server / wrk | other processes (CPUs) direct / via |"
    )
    print("|---|---:|---:|---:|---:|")
    for r in rows:
        dc, vc = r.direct.cpu_ms, r.via.cpu_ms
        print(
            f"| {r.operation} | {r.connections} | {dc['test server']:.2f} / {dc['wrk']:.2f} "
            f"| {vc['calgate']:.2f} / {vc['test server']:.2f} / {vc['wrk']:.2f} "
            f"| {r.direct.others:.2f} / {r.via.others:.2f} |"
        )


def verdict(rows: list[Row], target_ms: float) -> None:
    print()
    for r in rows:
        if r.operation != "read":
            continue
        if not r.via.requests:
            print(
                f"read, {r.connections} connections: calgate answered no request within the "
                f"{r.via.seconds:.0f} s run; the target (<= {target_ms:g} ms) is NOT met."
            )
            continue
        more = r.via.p50_ms - r.direct.p50_ms
        if r.connections == 1:
            print(
                f"read, 1 connection (no queueing): calgate adds {more:.2f} ms at p50: its own "
                f"work ({r.via.cpu_ms['calgate']:.2f} ms CPU per request) and one more hop."
            )
        else:
            met = "met" if more <= target_ms else "NOT met"
            cut = r.via.p99_ms > 500 * r.via.seconds
            print(
                f"read, {r.connections} connections: calgate adds {more:.2f} ms at p50; the "
                f"target (<= {target_ms:g} ms) is {met}."
                + (f" (Its p99 is cut by the {r.via.seconds:.0f} s run.)" if cut else "")
            )
    busy = max((max(r.direct.others, r.via.others) for r in rows), default=0.0)
    if busy > 0.2:
        print(
            f"Other processes kept up to {busy:.2f} CPUs busy during some runs: those figures "
            "are pessimistic; run again on a quiet machine."
        )
    print(
        "With many connections the added latency is queueing, not per-request work: calgate "
        "is one process (Python: one core at most), so a request waits behind those ahead of "
        "it (latency ~ connections / req/s), while the test server and wrk share the CPU."
    )


def where(setup: Setup, seconds: int) -> str:
    fast = all(importlib.util.find_spec(m) for m in ("uvloop", "httptools"))
    server = "uvicorn, uvloop + httptools" if fast else "uvicorn"
    return (
        f"{len(os.sched_getaffinity(0))} CPUs, no pinning; three processes share them:\n"
        f"  wrk -t1 (the load; a new process each run)\n"
        f"  the Google test server: pid {setup.google_pid}, one process ({server})\n"
        f"  calgate serve: pid {setup.calgate_pid}, one process ({server}), SQLite, "
        "access log on (to a file), outbox worker on\n"
        f"Each run: 1 s warm-up, then {seconds} s measured. Added = via calgate - direct."
    )


@contextmanager
def stop_on_sigterm() -> Iterator[None]:
    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="3 s per run instead of 10 s")
    parser.add_argument("--seconds", type=int, default=10, help="length of each measured run")
    parser.add_argument(
        "--connections", default="1,32,512", help="comma-separated wrk connection counts"
    )
    parser.add_argument("--operations", default="read,create", help="comma-separated: read, create")
    parser.add_argument("--target-ms", type=float, default=1.0, help="added p50 target (ms)")
    parser.add_argument("--out", type=Path, help="also write the figures as JSON here")
    parser.add_argument("--profile", type=Path, help="py-spy profiles of calgate into this dir")
    parser.add_argument("--serve-test-server", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_test_server:
        serve_test_server(args.serve_test_server)
        return
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")
    seconds = 3 if args.quick else args.seconds
    connections = [int(n) for n in args.connections.split(",")]
    operations = args.operations.split(",")
    rows: list[Row] = []
    with ExitStack() as stack:
        stack.enter_context(stop_on_sigterm())
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="calgate-bench-")))
        procs = Processes(tmp)
        stack.callback(procs.stop)
        setup = start(procs, tmp / "data")
        try:
            connect(setup)
            plan = targets(setup)
            check_targets(setup, plan)
            print(where(setup, seconds), flush=True)
            bench = Wrk(tmp, setup, seconds, args.profile)
            for operation in operations:
                direct_url, direct_script, via_url, via_script = plan[operation]
                for n in connections:
                    direct = bench.measure(operation, "direct", direct_url, direct_script, n)
                    via = bench.measure(operation, "via", via_url, via_script, n)
                    procs.check()
                    rows.append(Row(operation, n, direct, via))
                    print(progress(rows[-1]), flush=True)
        except Exception:
            print(f"calgate's log, last lines:\n{procs.tail('calgate')}", file=sys.stderr)
            raise
    report(rows, setup)
    verdict(rows, args.target_ms)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps([asdict(r) for r in rows], indent=2))


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit("interrupted; the servers were stopped")
