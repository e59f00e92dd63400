"""Issue 13, item 2, through a real `calgate serve`: recurrence work done for a client that has
hung up stops, for writes and free/busy as for lists. A create or PATCH whose series takes long
to check, and a free/busy or availability question whose window takes long to expand, are
abandoned by their client after a second: the process must then go idle, not burn a core for
nobody until the work is done (the work limit is raised so that the work would run for
minutes)."""

from __future__ import annotations

import os
import sqlite3
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


def r_(first: int, stop: int) -> str:
    return ",".join(str(n) for n in range(first, stop))


# One second a year (December 31, 23:00:00 UTC) is left of an endless SECONDLY rule, and the
# series starts on one: creating it is cheap, but deleting that first occurrence makes calgate
# look for the next one, a year of seconds away (minutes of work with the limit raised).
ONCE_A_YEAR = {
    "title": "once a year",
    "start": {"date_time": "2026-12-31T23:00:00", "time_zone": "UTC"},
    "end": {"date_time": "2026-12-31T23:00:01", "time_zone": "UTC"},
    "recurrence": [
        "RRULE:FREQ=SECONDLY",
        f"EXRULE:FREQ=SECONDLY;BYMONTH={r_(1, 12)}",
        f"EXRULE:FREQ=SECONDLY;BYMONTHDAY={r_(1, 31)}",
        f"EXRULE:FREQ=SECONDLY;BYHOUR={r_(0, 23)}",
        f"EXRULE:FREQ=SECONDLY;BYMINUTE={r_(1, 60)}",
        f"EXRULE:FREQ=SECONDLY;BYSECOND={r_(1, 60)}",
    ],
}
DAILY = {**ONCE_A_YEAR, "title": "daily", "recurrence": ["RRULE:FREQ=DAILY"]}


def test_a_delete_whose_client_hung_up_writes_nothing(tmp_path: Path) -> None:
    """DELETE of an occurrence (whose series check can take long) and of a whole event: when
    the client has gone before the write, nothing is deleted, the key is released (a retry with
    it does the work), and the process goes idle. The write waits here because another process
    holds the SQLite database's write lock (a backup, a `sqlite3` shell) while the client hangs
    up; before, the DELETE was made once the lock was released, for nobody."""
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
            made = {}
            for name, body in (("yearly", ONCE_A_YEAR), ("daily", DAILY), ("single", DAILY)):
                body = {**body, "recurrence": []} if name == "single" else body
                r = client.post(tenant.events, params=params, json=body)
                assert r.status_code == 200, r.text
                made[name] = r.json()["event_id"]

        def hang_up(event_id: str, key: str) -> None:
            impatient = httpx.Client(
                base_url=served.base_url,
                headers={**headers, "Idempotency-Key": key},
                timeout=1,
            )
            with impatient, pytest.raises(httpx.ReadTimeout):
                impatient.delete(f"{tenant.events}/{event_id}", params=params)

        # The series check: the work stops with the client, nothing is written.
        hang_up(f"{made['yearly']}_20261231T230000Z", "k-yearly")
        time.sleep(0.5)
        before = cpu_seconds(served.process.pid)
        time.sleep(3)
        burnt = cpu_seconds(served.process.pid) - before

        # The write waits for the database: the client hangs up meanwhile.
        locker = sqlite3.connect(tmp_path / "calgate.db", isolation_level=None)
        locker.execute("BEGIN IMMEDIATE")
        try:
            hang_up(made["single"], "k-single")
            hang_up(f"{made['daily']}_20270102T230000Z", "k-daily")
        finally:
            locker.execute("ROLLBACK")
            locker.close()
        time.sleep(1)

        with httpx.Client(base_url=served.base_url, headers=headers, timeout=30) as client:
            r = client.get(f"{tenant.events}/{made['yearly']}", params=params)
            assert r.json()["recurrence"] == ONCE_A_YEAR["recurrence"]  # no EXDATE added
            r = client.get(f"{tenant.events}/{made['single']}", params=params)
            assert r.status_code == 200, r.text  # not deleted
            r = client.get(f"{tenant.events}/{made['daily']}", params=params)
            assert r.json()["recurrence"] == ["RRULE:FREQ=DAILY"]  # no EXDATE added
            # The keys were released: a retry with each does the work.
            for event_id, key in (
                (made["single"], "k-single"),
                (f"{made['daily']}_20270102T230000Z", "k-daily"),
            ):
                retry = {**headers, "Idempotency-Key": key}
                r = client.delete(f"{tenant.events}/{event_id}", params=params, headers=retry)
                assert r.status_code == 200, r.text
                assert "idempotent-replayed" not in r.headers
            r = client.get(f"{tenant.events}/{made['single']}", params=params)
            assert r.status_code == 404, r.text
        log = served.text()
    assert burnt < 1.0, burnt
    assert log.count("DELETE /api/v1/calendars/{calendar_id}/events/{event_id} 499") == 3, log
