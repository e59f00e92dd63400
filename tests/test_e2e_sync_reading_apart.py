"""A big page of Google's ``events.list`` and a big Graph delta round are read into calgate's
model in its worker processes, through a real `calgate serve` (issue 13, item 4): not on the
server's event loop (a page of 2,500 Google events took 50 to 100 ms there), and what the reading
logs comes out as calgate's own JSON log lines. The test servers run on loopback ports and hold
150 events and one that calgate cannot read."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakes import google_sync, graph_delta
from tests.oauth_env import Fakes
from tests.pushkit import HEADERS, connect_oauth, env_of, wait_until
from tests.serve import free_port, serve

pytestmark = pytest.mark.system

EVENTS = 150
SKIPS = {"GOOGLE_OAUTH": "Google sync skips event", "OUTLOOK": "Outlook sync skips event"}


def fill_google(fakes: Fakes) -> str:
    state, calendar = fakes.google, fakes.google.email
    for i in range(EVENTS):
        google_sync.user_creates(
            state,
            calendar,
            {
                "summary": f"Event {i}",
                "description": "agenda " * 40,
                "start": {"dateTime": "2026-12-20T09:00:00Z"},
                "end": {"dateTime": "2026-12-20T10:00:00Z"},
            },
        )
    body = {
        "start": {"dateTime": "2026-12-20T09:00:00Z"},
        "end": {"dateTime": "2026-12-20T10:00:00Z"},
    }
    broken = google_sync.user_creates(state, calendar, {"summary": "Broken", **body})
    state.events[calendar][broken["id"]]["created"] = "not a time"
    return str(broken["id"])


def fill_graph(fakes: Fakes) -> str:
    state = fakes.graph
    day = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=3)
    body = {
        "start": {"dateTime": f"{day}T09:00:00", "timeZone": "UTC"},
        "end": {"dateTime": f"{day}T10:00:00", "timeZone": "UTC"},
    }
    for i in range(EVENTS):
        graph_delta.user_creates(state, state.default_calendar, {"subject": f"Event {i}", **body})
    broken = graph_delta.user_creates(state, state.default_calendar, {"subject": "Broken", **body})
    state.events[broken["id"]]["createdDateTime"] = "not a time"
    state.events[broken["id"]]["lastModifiedDateTime"] = "not a time"
    return str(broken["id"])


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


@pytest.mark.parametrize("provider", ["GOOGLE_OAUTH", "OUTLOOK"])
def test_a_big_sync_page_is_read_in_a_worker_process(tmp_path: Path, provider: str) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'calgate.db'}"
    with Fakes().served() as fakes:
        broken = fill_google(fakes) if provider == "GOOGLE_OAUTH" else fill_graph(fakes)
        port = free_port()
        env = env_of(
            fakes,
            port,
            database_url,
            CALGATE_LOG_FORMAT="json",
            CALGATE_RECURRENCE_PROCESSES="2",
        )
        with serve(tmp_path, env, port) as served:
            account = connect_oauth(served.base_url, fakes, provider)

            def skipped() -> list[dict[str, Any]]:
                return [
                    x
                    for x in json_lines(served.text())
                    if SKIPS[provider] in x.get("msg", "") and broken in x.get("msg", "")
                ]

            skips = wait_until(skipped, within=60, what="the unreadable event's warning")

            def synced() -> bool:
                r = httpx.get(f"{served.base_url}/api/v1/accounts/{account}", headers=HEADERS)
                states = r.json()["sync"]["calendars"]
                return bool(states) and all(s["status"] == "ok" for s in states)

            wait_until(synced, within=60, what="the first sync")
            server = served.process.pid
    # Read in a worker process, not in the server's: the line carries another pid.
    assert all(x["pid"] != server for x in skips), (server, skips)
    assert {x["level"] for x in skips} == {"warning"}
