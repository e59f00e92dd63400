"""SIGKILL of the process syncing, in the middle of a sync run, then a new process: no change
lost, none reported twice (the cursor commits with the changes it covers; the dead process's
lease runs out and the new one takes the calendar over)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.radicale import Radicale, proxy_to, radicale_fixture
from tests.receiver import Receiver
from tests.serve import serve
from tests.synckit import receiver_fixture
from tests.test_sync_caldav import Dav, ics

pytestmark = pytest.mark.system
__all__ = ["radicale_fixture", "receiver_fixture"]
KEY = "cg_sync_kill"
HEADERS = {"X-API-KEY": KEY}
ENV = {
    "CALGATE_API_KEY": KEY,
    "CALGATE_ALLOW_LOOPBACK_URLS": "true",
    "CALGATE_WORKER_POLL_SECONDS": "0.1",
    "CALGATE_SYNC_INTERVAL_SECONDS": "0.3",
    "CALGATE_SYNC_LEASE_SECONDS": "2",
}


@contextmanager
def _worker(data: Path, name: str) -> Iterator[subprocess.Popen[str]]:
    """A `calgate worker` process (outbox and sync), stopped (or killed) after."""
    with (data / f"{name}.log").open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "calgate", "worker"],
            env={**os.environ, "CALGATE_DATA_DIR": str(data), **ENV},
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(10)


def _until(check: object, within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_sigkill_mid_sync_loses_and_repeats_nothing(
    radicale: Radicale, receiver: Receiver, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    quiet = {**ENV, "CALGATE_SYNC_ENABLED": "false", "CALGATE_WORKER_ENABLED": "false"}
    user = radicale.add_user("kill")
    path = radicale.make_calendar(user, "work", "Work")
    dav = Dav(radicale, user, path)
    with proxy_to(radicale) as (proxy, proxy_url), serve(data, quiet) as served:
        base = served.base_url
        body = {"provider": "CALDAV", "url": proxy_url, "username": user.name}
        r = httpx.post(
            f"{base}/api/v1/accounts", headers=HEADERS, json={**body, "password": user.password}
        )
        assert r.status_code == 201, r.text
        account_id = r.json()["account_id"]
        hook = {"source": "calendar_event", "request_url": receiver.url}
        assert httpx.post(f"{base}/api/v1/webhooks", headers=HEADERS, json=hook).status_code == 201

        def synced() -> bool:
            r = httpx.get(f"{base}/api/v1/accounts/{account_id}", headers=HEADERS)
            states = r.json()["sync"]["calendars"]
            return bool(states) and all(s["status"] == "ok" for s in states)

        with _worker(data, "first") as first:
            _until(synced)
            dav.put("e1", ics("e1@other", "One"))
            _until(lambda: len(receiver.accepted()) == 1)
            # The next sync run hangs in its REPORT: the process dies in the middle of it.
            reports = proxy.count("REPORT")
            proxy.faults.add("/", method="REPORT", delay=30, times=1)
            dav.put("e2", ics("e2@other", "Two"))
            dav.put("e3", ics("e3@other", "Three"))
            _until(lambda: proxy.count("REPORT") > reports)
            time.sleep(0.2)
            first.send_signal(signal.SIGKILL)
            first.wait(10)
        proxy.faults.release()  # the dead process's request ends at the server, unanswered
        with _worker(data, "second"):
            _until(lambda: len(receiver.accepted()) >= 3)
            dav.delete("e1")
            _until(lambda: len(receiver.accepted()) >= 4)
            time.sleep(2.0)  # several more polls: nothing else may arrive
    got = sorted((d.json()["event"], d.json()["id"]) for d in receiver.accepted())
    assert got == [
        ("calendar_event_created", "e1"),
        ("calendar_event_created", "e2"),
        ("calendar_event_created", "e3"),
        ("calendar_event_deleted", "e1"),
    ]
