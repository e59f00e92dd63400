"""A big CalDAV answer is read in calgate's worker processes, through a real `calgate serve`
(issue 13, item 4): the events list's calendar query and the sync's change feed are read
there, not in the server's own process, and what the reading logs comes out as calgate's own
log lines (same JSON format, the request's id). A real Radicale holds the account; the proxy
in front of it answers every REPORT with a big multistatus holding one unreadable resource."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.radicale import Radicale, radicale_fixture  # noqa: F401
from tests.serve import serve
from tests.test_caldav_big_answers import big_proxy, multistatus

pytestmark = pytest.mark.system

KEY = "reading-apart-key-0123456789abcdef"
MIB = 2**20
WINDOW = {"start": "2026-03-01T00:00:00Z", "end": "2026-03-02T00:00:00Z", "limit": "5"}
BROKEN = (
    "<D:response><D:href>{path}broken.ics</D:href><D:propstat><D:prop>"
    '<D:getetag>"b"</D:getetag><C:calendar-data>BEGIN:VCALENDAR\r\nnot a calendar\r\n'
    "</C:calendar-data></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>"
)


def lines(text: str) -> list[dict[str, Any]]:
    found = []
    for line in text.splitlines():
        if line.startswith("{"):
            found.append(json.loads(line))
    return found


def test_big_answers_are_read_in_worker_processes(tmp_path: Path, radicale: Radicale) -> None:
    env = {
        "CALGATE_API_KEY": KEY,
        "CALGATE_LOG_FORMAT": "json",
        "CALGATE_ALLOW_LOOPBACK_URLS": "true",
        "CALGATE_PROVIDER_MAX_ANSWER_BYTES": str(64 * MIB),
        "CALGATE_RECURRENCE_PROCESSES": "2",
        "CALGATE_SYNC_INTERVAL_SECONDS": "3600",
    }
    with big_proxy(radicale.url) as proxy, serve(tmp_path, env) as served:
        user = radicale.add_user()
        path = radicale.make_calendar(user, "work", "Work")
        big = multistatus(MIB, path)
        proxy.answer = big.replace(
            b"</D:multistatus>", BROKEN.format(path=path).encode() + b"</D:multistatus>"
        )
        headers = {"X-API-KEY": KEY}
        with httpx.Client(base_url=served.base_url, headers=headers, timeout=60) as client:
            body = {
                "provider": "CALDAV",
                "url": proxy.url + "/",
                "username": user.name,
                "password": user.password,
            }
            r = client.post("/api/v1/accounts", json=body)
            assert r.status_code == 201, r.text
            account = r.json()["account_id"]
            r = client.get(
                "/api/v1/calendars/work/events",
                params={**WINDOW, "account_id": account},
                headers={"X-Request-ID": "big-list-1"},
            )
            assert r.status_code == 200, r.text
            found = r.json()["data"]
            assert len(found) == 5
            assert all(e["title"].startswith("event ") for e in found), found
            assert all(e["start"]["date_time"].startswith("2026-03-01T00:00") for e in found)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            logged = lines(served.text())
            skips = [x for x in logged if "broken" in x.get("msg", "")]
            if len(skips) >= 2:  # the list's reading, and the first sync's
                break
            time.sleep(0.2)
        server = served.process.pid
    assert len(skips) >= 2, [x.get("msg") for x in logged][-20:]
    # Read in worker processes, not in the server's: the lines carry another pid.
    assert all(x["pid"] != server for x in skips), (server, skips)
    assert {x["level"] for x in skips} == {"warning"}
    listed = [x for x in skips if x.get("request_id") == "big-list-1"]
    assert len(listed) == 1, skips
    assert "CalDAV listing skips" in listed[0]["msg"]
