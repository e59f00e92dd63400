"""Issue 13: recurrence work in worker processes (``recurrence_processes``). A job runs in a
worker at the lowest CPU priority, under the caller's work limit; it stops in its worker when
nobody waits for it any more; a worker that dies costs the jobs under way a 503 and nothing more
(the next job gets new workers, which still give way); and an
expanded list is the same, cursors included, whether its series are expanded there or in
calgate's threads."""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.types import Message

from calgate import offload
from calgate.api.wire import event_to_wire
from calgate.domain.model import EventQuery
from calgate.domain.recurrence import WorkLimitExceeded, limits
from calgate.domain.recurrence.budget import Cancelled
from calgate.errors import ServiceUnavailable
from calgate.processes import Processes
from tests import recurrence_jobs as jobs
from tests.conftest import Api, offload_as
from tests.serve import ids_from_banner, serve
from tests.test_invitations import BODY, organizer_calendar

pytestmark = pytest.mark.anyio


@pytest.fixture
def processes() -> Iterator[None]:
    """Two worker processes for the test; the settings' defaults after it."""
    with offload_as(2, 2):
        yield


async def test_a_job_runs_in_a_worker_at_the_lowest_priority(processes: None) -> None:
    """``idle``, the default: Linux's SCHED_IDLE, which a task at the normal priority waking
    up preempts at once (nice 19 let a worker finish its slice first, and the well-behaved
    tenant's p99 beside a hostile recurrence load showed it)."""
    pid, nice, policy = await offload.run_apart(jobs.where, (), "tenant")
    assert pid != os.getpid()
    assert policy == os.SCHED_IDLE
    assert nice == 19  # where SCHED_IDLE is refused, nice 19 still holds


async def test_the_workers_start_with_what_an_expanded_page_needs(processes: None) -> None:
    """An expanded list's page is made and encoded in a worker: its modules are imported once
    where the workers are forked, not by each worker at its first page (at the lowest
    priority, on a busy machine, the first expanded lists waited seconds for it)."""
    wanted = ["calgate.providers.local", "calgate.api.wire", "calgate.api.v2.wire"]
    assert await offload.run_apart(jobs.not_loaded, (wanted,), "tenant") == []


async def test_the_nice_priority_keeps_the_normal_policy_at_nice_19() -> None:
    with offload_as(2, 2, "nice"):
        pid, nice, policy = await offload.run_apart(jobs.where, (), "tenant")
    assert pid != os.getpid()
    assert (nice, policy) == (19, os.SCHED_OTHER)


async def test_the_callers_work_limit_holds_in_the_worker(processes: None) -> None:
    before = limits.WORK_LIMIT
    limits.configure(1000)
    try:
        assert await offload.run_apart(jobs.spend, (900,), "tenant") == 900
        with pytest.raises(WorkLimitExceeded) as refused:
            await offload.run_apart(jobs.spend, (1001,), "tenant")
    finally:
        limits.configure(before)
    assert refused.value.status == 400
    assert "more than 1000 steps" in refused.value.detail
    assert "recurrence_work_limit" in refused.value.detail


def test_workers_give_way_while_calgate_has_requests_in_flight() -> None:
    """A job steps aside as a thread's would, on calgate's own in-flight state."""
    workers = Processes(1)
    try:
        assert workers.submit(jobs.gives_way, (), 1000).future.result(timeout=30) is True
        workers.quiet(False)
        assert workers.submit(jobs.quiet, (), 1000).future.result(timeout=30) is False
        workers.quiet(True)
        assert workers.submit(jobs.quiet, (), 1000).future.result(timeout=30) is True
    finally:
        workers.shutdown()


async def test_a_request_in_flight_reaches_the_workers(
    processes: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(offload, "SETTLE_SECONDS", 30.0)  # in flight for the whole test
    client = offload.Client(_no_receive)
    with offload.in_flight(client):
        assert await offload.run_apart(jobs.quiet, (), "tenant") is False
    assert await offload.run_apart(jobs.quiet, (), "tenant") is True


async def _no_receive() -> Message:
    raise AssertionError("not read")


def test_a_cancelled_job_stops_in_its_worker() -> None:
    workers = Processes(1)
    try:
        job = workers.submit(jobs.spend_for_ever, (), 10**15)
        with pytest.raises(TimeoutError):
            job.future.result(timeout=1.0)  # it runs: no limit near
        workers.cancel(job)
        assert isinstance(job.future.exception(timeout=2.0), Cancelled)
        again = workers.submit(jobs.spend, (10,), 1000)  # the one worker is free again
        assert again.future.result(timeout=5.0) == 10
    finally:
        workers.shutdown()


async def test_a_run_cancelled_by_its_caller_frees_its_worker(processes: None) -> None:
    offload.configure(2, 1)  # one worker: the next job runs only once this one stopped
    before = limits.WORK_LIMIT
    limits.configure(10**15)
    try:
        waiting = asyncio.create_task(offload.run_apart(jobs.spend_for_ever, (), "tenant"))
        await asyncio.sleep(1.0)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        begun = time.monotonic()
        assert await offload.run_apart(jobs.spend, (10,), "tenant") == 10
        assert time.monotonic() - begun < 2.0
    finally:
        limits.configure(before)


async def test_a_worker_that_dies_costs_the_jobs_under_way_a_503(processes: None) -> None:
    with pytest.raises(ServiceUnavailable) as refused:
        await offload.run_apart(jobs.die, (), "tenant")
    assert refused.value.status == 503
    assert refused.value.detail.startswith("the worker process doing this request's work died")
    assert await offload.run_apart(jobs.spend, (10,), "tenant") == 10


def test_a_late_word_of_a_broken_pool_leaves_the_new_one_be() -> None:
    workers = Processes(1)
    try:
        dead = workers.submit(jobs.die, (), 1000)
        with pytest.raises(BrokenProcessPool):
            dead.future.result(timeout=30)
        workers.broken(dead.pool)
        alive = workers.submit(jobs.spend, (10,), 1000)
        assert alive.pool is not dead.pool
        workers.broken(dead.pool)  # said again, late (another job of the broken pool)
        later = workers.submit(jobs.spend, (10,), 1000)
        assert later.pool is alive.pool
        assert alive.future.result(timeout=30) == later.future.result(timeout=30) == 10
    finally:
        workers.shutdown()


async def test_a_new_pool_knows_requests_are_in_flight(
    processes: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pool started again after a worker died still has its jobs give way."""
    monkeypatch.setattr(offload, "SETTLE_SECONDS", 30.0)
    with offload.in_flight(offload.Client(_no_receive)):
        with pytest.raises(ServiceUnavailable):
            await offload.run_apart(jobs.die, (), "tenant")
        assert await offload.run_apart(jobs.quiet, (), "tenant") is False


async def test_budgets_made_in_the_worker_have_the_callers_limit(processes: None) -> None:
    before = limits.WORK_LIMIT
    limits.configure(5000)
    try:
        assert await offload.run_apart(jobs.inner_limit, (), "tenant") == 5000
    finally:
        limits.configure(before)


def test_an_error_comes_back_from_a_worker_as_it_was_raised() -> None:
    refused = WorkLimitExceeded("recurrence: too much", headers={"Retry-After": "1"})
    again = pickle.loads(pickle.dumps(refused))
    assert type(again) is WorkLimitExceeded
    assert (again.detail, again.status, again.headers) == (
        "recurrence: too much",
        400,
        {"Retry-After": "1"},
    )
    assert str(again) == str(refused)


def test_only_a_server_starts_the_workers_before_a_job(tmp_path: Path) -> None:
    """``calgate keys list`` and the other commands build a runtime too: they must not start a
    forkserver and workers they never use (half a second each, and processes left idle)."""
    script = (
        "import asyncio, glob, sys\n"
        "from pathlib import Path\n"
        "from calgate.runtime import Runtime\n"
        "from calgate.settings import Settings\n"
        "async def main():\n"
        "    rt = Runtime.build(Settings(data_dir=Path(sys.argv[1])))\n"
        "    await rt.start()\n"
        "    await rt.aclose()\n"
        "asyncio.run(main())\n"
        "kids = ''.join(open(f).read() for f in glob.glob('/proc/self/task/*/children'))\n"
        "print(repr(kids.split()))\n"
    )
    child = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).parent.parent,
    )
    assert child.returncode == 0, child.stderr
    assert child.stdout.strip() == "[]"


async def test_an_expanded_list_is_the_same_from_the_workers(api: Api) -> None:
    await api.create(
        {
            "title": "stand-up",
            "start": {"date_time": "2026-03-02T09:00:00", "time_zone": "Europe/Paris"},
            "end": {"date_time": "2026-03-02T09:15:00", "time_zone": "Europe/Paris"},
            "recurrence": ["RRULE:FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR"],
        }
    )
    await api.create(
        {
            "title": "review",
            "start": {"date_time": "2026-03-03T14:00:00Z"},
            "end": {"date_time": "2026-03-03T15:00:00Z"},
        }
    )
    params = {
        "expand_recurring": "true",
        "start": "2026-03-01T00:00:00Z",
        "end": "2026-05-01T00:00:00Z",
        "limit": "7",
    }
    with offload_as(2, 0):
        threads = await _all_pages(api, {"url": api.events_url()}, params)
        offload.configure(2, 2)
        workers = await _all_pages(api, {"url": api.events_url()}, params)
    assert len(threads) == 7  # 44 weekday occurrences and one single event, 7 a page
    assert sum(len(page["data"]) for page in threads) == 45
    assert [[e["id"] for e in p["data"]] for p in workers] == [
        [e["id"] for e in p["data"]] for p in threads
    ]
    assert workers == threads  # cursors signed alike: made by the caller, not the worker


async def test_an_expanded_page_is_made_and_encoded_in_the_workers(api: Api) -> None:
    """With worker processes the page's events are made and encoded there (the service hands
    the route the encoded page, no events); the answers are those made in calgate's threads,
    v1 and v2, cursors, offsets, organizer and notification states included (the series'
    state on its generated occurrences, an occurrence changed since with its own)."""
    cal = await organizer_calendar(api)
    series = await cal.create(
        {
            **INVITATION,
            "start": {"date_time": "2026-03-02T09:00:00", "time_zone": "Europe/Paris"},
            "end": {"date_time": "2026-03-02T09:30:00", "time_zone": "Europe/Paris"},
            "recurrence": ["RRULE:FREQ=DAILY;COUNT=40"],
        }
    )
    await cal.create({"title": "alone", **_times("2026-03-04T12:00:00Z", "2026-03-04T13:00:00Z")})
    r = await api.call(
        "GET",
        cal.url,
        account_id=cal.account_id,
        params={**WINDOW, "limit": "3"},
    )
    third = r.json()["data"][2]["id"]
    await cal.patch(third, {"title": "moved", "notify": False})
    v1 = {"url": cal.url, "account_id": cal.account_id}
    v2 = {"url": f"/v2/{cal.account_id}/calendars/{cal.calendar_id}/events"}

    async def answers() -> list[Any]:
        got = []
        for where in (v1, v2):
            for params in ({"limit": "9"}, {"limit": "9", "offset": "7"}, {"limit": "250"}):
                got.append(await _all_pages(api, where, {**WINDOW, **params}))
        return got

    with offload_as(2, 0):
        threads = await answers()
        offload.configure(2, 2)
        workers = await answers()
        query = EventQuery(expand_recurring=True, limit=5)
        page = await api.runtime.events.list(
            api.a.id, cal.account_id, cal.calendar_id, query, event_to_wire
        )
        assert page.items == [] and page.encoded is not None and len(page.encoded) == 5
    assert workers == threads
    listed = [e for p in threads[2] for e in p["data"]]
    assert len(listed) == 41  # 40 occurrences and the single event
    states = {e["id"]: (e["title"], e["notifications"]) for e in listed}
    assert states[series + "_20260302T080000Z"] == ("Team sync", "failed")
    assert states[third][0] == "moved"
    assert {e["organizer"]["email"] for e in listed} == {"olga@example.org"}


WINDOW = {
    "expand_recurring": "true",
    "start": "2026-03-01T00:00:00Z",
    "end": "2026-05-01T00:00:00Z",
}
INVITATION = {k: v for k, v in BODY.items() if k not in ("start", "end")}


def _times(start: str, end: str) -> dict[str, Any]:
    return {"start": {"date_time": start}, "end": {"date_time": end}}


async def _all_pages(api: Api, where: dict[str, str], params: dict[str, str]) -> list[Any]:
    pages: list[Any] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        if cursor:
            query.pop("offset", None)
        r = await api.call("GET", where["url"], account_id=where.get("account_id"), params=query)
        assert r.status_code == 200, r.text
        pages.append(r.json())
        cursor = r.json()["next_cursor"]
        if cursor is None:
            return pages


CHILD = """
import os, sys
from calgate.processes import Processes
from tests import recurrence_jobs as jobs
workers = Processes(2)
job = workers.submit(jobs.where, (), 1000)
print(job.future.result(timeout=60)[0], flush=True)
os.kill(os.getpid(), int(sys.argv[1]))
"""


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
def test_workers_end_with_the_process_that_started_them(
    how: signal.Signals, tmp_path: Path
) -> None:
    """uvicorn raises SIGTERM again after its graceful shutdown: no exit handler runs then,
    any more than after a SIGKILL; the workers must see on their own that calgate is gone."""
    out = tmp_path / "out"
    with out.open("w") as stdout:  # a file: a worker left behind would hold a pipe open
        child = subprocess.run(
            [sys.executable, "-c", CHILD, str(int(how))],
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            cwd=Path(__file__).parent.parent,
        )
    assert child.returncode == -how, child.stderr
    worker = int(out.read_text().split()[0])
    deadline = time.monotonic() + 5.0
    while _running(worker) and time.monotonic() < deadline:
        time.sleep(0.05)
    stopped = not _running(worker)
    if not stopped:
        os.kill(worker, signal.SIGKILL)
    assert stopped


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            found += [int(p) for p in (task / "children").read_text().split()]
    return found


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads /proc")
def test_calgate_serve_starts_its_workers_and_stops_them_cleanly(tmp_path: Path) -> None:
    """`calgate serve` starts the workers with itself; at SIGTERM they stop with its lifespan
    (uvicorn then raises SIGTERM again, which no exit handler outlives): nothing is left
    behind, and no leaked semaphore is reported."""
    with serve(tmp_path, {"CALGATE_API_KEY": "k" * 32}) as served:
        server = served.process.pid
        forkservers = [p for p in _children(server) if b"forkserver" in _cmdline(p)]
        assert len(forkservers) == 1  # the process that forks the workers
        workers = _children(forkservers[0])
        assert len(workers) == 2  # recurrence_processes, started before any request
        account_id, calendar_id = ids_from_banner(served.text())
        headers = {"X-API-KEY": "k" * 32}
        with httpx.Client(base_url=served.base_url, headers=headers, timeout=30) as http:
            events = f"/api/v1/calendars/{calendar_id}/events"
            body = {
                "title": "daily",
                "start": {"date_time": "2026-03-02T09:00:00Z"},
                "end": {"date_time": "2026-03-02T09:30:00Z"},
                "recurrence": ["RRULE:FREQ=DAILY"],
            }
            assert http.post(events, params={"account_id": account_id}, json=body).is_success
            listed = http.get(events, params={"account_id": account_id, "expand_recurring": "true"})
            assert listed.status_code == 200
            assert len(listed.json()["data"]) == 100
    assert served.process.returncode is not None
    deadline = time.monotonic() + 5.0
    while any(map(_running, [*forkservers, *workers])) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(map(_running, [*forkservers, *workers]))
    assert "leaked" not in served.text()
