"""Issue 13, item 2, through a real `calgate serve`: recurrence work done for a client that has
hung up stops, for writes and free/busy as for lists. A create or PATCH whose series takes long
to check, and a free/busy or availability question whose window takes long to expand, are
abandoned by their client after a second: the process must then go idle, not burn a core for
nobody until the work is done (the work limit is raised so that the work would run for
minutes)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.hostile import first_tenant, series
from tests.serve import serve

pytestmark = pytest.mark.system

KEY = "cg_client_gone_tenant_key"
SECONDS = ",".join(str(n) for n in range(1, 60))
# Every second excluded until 2030: no occurrence, which only a scan of every second shows.
NEVER = ["RRULE:FREQ=SECONDLY;UNTIL=20300101T000000Z", "EXRULE:FREQ=SECONDLY"]
# One second a minute left, endless: each occurrence costs about 120 candidates.
SPARSE = ["RRULE:FREQ=SECONDLY", f"EXRULE:FREQ=SECONDLY;BYSECOND={SECONDS}"]
MONTH = {"start": "2026-06-01T00:00:00Z", "end": "2026-07-01T00:00:00Z"}


def cpu_seconds(pid: int) -> float:
    """User and system CPU time the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_work_for_a_client_that_hung_up_stops(tmp_path: Path) -> None:
    env = {
        "CALGATE_API_KEY": KEY,
        "CALGATE_RECURRENCE_WORK_LIMIT": "2000000000",
        "CALGATE_RATE_LIMIT_PER_SECOND": "0",
    }
    with serve(tmp_path, env) as served:
        tenant = first_tenant(served.base_url, KEY)
        params = {"account_id": tenant.account_id}
        headers = {"X-API-KEY": KEY}
        with httpx.Client(base_url=served.base_url, headers=headers, timeout=30) as client:
            r = client.post(tenant.events, params=params, json={**series(""), "recurrence": SPARSE})
            assert r.status_code == 200, r.text
            plain = {**series(""), "recurrence": []}
            r = client.post(tenant.events, params=params, json=plain)
            assert r.status_code == 200, r.text
            single = r.json()["event_id"]
        calendars = [{"account_id": tenant.account_id, "calendar_ids": [tenant.calendar_id]}]
        abandoned: dict[str, tuple[str, str, dict[str, Any]]] = {
            "create": (
                "POST",
                tenant.events,
                {"params": params, "json": {**series(""), "recurrence": NEVER}},
            ),
            "patch": (
                "PATCH",
                f"{tenant.events}/{single}",
                {"params": params, "json": {"recurrence": NEVER}},
            ),
            "free_busy": (
                "POST",
                "/api/v1/calendars/free_busy",
                {"json": {**MONTH, "calendars": calendars}},
            ),
            "availability": (
                "POST",
                "/api/v1/calendars/availability",
                {
                    "json": {
                        **MONTH,
                        "duration_minutes": 30,
                        "participants": [calendars[0]],
                    }
                },
            ),
        }
        burnt: dict[str, float] = {}
        for name, (method, path, kwargs) in abandoned.items():
            impatient = httpx.Client(base_url=served.base_url, headers=headers, timeout=1)
            with impatient, pytest.raises(httpx.ReadTimeout):
                impatient.request(method, path, **kwargs)  # hangs up after a second
            time.sleep(0.5)
            before = cpu_seconds(served.process.pid)
            time.sleep(3)
            burnt[name] = cpu_seconds(served.process.pid) - before
            time.sleep(1)  # let any remaining work of this one drain before the next
        with httpx.Client(base_url=served.base_url, headers=headers, timeout=30) as client:
            r = client.get(f"{tenant.events}/{single}", params=params)
            assert r.status_code == 200, r.text
            assert r.json()["recurrence"] in (None, [])  # the abandoned PATCH was not made
            r = client.get(tenant.events, params=params)
            assert len(r.json()["data"]) == 2  # nor the abandoned create
        log = served.text()
    # Idle: well under one core for the three seconds (today: a core each, working on).
    assert all(seconds < 1.0 for seconds in burnt.values()), burnt
    assert "499" in log
