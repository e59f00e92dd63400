"""Provider sync in real processes: `calgate serve` syncs a CalDAV account by itself once it is
connected (an event PUT on Radicale reaches the webhook receiver once); `calgate worker` does
the same beside a server that runs no sync; `calgate sync now` and `calgate sync status`."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.radicale import Radicale, radicale_fixture
from tests.receiver import Receiver
from tests.serve import serve
from tests.synckit import receiver_fixture
from tests.test_sync_caldav import Dav, ics

pytestmark = pytest.mark.system
__all__ = ["radicale_fixture", "receiver_fixture"]
KEY = "cg_sync_key"
ENV = {
    "CALGATE_API_KEY": KEY,
    "CALGATE_ALLOW_LOOPBACK_URLS": "true",
    "CALGATE_WORKER_POLL_SECONDS": "0.1",
    "CALGATE_SYNC_INTERVAL_SECONDS": "0.5",
}
HEADERS = {"X-API-KEY": KEY}


def _connect(base: str, radicale: Radicale, receiver: Receiver) -> tuple[str, Dav]:
    user = radicale.add_user("proc")
    path = radicale.make_calendar(user, "work", "Work")
    dav = Dav(radicale, user, path)
    dav.put("old", ics("old@other", "Already there"))
    r = httpx.post(
        f"{base}/api/v1/accounts",
        headers=HEADERS,
        json={
            "provider": "CALDAV",
            "url": radicale.url,
            "username": user.name,
            "password": user.password,
        },
        timeout=30,
    )
    assert r.status_code == 201, r.text
    hook = {"source": "calendar_event", "request_url": receiver.url, "name": "sync"}
    assert httpx.post(f"{base}/api/v1/webhooks", headers=HEADERS, json=hook).status_code == 201
    return r.json()["account_id"], dav


def _wait_synced(base: str, account_id: str) -> dict[str, object]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        r = httpx.get(f"{base}/api/v1/accounts/{account_id}", headers=HEADERS)
        states = r.json()["sync"]["calendars"]
        if states and all(s["status"] == "ok" for s in states):
            state: dict[str, object] = states[0]
            return state
        time.sleep(0.1)
    raise AssertionError(f"not synced: {r.text}")


def _wait(receiver: Receiver, count: int) -> list[dict[str, object]]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and len(receiver.accepted()) < count:
        time.sleep(0.05)
    time.sleep(1.5)  # three more polls: nothing else may arrive
    return [r.json() for r in receiver.accepted()]


def test_serve_syncs_a_connected_account(
    radicale: Radicale, receiver: Receiver, tmp_path: Path
) -> None:
    with serve(tmp_path / "a", ENV) as served:
        account_id, dav = _connect(served.base_url, radicale, receiver)
        _wait_synced(served.base_url, account_id)
        dav.put("new", ics("new@other", "Made on the server"))
        [delivery] = _wait(receiver, 1)
        assert (delivery["event"], delivery["id"], delivery["title"]) == (
            "calendar_event_created",
            "new",
            "Made on the server",
        )
        metrics = httpx.get(f"{served.base_url}/metrics").text
        assert 'calgate_sync_changes_total{provider="CALDAV"} 1.0' in metrics
        assert "calgate_sync_lag_seconds" in metrics


@contextmanager
def _worker(data: Path, env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    log = (data / "worker.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "calgate", "worker"],
        env={**os.environ, "CALGATE_DATA_DIR": str(data), **env},
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


def _cli(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "calgate", "--data-dir", str(data), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **ENV},
        timeout=120,
    )


def test_worker_syncs_and_the_cli_shows_it(
    radicale: Radicale, receiver: Receiver, tmp_path: Path
) -> None:
    data = tmp_path / "one"
    quiet = {**ENV, "CALGATE_SYNC_ENABLED": "false", "CALGATE_WORKER_ENABLED": "false"}
    with serve(data, quiet) as served:
        account_id, dav = _connect(served.base_url, radicale, receiver)
        time.sleep(1.5)
        state = httpx.get(f"{served.base_url}/api/v1/accounts/{account_id}", headers=HEADERS)
        assert state.json()["sync"]["calendars"] == []  # no process syncs yet

        now = _cli(data, "sync", "now", account_id)  # the baseline, in the CLI's process
        assert now.returncode == 0, now.stderr
        assert "work" in now.stdout and "ok" in now.stdout
        dav.put("by-cli", ics("by-cli@other", "Seen by sync now"))
        now = _cli(data, "sync", "now", account_id)
        line = next(r for r in now.stdout.splitlines() if r.startswith("work"))
        assert line.split()[1:3] == ["ok", "1"], now.stdout

        with _worker(data, ENV):
            [first] = _wait(receiver, 1)
            assert (first["event"], first["id"]) == ("calendar_event_created", "by-cli")
            dav.delete("by-cli")
            second = _wait(receiver, 2)[1]
            assert (second["event"], second["id"]) == ("calendar_event_deleted", "by-cli")
        assert len(receiver.accepted()) == 2

    status = _cli(data, "sync", "status")
    assert status.returncode == 0, status.stderr
    row = next(r for r in status.stdout.splitlines() if r.startswith(account_id))
    assert row.split()[1:4] == ["work", "ok", "sync-collection"], status.stdout
    unknown = _cli(data, "sync", "now", "nope")
    assert unknown.returncode == 1
    assert "no synced account" in unknown.stderr
