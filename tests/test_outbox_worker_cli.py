"""`calgate worker` as its own process, beside a `calgate serve` whose in-process worker is
disabled: the API only queues, the worker delivers, SIGTERM stops it cleanly."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import BACKENDS, PG_URL, reset_postgres
from tests.receiver import running_receiver
from tests.serve import ids_from_banner, serve

pytestmark = pytest.mark.system
KEY = "cg_worker_cli_key_0123456789"


@pytest.fixture(params=BACKENDS)
def env(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    values = {
        "CALGATE_API_KEY": KEY,
        "CALGATE_ALLOW_LOOPBACK_URLS": "true",
        "CALGATE_WORKER_POLL_SECONDS": "0.1",
        "CALGATE_SQLITE_SYNCHRONOUS": "NORMAL",
    }
    if request.param == "postgresql":
        asyncio.run(reset_postgres(PG_URL))
        values["CALGATE_DATABASE_URL"] = PG_URL
    yield values


def test_separate_worker_process_delivers(tmp_path: Path, env: dict[str, str]) -> None:
    headers = {"X-API-KEY": KEY}
    with (
        running_receiver() as receiver,
        serve(tmp_path, {**env, "CALGATE_WORKER_ENABLED": "false"}) as api,
    ):
        account_id, calendar_id = ids_from_banner(api.text())
        r = httpx.post(
            f"{api.base_url}/api/v1/webhooks",
            json={"source": "calendar_event", "request_url": receiver.url},
            headers=headers,
        )
        assert r.status_code == 201, r.text
        for i in range(5):
            r = httpx.post(
                f"{api.base_url}/api/v1/calendars/{calendar_id}/events",
                params={"account_id": account_id},
                json={
                    "title": f"event {i}",
                    "start": {"date": "2026-04-01"},
                    "end": {"date": "2026-04-02"},
                },
                headers=headers,
            )
            assert r.status_code == 200, r.text
        time.sleep(0.5)
        assert receiver.received() == []  # the API process only queues

        log_path = tmp_path / "worker.log"
        with log_path.open("w") as log:
            worker = subprocess.Popen(
                [sys.executable, "-m", "calgate", "worker", "--concurrency", "2"],
                env={**os.environ, "CALGATE_DATA_DIR": str(tmp_path), **env},
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
            )
            try:
                deadline = time.monotonic() + 30
                while len(receiver.accepted()) < 5 and time.monotonic() < deadline:
                    assert worker.poll() is None, log_path.read_text()
                    time.sleep(0.05)
                assert len(receiver.accepted()) == 5, log_path.read_text()
            finally:
                worker.send_signal(signal.SIGTERM)
                code = worker.wait(timeout=30)
        text = log_path.read_text()
        assert code == 0, text
        assert "calgate worker delivering webhook" in text
        # The loop `calgate serve` runs on: uvloop, installed with calgate.
        assert "calgate worker: event loop uvloop " in text
        assert "calgate worker stopped" in text
        titles = sorted(r.json()["title"] for r in receiver.accepted())
        assert titles == [f"event {i}" for i in range(5)]


def test_worker_rejects_a_bad_concurrency(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "calgate",
            "--data-dir",
            str(tmp_path),
            "worker",
            "--concurrency",
            "0",
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert "--concurrency" in done.stderr and "must be at least 1" in done.stderr
