"""Free/busy and availability on every provider, through the Google and Graph test servers
and Radicale, and on several providers in one call.

The same calendar is written on each provider through calgate (a daily series over the spring
clock change with one occurrence deleted, a single event, a transparent one); free/busy must
answer the same busy time everywhere, from the provider's own free/busy where it has one.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from calgate.settings import Settings
from tests.conftest import Api
from tests.contract.suite import Target
from tests.oauth_env import (  # noqa: F401 - fixtures
    Fakes,
    connect,
    fakes_fixture,
    oauth_runtime,
)
from tests.radicale import Radicale, radicale_fixture  # noqa: F401 - the fixture

pytestmark = pytest.mark.anyio
PROVIDERS = ("LOCAL", "GOOGLE_OAUTH", "OUTLOOK", "CALDAV")
WINDOW = {"start": "2026-03-23T00:00:00Z", "end": "2026-03-31T00:00:00Z"}
EXPECTED = [
    ("2026-03-23T08:00:00.000Z", "2026-03-23T09:00:00.000Z"),
    ("2026-03-24T08:00:00.000Z", "2026-03-24T09:00:00.000Z"),
    ("2026-03-24T13:00:00.000Z", "2026-03-24T14:00:00.000Z"),
    # 25 March deleted.
    ("2026-03-26T08:00:00.000Z", "2026-03-26T09:00:00.000Z"),
    ("2026-03-27T08:00:00.000Z", "2026-03-27T09:00:00.000Z"),
    ("2026-03-28T08:00:00.000Z", "2026-03-28T09:00:00.000Z"),
    # Summer time from 29 March: 09:00 in Paris is 07:00Z.
    ("2026-03-29T07:00:00.000Z", "2026-03-29T08:00:00.000Z"),
]


@pytest.fixture(name="settings")
def provider_settings(settings: Settings, fakes: Fakes) -> Settings:
    return fakes.settings(settings, allow_loopback_urls=True)


def timed(start: str, end: str, tz: str = "UTC", **extra: Any) -> dict[str, Any]:
    return {
        "title": "x",
        "start": {"date_time": start, "time_zone": tz},
        "end": {"date_time": end, "time_zone": tz},
        **extra,
    }


async def account_of(api: Api, fakes: Fakes, radicale: Radicale, provider: str) -> Target:
    if provider == "LOCAL":
        return await Target.connect(api, api.a.account_id, api.a.calendar_id)
    if provider == "CALDAV":
        user = radicale.add_user()
        radicale.make_calendar(user, "work", "Work")
        r = await api.call(
            "POST",
            "/api/v1/accounts",
            json={
                "provider": "CALDAV",
                "url": radicale.url,
                "username": user.name,
                "password": user.password,
            },
        )
        assert r.status_code == 201, r.text
        return await Target.connect(api, r.json()["account_id"])
    return await Target.connect(api, await connect(api, fakes, provider))


async def fill(target: Target) -> None:
    """The shared calendar: a daily 09:00 Paris series, its 25 March occurrence deleted."""
    await target.create(
        timed(
            "2026-03-23T09:00:00",
            "2026-03-23T10:00:00",
            "Europe/Paris",
            recurrence=["RRULE:FREQ=DAILY;COUNT=7"],
        )
    )
    await target.create(timed("2026-03-24T13:00:00Z", "2026-03-24T14:00:00Z"))
    await target.create(
        timed("2026-03-24T15:00:00Z", "2026-03-24T16:00:00Z", transparency="transparent")
    )
    found = await target.list(
        start="2026-03-25T00:00:00Z", end="2026-03-26T00:00:00Z", expand_recurring="true"
    )
    [occurrence] = [e for e in found if e["master_event_id"]]
    r = await target.call("DELETE", target.event(occurrence["id"]))
    assert r.status_code == 200, r.text


async def post(api: Api, path: str, body: dict[str, Any]) -> httpx.Response:
    return await api.client.post(
        f"/api/v1/calendars/{path}", json=body, headers={"X-API-KEY": api.a.key}
    )


def source_requests(fakes: Fakes, provider: str) -> int:
    if provider == "GOOGLE_OAUTH":
        return len(fakes.google.requests.find("POST", "/calendar/v3/freeBusy"))
    if provider == "OUTLOOK":
        return len(fakes.graph.requests.find("POST", "/v1.0/me/calendar/getSchedule"))
    return 0


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_the_same_calendar_gives_the_same_busy_time_on_every_provider(
    api: Api, fakes: Fakes, radicale: Radicale, provider: str
) -> None:
    target = await account_of(api, fakes, radicale, provider)
    await fill(target)
    r = await post(api, "free_busy", {**WINDOW, "calendars": [{"account_id": target.account_id}]})
    assert r.status_code == 200, r.text
    [entry] = r.json()["data"]
    assert entry["errors"] == [] and entry["calendar_id"] == target.calendar_id
    assert [(b["start"], b["end"]) for b in entry["busy"]] == EXPECTED
    assert {b["status"] for b in entry["busy"]} == {"busy"}
    # Google and Outlook answer from their own free/busy.
    assert source_requests(fakes, provider) == (0 if provider in ("LOCAL", "CALDAV") else 1)
    # A calendar named explicitly: the same answer (Outlook: read through calendarView).
    named = {"account_id": target.account_id, "calendar_ids": [target.calendar_id]}
    r = await post(api, "free_busy", {**WINDOW, "calendars": [named]})
    assert r.status_code == 200, r.text
    assert [(b["start"], b["end"]) for b in r.json()["data"][0]["busy"]] == EXPECTED


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_an_unknown_calendar_is_an_error_entry(
    api: Api, fakes: Fakes, radicale: Radicale, provider: str
) -> None:
    target = await account_of(api, fakes, radicale, provider)
    wanted = {"account_id": target.account_id, "calendar_ids": ["nope", target.calendar_id]}
    r = await post(api, "free_busy", {**WINDOW, "calendars": [wanted]})
    assert r.status_code == 200, r.text
    missing, found = r.json()["data"]
    assert missing["calendar_id"] == "nope" and missing["busy"] == []
    assert [e["status"] for e in missing["errors"]] == [404]
    assert found["errors"] == [] and found["calendar_id"] == target.calendar_id


async def test_mixed_providers_in_one_availability_call_with_one_account_down(
    api: Api, fakes: Fakes, radicale: Radicale
) -> None:
    targets = {p: await account_of(api, fakes, radicale, p) for p in PROVIDERS}
    # Everyone is busy at a different hour of Tuesday 24 March (UTC).
    hours = {"LOCAL": 9, "GOOGLE_OAUTH": 10, "OUTLOOK": 11, "CALDAV": 12}
    for provider, hour in hours.items():
        await targets[provider].create(
            timed(f"2026-03-24T{hour:02d}:00:00Z", f"2026-03-24T{hour:02d}:30:00Z")
        )
    body: dict[str, Any] = {
        "start": "2026-03-24T08:00:00Z",
        "end": "2026-03-24T14:00:00Z",
        "duration_minutes": 60,
        "participants": [{"account_id": t.account_id} for t in targets.values()],
    }
    r = await post(api, "availability", body)
    assert r.status_code == 200, r.text
    assert r.json()["errors"] == []
    everyone = [t.account_id for t in targets.values()]
    slots = [(s["start"][11:16], s["free"]) for s in r.json()["slots"]]
    assert slots == [("08:00", everyone), ("13:00", everyone)]
    # Three of four suffice: each hour has the one busy participant missing.
    r = await post(api, "availability", {**body, "min_required": 3})
    slots = [(s["start"][11:16], len(s["free"])) for s in r.json()["slots"]]
    assert slots == [
        ("08:00", 4),
        ("09:00", 3),
        ("10:00", 3),
        ("11:00", 3),
        ("12:00", 3),
        ("13:00", 4),
    ]
    # Google stops answering: an error for that account; it is never free, the call succeeds.
    fakes.google.faults.add("/calendar/v3/freeBusy", status=503, times=None)
    r = await post(api, "availability", {**body, "min_required": 3})
    assert r.status_code == 200, r.text
    [error] = r.json()["errors"]
    assert error["account_id"] == targets["GOOGLE_OAUTH"].account_id
    assert error["status"] in (500, 503)
    slots = [(s["start"][11:16], len(s["free"])) for s in r.json()["slots"]]
    assert slots == [("08:00", 3), ("10:00", 3), ("13:00", 3)]
    r = await post(
        api,
        "free_busy",
        {**WINDOW, "calendars": [{"account_id": t.account_id} for t in targets.values()]},
    )
    assert r.status_code == 200, r.text
    assert [bool(e["errors"]) for e in r.json()["data"]] == [False, True, False, False]


ORIGINS = {
    "LOCAL": ("store", "store"),
    "GOOGLE_OAUTH": ("provider", "provider"),
    "OUTLOOK": ("provider", "events"),
    "CALDAV": ("events", "events"),
}


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_capabilities_say_where_free_busy_comes_from(
    api: Api, fakes: Fakes, radicale: Radicale, provider: str
) -> None:
    target = await account_of(api, fakes, radicale, provider)
    r = await api.call("GET", f"/api/v1/accounts/{target.account_id}/capabilities")
    assert r.status_code == 200, r.text
    origin = r.json()["free_busy"]
    assert (origin["primary"], origin["calendars"]) == ORIGINS[provider]
    assert isinstance(origin["notes"], list)
