"""``event_type`` as providers report it (issue 11, item 2): Google's ``eventType`` and
Outlook's away events (``showAs: oof``) are filtered as asked; a list asked for types the
provider never reports is empty. (Before, ``event_type=outOfOffice`` returned everything.)"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api
from tests.oauth_env import (  # noqa: F401 - fixtures
    Fakes,
    connect,
    fakes_fixture,
    oauth_runtime,
    oauth_settings,
)

pytestmark = pytest.mark.anyio

WINDOW = {"start": "2026-02-01T00:00:00Z", "end": "2026-02-10T00:00:00Z"}


def body(title: str, day: int) -> dict[str, Any]:
    return {
        "title": title,
        "start": {"date_time": f"2026-02-0{day}T09:00:00", "time_zone": "UTC"},
        "end": {"date_time": f"2026-02-0{day}T10:00:00", "time_zone": "UTC"},
    }


async def make(api: Api, url: str, account: str, title: str, day: int) -> str:
    r = await api.call("POST", url, account_id=account, json=body(title, day))
    assert r.status_code == 200, r.text
    event_id: str = r.json()["event_id"]
    return event_id


async def titles(api: Api, url: str, account: str, types: str) -> list[tuple[str, str]]:
    params = {**WINDOW, "event_type": types}
    r = await api.call("GET", url, account_id=account, params=params)
    assert r.status_code == 200, r.text
    return [(e["title"], e["event_type"]) for e in r.json()["data"]]


async def test_google_event_types(api: Api, fakes: Fakes) -> None:
    account = await connect(api, fakes, "GOOGLE_OAUTH")
    url = f"/api/v1/calendars/{fakes.google.email}/events"
    await make(api, url, account, "Work", 2)
    away = await make(api, url, account, "Away", 3)
    focus = await make(api, url, account, "Focus", 4)
    stored = fakes.google.events[fakes.google.email]
    stored[away]["eventType"] = "outOfOffice"  # as Google Calendar's own UI makes them
    stored[focus]["eventType"] = "focusTime"
    assert await titles(api, url, account, "outOfOffice") == [("Away", "outOfOffice")]
    assert await titles(api, url, account, "default,focusTime") == [
        ("Work", "default"),
        ("Focus", "focusTime"),
    ]
    assert await titles(api, url, account, "birthday") == []


async def test_outlook_away_events_are_out_of_office(api: Api, fakes: Fakes) -> None:
    account = await connect(api, fakes, "OUTLOOK")
    url = f"/api/v1/calendars/{fakes.graph.default_calendar}/events"
    await make(api, url, account, "Work", 2)
    away = await make(api, url, account, "Away", 3)
    (item,) = [e for e in fakes.graph.events.values() if e["subject"] == "Away"]
    item["showAs"] = "oof"  # "Away" in Outlook (automatic replies' own events too)
    assert away
    assert await titles(api, url, account, "outOfOffice") == [("Away", "outOfOffice")]
    assert await titles(api, url, account, "default") == [("Work", "default")]
    assert await titles(api, url, account, "focusTime") == []
