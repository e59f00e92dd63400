"""OUTLOOK: what calgate sends to Microsoft Graph, field by field (the test server's log)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from calgate.providers.microsoft_map import PROPERTY_ID
from tests.conftest import SEED_BODY, Api
from tests.oauth_env import (  # noqa: F401 - fixtures
    Fakes,
    body_sent,
    connect,
    fakes_fixture,
    oauth_runtime,
    oauth_settings,
)

pytestmark = pytest.mark.anyio

MS = "OUTLOOK"


def url(fakes: Fakes, event_id: str | None = None) -> str:
    base = f"/api/v1/calendars/{fakes.graph.default_calendar}/events"
    return base if event_id is None else f"{base}/{event_id}"


def timed(start: str, end: str, tz: str = "UTC") -> dict[str, Any]:
    return {
        "start": {"date_time": start, "time_zone": tz},
        "end": {"date_time": end, "time_zone": tz},
    }


def kept(body: dict[str, Any]) -> dict[str, Any]:
    props = body["singleValueExtendedProperties"]
    assert [p["id"] for p in props] == [PROPERTY_ID]
    value: dict[str, Any] = json.loads(props[0]["value"])
    return value


async def create(api: Api, fakes: Fakes, account: str, body: dict[str, Any]) -> str:
    r = await api.call("POST", url(fakes), account_id=account, json=body)
    assert r.status_code == 200, r.text
    event_id: str = r.json()["event_id"]
    return event_id


async def test_seed_body_is_sent_field_by_field(api: Api, fakes: Fakes) -> None:
    account = await connect(api, fakes, MS)
    body = {**SEED_BODY, "guests_can_modify": False, "transparency": "transparent"}
    event_id = await create(api, fakes, account, body)
    sent = body_sent(fakes, MS)
    assert kept(sent) == {
        "v": 1,
        "color": "#039BE5",
        "tz": ["Europe/Paris", "Europe/Paris"],
        "conference": ["zoom", "https://zoom.example.org/j/123", "123"],
        "recurrence": ["RRULE:FREQ=WEEKLY;BYDAY=TU;COUNT=4"],
    }
    del sent["singleValueExtendedProperties"]
    assert sent == {
        "subject": "Quarterly review",
        "body": {"contentType": "text", "content": "Numbers and plans"},
        "start": {"dateTime": "2026-01-20T14:30:00", "timeZone": "Romance Standard Time"},
        "end": {"dateTime": "2026-01-20T15:30:00", "timeZone": "Romance Standard Time"},
        "isAllDay": False,
        "location": {"displayName": "Room 4"},
        "attendees": [
            {"emailAddress": {"address": "ada@example.org", "name": "Ada"}, "type": "required"},
            {"emailAddress": {"address": "bob@example.org"}, "type": "optional"},
        ],
        "showAs": "free",
        "sensitivity": "private",
        "hideAttendees": True,
        "isOnlineMeeting": False,
        "recurrence": {
            "pattern": {
                "type": "weekly",
                "interval": 1,
                "daysOfWeek": ["tuesday"],
                "firstDayOfWeek": "monday",
            },
            "range": {
                "type": "numbered",
                "startDate": "2026-01-20",
                "recurrenceTimeZone": "Romance Standard Time",
                "numberOfOccurrences": 4,
            },
        },
        "transactionId": sent["transactionId"],
    }
    assert len(sent["transactionId"]) == 32
    post = fakes.graph.requests.find("POST", "/v1.0/me/calendars/")[-1]
    assert post.headers["prefer"] == 'outlook.timezone="UTC", outlook.body-content-type="text"'
    # The id calgate answers is Graph's.
    assert [e["id"] for e in fakes.graph.stored()] == [event_id]
    event = (await api.call("GET", url(fakes, event_id), account_id=account)).json()
    assert event["notifications"] == "forced_by_provider"
    assert event["transparency"] == "transparent"
    assert event["color"] == "#039BE5"


async def test_capabilities(api: Api, fakes: Fakes) -> None:
    account = await connect(api, fakes, MS)
    caps = (await api.call("GET", f"/api/v1/accounts/{account}/capabilities")).json()
    assert {k: caps[k] for k in ("colors", "invitations", "conference_create", "recurrence")} == {
        "colors": "stored",
        "invitations": "forced",
        "conference_create": ["teams"],
        "recurrence": "graph",
    }
    assert caps["guests_can_modify"] is False


async def test_teams_meeting_is_created_when_no_url_is_given(api: Api, fakes: Fakes) -> None:
    account = await connect(api, fakes, MS)
    event_id = await create(
        api,
        fakes,
        account,
        {
            "title": "Call",
            "visibility": "confidential",
            "conference": {"provider": "teams"},
            **timed("2026-03-01T10:00:00", "2026-03-01T11:00:00", "America/New_York"),
        },
    )
    sent = body_sent(fakes, MS)
    assert (sent["isOnlineMeeting"], sent["onlineMeetingProvider"]) == (True, "teamsForBusiness")
    assert sent["sensitivity"] == "confidential"
    assert sent["start"] == {"dateTime": "2026-03-01T10:00:00", "timeZone": "Eastern Standard Time"}
    event = (await api.call("GET", url(fakes, event_id), account_id=account)).json()
    join = fakes.graph.stored()[0]["onlineMeeting"]["joinUrl"]
    assert event["conference"] == {"provider": "teams", "url": join, "conference_id": ""}
    assert event["visibility"] == "confidential"
    assert event["start"] == {
        "date_time": "2026-03-01T10:00:00-05:00",
        "time_zone": "America/New_York",
    }
    # Outlook keeps a Teams meeting once made: removing it is a 501 (test_microsoft_limits.py).


async def test_all_day_event(api: Api, fakes: Fakes) -> None:
    account = await connect(api, fakes, MS)
    all_day = {"title": "Off", "start": {"date": "2026-07-14"}, "end": {"date": "2026-07-15"}}
    event_id = await create(api, fakes, account, all_day)
    sent = body_sent(fakes, MS)
    assert (sent["start"], sent["end"], sent["isAllDay"]) == (
        {"dateTime": "2026-07-14T00:00:00", "timeZone": "UTC"},
        {"dateTime": "2026-07-15T00:00:00", "timeZone": "UTC"},
        True,
    )
    event = (await api.call("GET", url(fakes, event_id), account_id=account)).json()
    assert (event["start"], event["end"], event["is_all_day"]) == (
        {"date": "2026-07-14"},
        {"date": "2026-07-15"},
        True,
    )


async def test_exdates_are_deleted_instances(api: Api, fakes: Fakes) -> None:
    account = await connect(api, fakes, MS)
    lines = ["RRULE:FREQ=DAILY;COUNT=5", "EXDATE;TZID=Europe/Paris:20260122T143000"]
    event_id = await create(
        api,
        fakes,
        account,
        {
            "title": "Daily",
            "recurrence": lines,
            **timed("2026-01-20T14:30:00", "2026-01-20T15:00:00", "Europe/Paris"),
        },
    )
    assert body_sent(fakes, MS)["recurrence"] == {
        "pattern": {"type": "daily", "interval": 1},
        "range": {
            "type": "numbered",
            "startDate": "2026-01-20",
            "recurrenceTimeZone": "Romance Standard Time",
            "numberOfOccurrences": 5,
        },
    }
    deletes = [r.path for r in fakes.graph.requests.find("DELETE")]
    assert deletes == [
        f"/v1.0/me/calendars/{fakes.graph.default_calendar}/events/{event_id}_20260122T133000Z"
    ]
    params = {
        "start": "2026-01-19T00:00:00Z",
        "end": "2026-02-01T00:00:00Z",
        "expand_recurring": "true",
    }
    r = await api.call("GET", url(fakes), account_id=account, params=params)
    assert [e["start"]["date_time"][:10] for e in r.json()["data"]] == [
        "2026-01-20",
        "2026-01-21",
        "2026-01-23",
        "2026-01-24",
    ]
    master = (await api.call("GET", url(fakes, event_id), account_id=account)).json()
    assert master["recurrence"] == lines


async def test_rule_outlook_cannot_hold_is_501_before_any_call(api: Api, fakes: Fakes) -> None:
    account = await connect(api, fakes, MS)
    before = len(fakes.graph.requests)
    for line, part in (
        ("RRULE:FREQ=HOURLY;COUNT=3", "FREQ=HOURLY"),
        ("RRULE:FREQ=MONTHLY;BYMONTHDAY=31", "BYMONTHDAY"),
        ("RRULE:FREQ=MONTHLY;BYDAY=5MO", "BYDAY=5MO"),
    ):
        body = {
            "title": "x",
            "recurrence": [line],
            **timed("2026-03-02T10:00:00Z", "2026-03-02T11:00:00Z"),
        }
        r = await api.call("POST", url(fakes), account_id=account, json=body)
        assert r.status_code == 501, r.text
        assert r.json()["type"] == "errors/feature_not_implemented"
        assert part in r.json()["detail"]
    assert len(fakes.graph.requests) == before
    assert fakes.graph.creates == 0


async def test_guests_can_modify_and_meet_are_501(api: Api, fakes: Fakes) -> None:
    account = await connect(api, fakes, MS)
    before = len(fakes.graph.requests)
    for extra in ({"guests_can_modify": True}, {"conference": {"provider": "google_meet"}}):
        body = {"title": "x", **extra, **timed("2026-03-02T10:00:00Z", "2026-03-02T11:00:00Z")}
        r = await api.call("POST", url(fakes), account_id=account, json=body)
        assert r.status_code == 501, r.text
    assert len(fakes.graph.requests) == before


async def test_occurrences_use_calgate_ids_and_graph_instance_ids(api: Api, fakes: Fakes) -> None:
    account = await connect(api, fakes, MS)
    event_id = await create(
        api,
        fakes,
        account,
        {
            "title": "Payday",
            "recurrence": ["RRULE:FREQ=MONTHLY;BYMONTHDAY=1;COUNT=3"],
            "start": {"date": "2026-01-01"},
            "end": {"date": "2026-01-02"},
        },
    )
    second = f"{event_id}_20260201"
    r = await api.call("PATCH", url(fakes, second), account_id=account, json={"title": "Bonus"})
    assert r.status_code == 200, r.text
    patched = fakes.graph.requests.find("PATCH")[-1]
    # Graph's own id of that instance (the test server names it by its UTC start).
    assert patched.path.endswith(f"/events/{event_id}_20260201T000000Z")
    event = (await api.call("GET", url(fakes, second), account_id=account)).json()
    assert (event["id"], event["title"], event["master_event_id"]) == (second, "Bonus", event_id)
    r = await api.call("DELETE", url(fakes, second), account_id=account)
    assert r.status_code == 200, r.text
    r = await api.call("GET", url(fakes, second), account_id=account)
    assert r.status_code == 404
    master = (await api.call("GET", url(fakes, event_id), account_id=account)).json()
    assert master["recurrence"] == [  # normalized by calgate when it adds the EXDATE
        "RRULE:FREQ=MONTHLY;COUNT=3;BYMONTHDAY=1",
        "EXDATE;VALUE=DATE:20260201",
    ]


async def test_series_edited_in_outlook_reads_as_outlook_says(api: Api, fakes: Fakes) -> None:
    account = await connect(api, fakes, MS)
    event_id = await create(
        api,
        fakes,
        account,
        {
            "title": "Weekly",
            "recurrence": ["RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=4"],
            **timed("2026-03-02T09:00:00", "2026-03-02T10:00:00", "Europe/Berlin"),
        },
    )
    stored = fakes.graph.stored()[0]
    stored["recurrence"]["range"]["numberOfOccurrences"] = 6  # someone changed it in Outlook
    event = (await api.call("GET", url(fakes, event_id), account_id=account)).json()
    assert event["recurrence"] == ["RRULE:FREQ=WEEKLY;COUNT=6;BYDAY=MO"]
    assert event["start"]["time_zone"] == "Europe/Berlin"


async def test_zone_changed_in_outlook_reads_in_outlook_zone(api: Api, fakes: Fakes) -> None:
    account = await connect(api, fakes, MS)
    brussels = timed("2026-03-02T09:00:00", "2026-03-02T10:00:00", "Europe/Brussels")
    event_id = await create(api, fakes, account, {"title": "x", **brussels})
    stored = fakes.graph.stored()[0]
    assert stored["originalStartTimeZone"] == "Romance Standard Time"
    event = (await api.call("GET", url(fakes, event_id), account_id=account)).json()
    assert event["start"] == {  # calgate's kept IANA zone, which Outlook's agrees with
        "date_time": "2026-03-02T09:00:00+01:00",
        "time_zone": "Europe/Brussels",
    }
    # Moved to a Pacific time zone in Outlook: 09:00 Brussels is 00:00 in Los Angeles.
    stored["start"] = {
        "dateTime": "2026-03-02T00:00:00.0000000",
        "timeZone": "Pacific Standard Time",
    }
    stored["originalStartTimeZone"] = "Pacific Standard Time"
    event = (await api.call("GET", url(fakes, event_id), account_id=account)).json()
    assert event["start"] == {
        "date_time": "2026-03-02T00:00:00-08:00",
        "time_zone": "America/Los_Angeles",
    }
