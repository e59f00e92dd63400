"""`calgate serve --workers 2`: any worker answers /metrics for both, and both log JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.serve import free_port, ids_from_banner

pytestmark = pytest.mark.system

KEY = "cg_two-workers-metrics-key-0123456789"


def requests_counted(text: str, route: str) -> float:
    total = 0.0
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == "calgate_http_requests_total" and s.labels.get("route") == route:
                total += s.value
    return total


def test_two_workers_share_metrics_and_log_json(tmp_path: Path) -> None:
    port = free_port()
    log_path = tmp_path / "serve.log"
    env = {
        **os.environ,
        "CALGATE_DATA_DIR": str(tmp_path),
        "CALGATE_API_KEY": KEY,
        "CALGATE_LOG_FORMAT": "json",
        "CALGATE_WORKER_ENABLED": "false",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    cmd = [sys.executable, "-m", "calgate", "serve", "--port", str(port), "--workers", "2"]
    with log_path.open("w") as log:
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, log_path.read_text()
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.1)
        account_id, _ = ids_from_banner(log_path.read_text())
        sent = 0
        for _ in range(10):
            for _ in range(20):
                # A new connection each time, so that both workers take some.
                r = httpx.get(
                    f"{base}/api/v1/calendars",
                    params={"account_id": account_id},
                    headers={"X-API-KEY": KEY},
                )
                assert r.status_code == 200
                sent += 1
            if len(pids(log_path, "/api/v1/calendars")) == 2:
                break
        assert len(pids(log_path, "/api/v1/calendars")) == 2
        # Each scrape, whichever worker answers it, counts the requests of both.
        scrapes = [httpx.get(f"{base}/metrics").text for _ in range(6)]
        assert [requests_counted(t, "/api/v1/calendars") for t in scrapes] == [float(sent)] * 6
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert sum(pids(log_path, "/api/v1/calendars").values()) == sent
    assert (tmp_path / "metrics").is_dir()


def pids(log_path: Path, route: str) -> dict[int, int]:
    """How many requests to ``route`` each worker process logged (JSON access lines)."""
    found: dict[int, int] = {}
    for line in log_path.read_text().splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            if record["logger"] == "calgate.access" and record["route"] == route:
                found[record["pid"]] = found.get(record["pid"], 0) + 1
    return found
