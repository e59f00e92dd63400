"""Provider sync: initial sync throughput and outside change -> webhook latency.

Everything runs in this process against real components: calgate's runtime (SQLite in a
temporary directory, or PostgreSQL with --database-url), the Google test server of the test
tree in process (calgate's provider HTTP client reaches it through an ASGI transport, as the
tests do), a real Radicale subprocess, and a real webhook receiver on loopback.

1. Initial sync of N events (5 % of them weekly series) from the Google test server and from
   Radicale: calgate's first sync run (list, convert, write the mirror, commit) against a
   reference measured in the same run: the bare listing of the same calendar over HTTP
   (Google: events.list pages of 2,500; Radicale: one sync-collection REPORT with data),
   without parsing into calgate's model or storing anything. Reported: events/s, the ratio
   to the reference, and the peak of Python allocations during the run (tracemalloc).
2. Outside change -> webhook: the scheduler and the outbox worker run with a polling
   interval I; events are PUT on Radicale at random moments; for each, the time from the PUT
   to the receiver getting its `calendar_event_created`. Reported as p50/p99 and as fractions
   of I (polling alone predicts a uniform wait in [0, I] plus a run).

3. Reads from the mirror (issue 9, item 4): GET of one event and a list, each sent through
   calgate's HTTP app (in process) answered from the sync mirror and from the provider (the
   mirror's bound set to 0) in alternating rounds, after checking that both answers are the
   same: p50/p99 latency and sequential req/s of each, and live/mirror at p50. Google: a
   one-off event and the calendar's first 100 (a windowed Google list is not answered from
   the mirror); Radicale: an event and a one-week expanded list.
4. Idle polling: 100 empty CalDAV calendars on Radicale polled by the scheduler for 30 s;
   calgate's CPU time per poll (process time / polls), next to a bare sync-collection REPORT
   from a plain client. At a 1 s interval the scheduler is kept busy; at 6 s it polls at the
   issue's rate (1,000 calendars every 60 s: 16.7 polls/s). Radicale's own server answers
   HTTP/1.0, so every poll (calgate's and the bare one) opens a TCP connection; with
   ``--keep-alive`` Radicale's WSGI application is served by waitress, which keeps
   connections open (as hosted CalDAV servers do), and both reuse theirs.

    python bench/sync_bench.py                 # N=5000 (Google), 1000 (Radicale), 3 repeats
    python bench/sync_bench.py --quick         # N=1000 / 300, 2 repeats
    python bench/sync_bench.py --only-reads    # only the reads (3.)
    python bench/sync_bench.py --parts idle,initial --idle-interval 6
    python bench/sync_bench.py --parts idle --idle-interval 6 --keep-alive
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import httpx
from uvicorn.loops.auto import auto_loop_factory

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakes import google_sync, graph_delta  # noqa: E402
from tests.oauth_env import Fakes  # noqa: E402
from tests.radicale import radicale_server  # noqa: E402
from tests.receiver import running_receiver  # noqa: E402
from tests.test_sync_caldav import ics  # noqa: E402

from calgate import metrics  # noqa: E402
from calgate.api.app import create_app  # noqa: E402
from calgate.runtime import Runtime  # noqa: E402
from calgate.settings import Settings  # noqa: E402
from calgate.store import accounts as account_store  # noqa: E402
from calgate.store import keys  # noqa: E402
from calgate.sync.caldav import sync_collection_body  # noqa: E402
from calgate.sync.reads import MirrorReads  # noqa: E402
from calgate.webhooks import WebhookSpec  # noqa: E402


def _google_body(i: int) -> dict[str, Any]:
    day = dt.date(2026, 1, 1) + dt.timedelta(days=i % 700)
    body: dict[str, Any] = {
        "summary": f"Event {i}",
        "start": {"dateTime": f"{day}T09:00:00+01:00", "timeZone": "Europe/Paris"},
        "end": {"dateTime": f"{day}T10:00:00+01:00", "timeZone": "Europe/Paris"},
    }
    if i % 20 == 0:
        body["recurrence"] = ["RRULE:FREQ=WEEKLY;COUNT=10"]
    return body


async def _runtime(settings: Settings, fakes: Fakes | None = None) -> Runtime:
    runtime = Runtime.build(settings, transport=fakes.transport() if fakes else None)
    await runtime.start()
    return runtime


async def _tenant(runtime: Runtime) -> str:
    return await runtime.db.write(lambda c: keys.create_tenant(c, "bench"))


async def _caldav_account(runtime: Runtime, radicale: Any, user: Any) -> tuple[str, str]:
    """A tenant of its own and a CALDAV account of ``user`` on ``radicale`` in it."""
    tenant = await _tenant(runtime)
    body = {
        "provider": "CALDAV",
        "url": radicale.url,
        "username": user.name,
        "password": user.password,
    }
    return tenant, await runtime.events.connect(tenant, body)


async def google_initial(base: Settings, n: int) -> dict[str, float]:
    fakes = Fakes()
    for i in range(n):
        google_sync.user_creates(fakes.google, fakes.google.email, _google_body(i))
    runtime = await _runtime(fakes.settings(base), fakes)
    try:
        tenant = await _tenant(runtime)
        token = fakes.google.oauth.issue_refresh_token()
        account_id = await runtime.events.connect(
            tenant, {"provider": "GOOGLE_OAUTH", "refresh_token": token}
        )
        # Reference: the same listing, bare, through the same in-process transport.
        access = fakes.google.oauth.issue_access_token()
        url = f"http://google.test/calendar/v3/calendars/{fakes.google.email}/events"
        started = time.perf_counter()
        async with httpx.AsyncClient(transport=fakes.hosts()) as client:
            params = {"maxResults": "2500", "showDeleted": "true"}
            while True:
                r = await client.get(
                    url, params=params, headers={"Authorization": f"Bearer {access}"}
                )
                page = r.json()
                if "nextPageToken" not in page:
                    break
                params = {**params, "pageToken": page["nextPageToken"]}
        reference = time.perf_counter() - started
        return await _timed_sync(runtime, account_id, n, reference)
    finally:
        await runtime.aclose()


async def _timed_sync(
    runtime: Runtime, account_id: str, n: int, reference: float
) -> dict[str, float]:
    scheduler = runtime.scheduler()
    tracemalloc.start()
    started = time.perf_counter()
    done = await scheduler.run_account(account_id)
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert done and all(result is not None for _, result in done), done
    return {
        "events": n,
        "seconds": seconds,
        "events_per_s": n / seconds,
        "reference_s": reference,
        "ratio": seconds / reference,
        "peak_mib": peak / 2**20,
    }


def sync_collection_reference(client: httpx.Client, path: str) -> None:
    """The bare listing calgate's first CalDAV sync does: one sync-collection REPORT."""
    r = client.request(
        "REPORT",
        path,
        content=sync_collection_body(""),
        headers={"Depth": "0", "Content-Type": "application/xml; charset=utf-8"},
    )
    assert r.status_code == 207, r.text


async def radicale_initial(base: Settings, n: int, directory: Path) -> dict[str, float]:
    with radicale_server(directory / "radicale") as radicale:
        user = radicale.add_user("bench")
        path = radicale.make_calendar(user, "work", "Work")
        with radicale.client(user) as client:
            for i in range(n):
                rule = "FREQ=WEEKLY;COUNT=10" if i % 20 == 0 else ""
                r = client.put(
                    f"{path}e{i}.ics",
                    content=ics(f"e{i}@bench", f"Event {i}", rrule=rule).encode(),
                    headers={"Content-Type": "text/calendar; charset=utf-8"},
                )
                assert r.status_code in (201, 204), r.text
            started = time.perf_counter()
            sync_collection_reference(client, path)
            reference = time.perf_counter() - started
        settings = base.model_copy(update={"allow_loopback_urls": True})
        runtime = await _runtime(settings)
        try:
            _, account_id = await _caldav_account(runtime, radicale, user)
            return await _timed_sync(runtime, account_id, n, reference)
        finally:
            await runtime.aclose()


async def latency(base: Settings, interval: float, changes: int, directory: Path) -> list[float]:
    """Seconds from a PUT on Radicale to the webhook delivery of its creation."""
    with radicale_server(directory / "radicale-latency") as radicale, running_receiver() as rx:
        user = radicale.add_user("lat")
        path = radicale.make_calendar(user, "work", "Work")
        settings = base.model_copy(
            update={
                "allow_loopback_urls": True,
                "sync_interval_seconds": interval,
                "worker_poll_seconds": 0.05,
            }
        )
        runtime = await _runtime(settings)
        try:
            tenant, account_id = await _caldav_account(runtime, radicale, user)
            spec = WebhookSpec(source="calendar_event", request_url=rx.url)
            await runtime.webhooks.create(tenant, spec)
            record = await runtime.db.read(lambda c: account_store.get_account(c, account_id, None))
            assert record is not None
            put_at: dict[str, float] = {}
            seen: dict[str, float] = {}

            async def watch() -> None:  # when each delivery arrived (5 ms resolution)
                while True:
                    for request in rx.accepted():
                        seen.setdefault(request.json()["id"], time.monotonic())
                    await asyncio.sleep(0.005)

            worker, scheduler = runtime.worker(), runtime.scheduler()
            async with worker.running(), scheduler.running():
                await asyncio.sleep(interval * 2)  # the baseline
                watcher = asyncio.create_task(watch())
                with radicale.client(user) as client:
                    for i in range(changes):
                        await asyncio.sleep(random.uniform(0, interval))
                        name = f"l{i}"
                        put_at[name] = time.monotonic()
                        r = await asyncio.to_thread(  # off the loop calgate runs on
                            client.put,
                            f"{path}{name}.ics",
                            content=ics(f"{name}@bench", name).encode(),
                            headers={"Content-Type": "text/calendar; charset=utf-8"},
                        )
                        assert r.status_code in (201, 204)
                deadline = time.monotonic() + interval * 4 + 10
                # Polling the receiver's record (a thread of its own): no event to wait on.
                while len(seen) < changes and time.monotonic() < deadline:  # noqa: ASYNC110
                    await asyncio.sleep(0.005)
                watcher.cancel()
            await worker.aclose()
            assert len(seen) == changes == len(rx.accepted()), len(rx.accepted())
            return [seen[name] - put_at[name] for name in put_at]
        finally:
            await runtime.aclose()


async def idle(
    base: Settings,
    calendars: int,
    seconds: float,
    directory: Path,
    interval: float = 1.0,
    keep_alive: bool = False,
) -> dict[str, float]:
    """calgate's CPU per poll of an unchanged CalDAV calendar, and a bare sync-collection
    REPORT's (the same request from a plain HTTP client) in the same process. ``interval``
    1 s keeps the scheduler busy (more calendars due than slots); ``calendars / interval``
    polls a second at most otherwise (the issue's 1,000 calendars every 60 s: 16.7/s).
    ``keep_alive``: Radicale behind a WSGI server that keeps connections open."""
    with radicale_server(directory / "radicale-idle", keep_alive=keep_alive) as radicale:
        user = radicale.add_user("idle")
        paths = [radicale.make_calendar(user, f"c{i}", f"C{i}") for i in range(calendars)]
        settings = base.model_copy(
            update={
                "allow_loopback_urls": True,
                "sync_interval_seconds": interval,
                "sync_concurrency": 8,
                "sync_per_account": 8,
            }
        )
        runtime = await _runtime(settings)
        try:
            _, account_id = await _caldav_account(runtime, radicale, user)
            await runtime.scheduler().run_account(account_id)  # the baselines
            polls = "calgate_sync_run_duration_seconds_count"
            labels = {"provider": "CALDAV", "outcome": "ok"}
            before = metrics.REGISTRY.get_sample_value(polls, labels) or 0.0
            cpu = time.process_time()
            async with runtime.scheduler().running():
                await asyncio.sleep(seconds)
            used = time.process_time() - cpu
            done = (metrics.REGISTRY.get_sample_value(polls, labels) or 0.0) - before
        finally:
            await runtime.aclose()
        with radicale.client(user) as client:
            tokens = []
            for path in paths:
                r = client.request(
                    "REPORT",
                    path,
                    content=sync_collection_body(""),
                    headers={"Depth": "0", "Content-Type": "application/xml; charset=utf-8"},
                )
                tokens.append(r.text.split("<sync-token>")[-1].split("</")[0])
            cpu = time.process_time()
            for path, token in zip(paths, tokens, strict=True):
                client.request(
                    "REPORT",
                    path,
                    content=sync_collection_body(token),
                    headers={"Depth": "0", "Content-Type": "application/xml; charset=utf-8"},
                )
            bare = (time.process_time() - cpu) / len(paths)
    per_poll = used / max(done, 1)
    return {
        "polls": done,
        "polls_per_s": done / seconds,
        "calgate_ms": per_poll * 1000,
        "bare_ms": bare * 1000,
    }


# read -> "mirror" | "live" -> p50_ms, p99_ms, req_s
ReadTimes = dict[str, dict[str, dict[str, float]]]


async def _timed_reads(
    runtime: Runtime,
    tenant: str,
    account_id: str,
    urls: dict[str, tuple[str, dict[str, str]]],
    rounds: int,
    per_round: int,
) -> ReadTimes:
    """Each read of ``urls`` sent through calgate's HTTP app (ASGI, in process), answered from
    the mirror and from the provider (the mirror's bound set to 0) in alternating rounds of
    ``per_round`` sequential requests: per read and path, p50 and p99 latency (ms) and req/s."""
    _, key = await runtime.db.write(lambda c: keys.create_key(c, tenant, "bench-reads"))
    reads = runtime.events.mirror
    assert isinstance(reads, MirrorReads)
    bound = reads.max_age_us
    app = create_app(runtime.settings, runtime)
    times: dict[tuple[str, str], list[float]] = {}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://calgate.bench"
    ) as client:
        headers = {"X-API-KEY": key}

        async def once(url: str, params: dict[str, str]) -> None:
            r = await client.get(url, params={**params, "account_id": account_id}, headers=headers)
            assert r.status_code == 200, r.text

        for label, (url, params) in urls.items():  # the same answer both ways, and warm
            reads.max_age_us = 0
            r_live = await client.get(
                url, params={**params, "account_id": account_id}, headers=headers
            )
            reads.max_age_us = bound
            r_mirror = await client.get(
                url, params={**params, "account_id": account_id}, headers=headers
            )
            assert r_live.status_code == 200 and r_live.json() == r_mirror.json(), label
        for _ in range(rounds):
            for path, age in (("mirror", bound), ("live", 0)):
                reads.max_age_us = age
                for label, (url, params) in urls.items():
                    found = times.setdefault((label, path), [])
                    for _ in range(per_round):
                        started = time.perf_counter()
                        await once(url, params)
                        found.append(time.perf_counter() - started)
        reads.max_age_us = bound
    out: ReadTimes = {}
    for (label, path), values in times.items():
        values.sort()
        out.setdefault(label, {})[path] = {
            "p50_ms": statistics.median(values) * 1000,
            "p99_ms": values[min(len(values) - 1, int(len(values) * 0.99))] * 1000,
            "req_s": len(values) / sum(values),
        }
    return out


async def _oauth_reads(
    base: Settings,
    fakes: Fakes,
    provider: str,
    n: int,
    urls: dict[str, tuple[str, dict[str, str]]],
    rounds: int,
) -> ReadTimes:
    """``urls`` timed (:func:`_timed_reads`) on a ``provider`` account of ``fakes``' test
    server, connected and synced once (its ``n`` events in the mirror)."""
    settings = fakes.settings(base).model_copy(update={"sync_mirror_max_age_seconds": 3600.0})
    runtime = await _runtime(settings, fakes)
    try:
        tenant = await _tenant(runtime)
        state = fakes.google if provider == "GOOGLE_OAUTH" else fakes.graph
        token = state.oauth.issue_refresh_token()
        account_id = await runtime.events.connect(
            tenant, {"provider": provider, "refresh_token": token}
        )
        await _timed_sync(runtime, account_id, n, 1.0)
        return await _timed_reads(runtime, tenant, account_id, urls, rounds, 20)
    finally:
        await runtime.aclose()


async def google_reads(base: Settings, n: int, rounds: int) -> ReadTimes:
    """GET of one event, of a series, and the calendar's first page (no window: a window over a
    calendar holding series goes to Google) from the Google test server holding ``n`` events."""
    fakes = Fakes()
    made = [
        google_sync.user_creates(fakes.google, fakes.google.email, _google_body(i))
        for i in range(n)
    ]
    events = f"/api/v1/calendars/{fakes.google.email}/events"
    urls = {
        "GET one event": (f"{events}/{made[1]['id']}", {}),  # a one-off event
        "GET a series": (f"{events}/{made[0]['id']}", {}),
        "list, first 100": (events, {"limit": "100"}),
    }
    return await _oauth_reads(base, fakes, "GOOGLE_OAUTH", n, urls, rounds)


async def outlook_reads(base: Settings, n: int, rounds: int) -> ReadTimes:
    """GET of one event (by its Graph id, read whole by sync) from the Graph test server
    holding ``n`` one-off events in the synced window; Outlook lists go to Graph."""
    fakes = Fakes()
    today = dt.datetime.now(dt.UTC).date()
    made = []
    for i in range(n):
        day = today + dt.timedelta(days=1 + i % 300)
        hour = 8 + i % 9
        made.append(
            graph_delta.user_creates(
                fakes.graph,
                fakes.graph.default_calendar,
                {
                    "subject": f"Event {i}",
                    "start": {"dateTime": f"{day}T{hour:02d}:00:00", "timeZone": "UTC"},
                    "end": {"dateTime": f"{day}T{hour + 1:02d}:00:00", "timeZone": "UTC"},
                },
            )
        )
    events = f"/api/v1/calendars/{fakes.graph.default_calendar}/events"
    urls = {"GET one event": (f"{events}/{made[1]['id']}", {})}
    return await _oauth_reads(base, fakes, "OUTLOOK", n, urls, rounds)


async def radicale_reads(base: Settings, n: int, rounds: int, directory: Path) -> ReadTimes:
    """GET of one event and a one-week list from Radicale holding ``n`` events."""
    with radicale_server(directory / "radicale-reads") as radicale:
        user = radicale.add_user("reads")
        path = radicale.make_calendar(user, "work", "Work")
        with radicale.client(user) as client:
            for i in range(n):
                day = dt.date(2026, 1, 1) + dt.timedelta(days=i % 365)
                rule = "FREQ=WEEKLY;COUNT=10" if i % 20 == 0 else ""
                text = ics(f"e{i}@bench", f"Event {i}", rrule=rule).replace(
                    "20260601T", f"{day:%Y%m%d}T"
                )
                r = client.put(
                    f"{path}e{i}.ics",
                    content=text.encode(),
                    headers={"Content-Type": "text/calendar; charset=utf-8"},
                )
                assert r.status_code in (201, 204), r.text
        settings = base.model_copy(
            update={"allow_loopback_urls": True, "sync_mirror_max_age_seconds": 3600.0}
        )
        runtime = await _runtime(settings)
        try:
            tenant, account_id = await _caldav_account(runtime, radicale, user)
            await _timed_sync(runtime, account_id, n, 1.0)
            events = "/api/v1/calendars/work/events"
            week = {"start": "2026-03-02T00:00:00Z", "end": "2026-03-09T00:00:00Z"}
            urls = {
                "GET one event": (f"{events}/e1", {}),
                "one-week list, expanded": (events, {**week, "expand_recurring": "true"}),
            }
            return await _timed_reads(runtime, tenant, account_id, urls, rounds, 10)
        finally:
            await runtime.aclose()


def _print_reads(where: str, found: ReadTimes) -> None:
    for label, paths in found.items():
        mirror, live = paths["mirror"], paths["live"]
        print(
            f"reads, {where}, {label}: mirror p50 {mirror['p50_ms']:.2f} ms, "
            f"p99 {mirror['p99_ms']:.2f} ms, {mirror['req_s']:,.0f} req/s; live p50 "
            f"{live['p50_ms']:.2f} ms, p99 {live['p99_ms']:.2f} ms, {live['req_s']:,.0f} req/s; "
            f"live/mirror p50 {live['p50_ms'] / mirror['p50_ms']:.1f}x"
        )


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):,.0f} (min {min(values):,.0f}, max {max(values):,.0f})"


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--database-url", help="PostgreSQL URL (default: SQLite in a tmp dir)")
    parser.add_argument("--interval", type=float, default=2.0, help="polling interval (s)")
    parser.add_argument("--only-reads", action="store_true", help="skip after the reads")
    parser.add_argument(
        "--parts",
        default="reads,initial,idle,latency",
        help="comma-separated parts to run: reads, initial, idle, latency (default: all)",
    )
    parser.add_argument(
        "--idle-interval",
        type=float,
        action="append",
        help="polling interval of the idle part, seconds (repeatable; default 1 and 6: "
        "100 calendars kept busy, and at the issue's rate of 16.7 polls/s)",
    )
    parser.add_argument(
        "--loop",
        choices=["auto", "asyncio"],
        default="auto",
        help="event loop: what calgate serve runs on (auto: uvloop when installed), or asyncio's",
    )
    parser.add_argument(
        "--keep-alive",
        action="store_true",
        help="idle part: Radicale served by waitress (HTTP/1.1, connections kept open)",
    )
    return parser.parse_args()


async def main(args: argparse.Namespace) -> None:
    parts = {"reads"} if args.only_reads else set(args.parts.split(","))
    google_n, radicale_n, repeats, changes = (
        (1000, 300, 2, 10) if args.quick else (5000, 1000, 3, 30)
    )
    loop = type(asyncio.get_running_loop()).__module__.partition(".")[0]
    print(f"sync bench, {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, event loop {loop}")
    if "reads" in parts:
        await _reads(radicale_n, args.quick)
    if "initial" in parts:
        await _initial(args.database_url, google_n, radicale_n, repeats)
    if "idle" in parts:
        for interval in args.idle_interval or [1.0, 6.0]:
            await _idle(interval, repeats, args.quick, args.keep_alive)
    if "latency" in parts:
        await _latency(args.interval, changes)


async def _reads(radicale_n: int, quick: bool) -> None:
    reads_n, rounds = (1000, 3) if quick else (5000, 5)
    with tempfile.TemporaryDirectory() as tmp:
        base = Settings(data_dir=Path(tmp), sqlite_synchronous="NORMAL", log_level="warning")
        found = await google_reads(base, reads_n, rounds)
        _print_reads(f"Google test server, {reads_n} events", found)
    with tempfile.TemporaryDirectory() as tmp:
        base = Settings(data_dir=Path(tmp), sqlite_synchronous="NORMAL", log_level="warning")
        outlook_n = min(reads_n, 1000)
        found = await outlook_reads(base, outlook_n, rounds)
        _print_reads(f"Graph test server, {outlook_n} events", found)
    with tempfile.TemporaryDirectory() as tmp:
        base = Settings(data_dir=Path(tmp), sqlite_synchronous="NORMAL", log_level="warning")
        found = await radicale_reads(base, radicale_n, rounds, Path(tmp))
        _print_reads(f"Radicale, {radicale_n} events", found)


async def _initial(database_url: str | None, google_n: int, radicale_n: int, repeats: int) -> None:
    for label, run in (
        (f"Google test server, {google_n} events", lambda b, d: google_initial(b, google_n)),
        (f"Radicale, {radicale_n} events", lambda b, d: radicale_initial(b, radicale_n, d)),
    ):
        results = []
        for repeat in range(repeats):
            with tempfile.TemporaryDirectory() as tmp:
                base = Settings(
                    data_dir=Path(tmp),
                    database_url=database_url,
                    sqlite_synchronous="NORMAL",
                    log_level="warning",
                )
                if database_url:
                    from tests.conftest import reset_postgres

                    await reset_postgres(database_url)
                results.append(await run(base, Path(tmp) / f"r{repeat}"))
        print(
            f"initial sync, {label}: events/s {_spread([r['events_per_s'] for r in results])}; "
            f"x reference (bare listing) {statistics.median(r['ratio'] for r in results):.1f} "
            f"(min {min(r['ratio'] for r in results):.1f}, "
            f"max {max(r['ratio'] for r in results):.1f}); "
            f"peak Python allocations {max(r['peak_mib'] for r in results):.0f} MiB"
        )


async def _idle(interval: float, repeats: int, quick: bool, keep_alive: bool) -> None:
    calendars, seconds = (20, 10.0) if quick else (100, 30.0)
    costs = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            base = Settings(data_dir=Path(tmp), sqlite_synchronous="NORMAL", log_level="warning")
            costs.append(await idle(base, calendars, seconds, Path(tmp), interval, keep_alive))
    ms = [c["calgate_ms"] for c in costs]
    bare = [c["bare_ms"] for c in costs]
    median = statistics.median(ms)
    server = "Radicale under waitress (keep-alive)" if keep_alive else "Radicale (HTTP/1.0)"
    print(
        f"idle CalDAV calendars on {server}, {calendars} polled every {interval:g} s: "
        f"{statistics.median(c['polls_per_s'] for c in costs):.1f} polls/s, calgate CPU per "
        f"poll {median:.2f} ms (min {min(ms):.2f}, max {max(ms):.2f}), bare REPORT from a "
        f"plain client {statistics.median(bare):.2f} ms ({median / statistics.median(bare):.1f}x); "
        f"1,000 calendars every 60 s: {median * 60:.0f} CPU s per hour"
    )


async def _latency(interval: float, changes: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        base = Settings(data_dir=Path(tmp), sqlite_synchronous="NORMAL", log_level="warning")
        waits = await latency(base, interval, changes, Path(tmp))
    waits.sort()
    p50, p99 = statistics.median(waits), waits[min(len(waits) - 1, int(len(waits) * 0.99))]
    print(
        f"outside change -> webhook, polling every {interval:g} s, {changes} changes: "
        f"p50 {p50:.2f} s ({p50 / interval:.2f} x interval), "
        f"p99 {p99:.2f} s ({p99 / interval:.2f} x interval), max {waits[-1]:.2f} s"
    )


if __name__ == "__main__":
    # The loop `calgate serve` and `calgate worker` run on (uvloop when installed), unless
    # `--loop asyncio` asks for Python's own (to compare).
    chosen = arguments()
    factory = None if chosen.loop == "asyncio" else auto_loop_factory()
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(main(chosen))
