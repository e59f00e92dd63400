"""OUTLOOK: what Graph will not do, as its documentation says, and calgate's clear answer to it.

- Online meetings are sticky: once ``isOnlineMeeting`` is true, Outlook ignores later changes to
  it and to ``onlineMeetingProvider`` (event resource), so removing or replacing a Teams meeting
  is a 501, never a 200 while Outlook still holds the Teams link.
- Relative monthly/yearly patterns count one weekday, or Exchange's day, weekday, weekend day.
- ``$expand``/``$select`` are not documented for event writes: the test server ignores them on
  POST and PATCH, and calgate reads the event back once where the answer lacks its property.
- Teams is only there where the calendar's ``allowedOnlineMeetingProviders`` holds it.
- A ``transactionId`` reused with another body is ``ErrorDuplicateTransactionId``: a 409.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from calgate.providers.microsoft_map import EXPAND, PROPERTY_ID
from calgate.store.tables import outbox_payloads
from tests.conftest import Api
from tests.fakes import graph_app
from tests.oauth_env import (  # noqa: F401 - fixtures
    Fakes,
    connect,
    fakes_fixture,
    oauth_runtime,
    oauth_settings,
)

pytestmark = pytest.mark.anyio

MS = "OUTLOOK"
CALENDARS = "/v1.0/me/calendars/"
WINDOW = {"start": "2026-03-01T10:00:00Z", "end": "2026-03-01T11:00:00Z"}
BODY = {
    "title": "x",
    "start": {"date_time": WINDOW["start"]},
    "end": {"date_time": WINDOW["end"]},
}
TEAMS = {**BODY, "title": "Call", "conference": {"provider": "teams"}}
ZOOM = {"provider": "zoom", "url": "https://zoom.example.org/j/42", "conference_id": "42"}
GRAPH_BODY = {
    "subject": "x",
    "start": {"dateTime": "2026-03-01T10:00:00", "timeZone": "UTC"},
    "end": {"dateTime": "2026-03-01T11:00:00", "timeZone": "UTC"},
}


def url(fakes: Fakes, event_id: str | None = None, calendar_id: str | None = None) -> str:
    base = f"/api/v1/calendars/{calendar_id or fakes.graph.default_calendar}/events"
    return base if event_id is None else f"{base}/{event_id}"


@pytest.fixture
async def graph(fakes: Fakes) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the Graph test server itself, with a valid access token."""
    token = fakes.graph.oauth.issue_access_token()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=graph_app(fakes.graph)),
        base_url=f"http://graph.test/v1.0/me/calendars/{fakes.graph.default_calendar}",
        headers={"Authorization": f"Bearer {token}"},
    ) as client:
        yield client


async def create(api: Api, fakes: Fakes, account: str, body: dict[str, Any], **kw: Any) -> str:
    r = await api.call("POST", url(fakes, **kw), account_id=account, json=body)
    assert r.status_code == 200, r.text
    event_id: str = r.json()["event_id"]
    return event_id


async def read(api: Api, fakes: Fakes, account: str, event_id: str) -> dict[str, Any]:
    r = await api.call("GET", url(fakes, event_id), account_id=account)
    assert r.status_code == 200, r.text
    event: dict[str, Any] = r.json()
    return event


async def hook(api: Api, account: str) -> None:
    """A webhook, so that each change writes the event it carries to the outbox."""
    body = {
        "source": "calendar_event",
        "request_url": "https://hooks.example.org/calgate",
        "name": "hook",
        "account_ids": [account],
    }
    r = await api.call("POST", "/api/v1/webhooks", json=body)
    assert r.status_code == 201, r.text


async def payloads(api: Api) -> list[dict[str, Any]]:
    """The events the changes made through calgate carried, oldest first."""
    query = select(outbox_payloads.c.data).order_by(outbox_payloads.c.created_at)
    rows = await api.runtime.db.read(lambda c: c.execute(query).scalars().all())
    return [json.loads(row)["event"] for row in rows]


# --- 5. online meetings are sticky --------------------------------------------------------


async def test_graph_server_keeps_an_online_meeting_once_set(graph: httpx.AsyncClient) -> None:
    teams = {**GRAPH_BODY, "isOnlineMeeting": True, "onlineMeetingProvider": "teamsForBusiness"}
    made = (await graph.post("/events", json=teams)).json()
    join = made["onlineMeeting"]["joinUrl"]
    off = {"isOnlineMeeting": False, "onlineMeetingProvider": "unknown", "subject": "y"}
    r = await graph.patch(f"/events/{made['id']}", json=off)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["subject"] == "y"  # the rest of the PATCH is applied
    assert (answer["isOnlineMeeting"], answer["onlineMeetingProvider"]) == (
        True,
        "teamsForBusiness",
    )
    assert answer["onlineMeeting"]["joinUrl"] == join


async def test_removing_or_replacing_a_teams_meeting_is_501(api: Api, fakes: Fakes) -> None:
    account = await connect(api, fakes, MS)
    event_id = await create(api, fakes, account, TEAMS)
    join = fakes.graph.stored()[0]["onlineMeeting"]["joinUrl"]
    teams = {"provider": "teams", "url": join, "conference_id": ""}
    assert (await read(api, fakes, account, event_id))["conference"] == teams
    for conference in (None, ZOOM, {"provider": "teams", "url": "https://teams.example/x"}):
        r = await api.call(
            "PATCH", url(fakes, event_id), account_id=account, json={"conference": conference}
        )
        assert r.status_code == 501, r.text
        error = r.json()
        assert error["type"] == "errors/feature_not_implemented"
        assert "conference" in error["detail"]
        assert "Teams meeting" in error["detail"]
        assert "isOnlineMeeting" in error["detail"]
    assert fakes.graph.requests.find("PATCH") == []
    assert (await read(api, fakes, account, event_id))["conference"] == teams
    # Keeping the meeting (with or without its URL) and other changes are fine.
    for change in ({"conference": {"provider": "teams"}}, {"conference": teams}, {"title": "y"}):
        r = await api.call("PATCH", url(fakes, event_id), account_id=account, json=change)
        assert r.status_code == 200, r.text
    event = await read(api, fakes, account, event_id)
    assert (event["title"], event["conference"]) == ("y", teams)


# --- 6. relative patterns -----------------------------------------------------------------


async def test_relative_pattern_over_another_day_set_is_501_before_any_call(
    api: Api, fakes: Fakes
) -> None:
    account = await connect(api, fakes, MS)
    before = len(fakes.graph.requests)
    for line, part in (
        ("RRULE:FREQ=MONTHLY;BYDAY=MO,WE;BYSETPOS=2", "BYDAY=MO,WE with BYSETPOS"),
        ("RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=TU,TH;BYSETPOS=-1", "BYDAY=TU,TH with BYSETPOS"),
    ):
        r = await api.call(
            "POST", url(fakes), account_id=account, json={**BODY, "recurrence": [line]}
        )
        assert r.status_code == 501, r.text
        assert r.json()["type"] == "errors/feature_not_implemented"
        assert part in r.json()["detail"]
        assert "Monday to Friday" in r.json()["detail"]
    assert len(fakes.graph.requests) == before
    # The sets Exchange counts are fine: the second weekday of every month.
    weekday = {**BODY, "recurrence": ["RRULE:FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=2"]}
    await create(api, fakes, account, weekday)
    pattern = fakes.graph.stored()[0]["recurrence"]["pattern"]
    assert (pattern["type"], pattern["index"], len(pattern["daysOfWeek"])) == (
        "relativeMonthly",
        "second",
        5,
    )


async def test_another_day_set_reads_as_outlook_counts_it(api: Api, fakes: Fakes) -> None:
    account = await connect(api, fakes, MS)
    body = {**BODY, "start": {"date_time": "2026-03-09T10:00:00Z"}}
    event_id = await create(
        api, fakes, account, {**body, "end": {"date_time": "2026-03-09T11:00:00Z"}}
    )
    stored = fakes.graph.stored()[0]
    stored["recurrence"] = {  # as a client other than calgate may write it
        "pattern": {
            "type": "relativeMonthly",
            "interval": 1,
            "daysOfWeek": ["monday", "wednesday"],
            "index": "second",
        },
        "range": {"type": "numbered", "startDate": "2026-03-09", "numberOfOccurrences": 3},
    }
    event = await read(api, fakes, account, event_id)
    # "The event falls on the first day that satisfies the pattern": the earlier of the second
    # Monday and the second Wednesday, not the second of the Mondays and Wednesdays.
    assert event["recurrence"] == ["RRULE:FREQ=MONTHLY;COUNT=3;BYDAY=2MO,2WE;BYSETPOS=1"]
    params = {"start": "2026-03-01T00:00:00Z", "end": "2026-06-01T00:00:00Z"}
    r = await api.call(
        "GET", url(fakes), account_id=account, params={**params, "expand_recurring": "true"}
    )
    assert r.status_code == 200, r.text
    days = [e["start"]["date_time"][:10] for e in r.json()["data"]]
    assert days == ["2026-03-09", "2026-04-08", "2026-05-11"]


# --- 7. no $expand/$select on writes --------------------------------------------------------


async def test_graph_server_ignores_expand_and_select_on_writes(
    graph: httpx.AsyncClient,
) -> None:
    kept = [{"id": PROPERTY_ID, "value": '{"v":1,"color":"#039BE5"}'}]
    body = {**GRAPH_BODY, "singleValueExtendedProperties": kept}
    query = {"$expand": EXPAND, "$select": "subject"}
    made = await graph.post("/events", params=query, json=body)
    assert made.status_code == 201, made.text
    assert "singleValueExtendedProperties" not in made.json()
    assert made.json()["start"]["dateTime"].startswith("2026-03-01T10:00:00")  # no $select
    event_id = made.json()["id"]
    changed = await graph.patch(f"/events/{event_id}", params=query, json={"subject": "y"})
    assert changed.status_code == 200, changed.text
    assert "singleValueExtendedProperties" not in changed.json()
    assert "start" in changed.json()
    # Reads show the property only when $expand asks for it.
    plain = (await graph.get(f"/events/{event_id}")).json()
    assert "singleValueExtendedProperties" not in plain
    expanded = (await graph.get(f"/events/{event_id}", params={"$expand": EXPAND})).json()
    assert expanded["singleValueExtendedProperties"] == kept
    listed = (await graph.get("/events", params={"$expand": EXPAND})).json()["value"]
    assert listed[0]["singleValueExtendedProperties"] == kept


async def test_write_is_read_back_once_when_its_answer_lacks_the_kept_property(
    api: Api, fakes: Fakes
) -> None:
    account = await connect(api, fakes, MS)
    await hook(api, account)
    event_id = await create(
        api,
        fakes,
        account,
        {**BODY, "color": "#039BE5", "conference": ZOOM, "visibility": "default"},
    )
    [post] = fakes.graph.requests.find("POST", CALENDARS)
    assert "$expand" not in post.query and "$select" not in post.query
    event_path = f"{CALENDARS}{fakes.graph.default_calendar}/events/{event_id}"
    assert [r.method for r in fakes.graph.requests.find(path_prefix=event_path)] == ["GET"]
    r = await api.call("PATCH", url(fakes, event_id), account_id=account, json={"color": "#D50000"})
    assert r.status_code == 200, r.text
    [patch] = fakes.graph.requests.find("PATCH")
    assert "$expand" not in patch.query
    # locate, PATCH, read back
    assert [r.method for r in fakes.graph.requests.find(path_prefix=event_path)] == [
        "GET",
        "GET",
        "PATCH",
        "GET",
    ]
    created, updated = await payloads(api)
    assert (created["color"], created["conference"], created["visibility"]) == (
        "#039BE5",
        ZOOM,
        "default",
    )
    assert (updated["color"], updated["conference"]) == ("#D50000", ZOOM)


async def test_write_whose_read_back_fails_is_still_done(api: Api, fakes: Fakes) -> None:
    account = await connect(api, fakes, MS)
    await hook(api, account)
    events = f"{CALENDARS}{fakes.graph.default_calendar}/events/"
    fakes.graph.faults.add(events, method="GET", status=404, reason="ErrorItemNotFound")
    event_id = await create(api, fakes, account, {**BODY, "color": "#039BE5"})
    assert [e["id"] for e in fakes.graph.stored()] == [event_id]
    assert [r.status for r in fakes.graph.requests.find("GET", events)] == [404]
    [created] = await payloads(api)
    assert created["color"] == "#039BE5"  # as written


async def test_write_whose_answer_reads_the_same_is_not_read_back(api: Api, fakes: Fakes) -> None:
    account = await connect(api, fakes, MS)
    # UTC, public, no colour: the property calgate keeps changes nothing in how it reads
    event_id = await create(api, fakes, account, {**BODY, "visibility": "public"})
    event_path = f"{CALENDARS}{fakes.graph.default_calendar}/events/{event_id}"
    assert fakes.graph.requests.find("GET", event_path) == []


# --- 8. Teams availability -----------------------------------------------------------------


async def test_account_without_teams_refuses_a_teams_meeting_before_any_write(
    api: Api, fakes: Fakes
) -> None:
    calendar = fakes.graph.calendar(None)
    calendar["allowedOnlineMeetingProviders"] = ["skypeForConsumer"]  # a personal account
    calendar["defaultOnlineMeetingProvider"] = "skypeForConsumer"
    account = await connect(api, fakes, MS)
    caps = (await api.call("GET", f"/api/v1/accounts/{account}/capabilities")).json()
    assert caps["conference_create"] == []
    r = await api.call("POST", url(fakes), account_id=account, json=TEAMS)
    assert r.status_code == 501, r.text
    assert "teams" in r.json()["detail"]
    event_id = await create(api, fakes, account, {**BODY, "conference": ZOOM})  # a link is fine
    r = await api.call(
        "PATCH",
        url(fakes, event_id),
        account_id=account,
        json={"conference": {"provider": "teams"}},
    )
    assert r.status_code == 501, r.text
    assert fakes.graph.requests.find("PATCH") == []
    assert fakes.graph.creates == 1


async def test_calendar_without_teams_refuses_a_teams_meeting_before_any_write(
    api: Api, fakes: Fakes
) -> None:
    account = await connect(api, fakes, MS)  # the default calendar has Teams
    caps = (await api.call("GET", f"/api/v1/accounts/{account}/capabilities")).json()
    assert caps["conference_create"] == ["teams"]
    other = fakes.graph.add_calendar("Shared")
    other["allowedOnlineMeetingProviders"] = []
    r = await api.call("POST", url(fakes, calendar_id=other["id"]), account_id=account, json=TEAMS)
    assert r.status_code == 501, r.text
    assert r.json()["type"] == "errors/feature_not_implemented"
    assert "allowedOnlineMeetingProviders" in r.json()["detail"]
    assert fakes.graph.requests.find("POST", CALENDARS) == []
    await create(api, fakes, account, TEAMS)  # the default calendar still makes meetings


async def test_graph_server_makes_no_teams_meeting_where_teams_is_not_allowed(
    fakes: Fakes, graph: httpx.AsyncClient
) -> None:
    fakes.graph.calendar(None)["allowedOnlineMeetingProviders"] = ["skypeForConsumer"]
    teams = {**GRAPH_BODY, "isOnlineMeeting": True, "onlineMeetingProvider": "teamsForBusiness"}
    made = (await graph.post("/events", json=teams)).json()
    assert (made["isOnlineMeeting"], made["onlineMeeting"]) == (False, None)


# --- 9. transactionId reused with another body ------------------------------------------------


async def test_graph_server_refuses_a_transaction_id_reused_for_another_event(
    fakes: Fakes, graph: httpx.AsyncClient
) -> None:
    body = {**GRAPH_BODY, "transactionId": "tx-1"}
    first = await graph.post("/events", json=body)
    again = await graph.post("/events", json=body)
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json()["id"] == again.json()["id"]
    other = await graph.post("/events", json={**body, "subject": "another"})
    assert other.status_code == 400, other.text
    assert other.json()["error"]["code"] == "ErrorDuplicateTransactionId"
    assert fakes.graph.creates == 1


async def test_duplicate_transaction_id_is_409(api: Api, fakes: Fakes) -> None:
    account = await connect(api, fakes, MS)
    fakes.graph.faults.add(
        CALENDARS, method="POST", status=400, reason="ErrorDuplicateTransactionId"
    )
    r = await api.call("POST", url(fakes), account_id=account, json=BODY)
    assert r.status_code == 409, r.text
    error = r.json()
    assert (error["status"], error["type"]) == (409, "errors/conflict")
    assert "transactionId" in error["detail"]
    assert error["instance"] == url(fakes)
