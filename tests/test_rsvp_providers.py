"""RSVP on Google (the account's own attendee, marked ``self``) and Outlook (accept /
tentativelyAccept / decline), against the test servers; occurrences answered one by one; the
organizer's own event refused; a `calendar_event_updated` webhook for each answer."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api
from tests.fakes.invites import google_invite, graph_invite
from tests.oauth_env import (  # noqa: F401 - fixtures
    Fakes,
    connect,
    fakes_fixture,
    oauth_runtime,
    oauth_settings,
    seed_calendar,
)

pytestmark = pytest.mark.anyio
ME = "user@example.com"
OLGA = "olga@example.org"


async def hook(api: Api, account_id: str) -> str:
    body = {
        "source": "calendar_event",
        "request_url": "https://hooks.example.org/calgate",
        "events": ["calendar_event_updated"],
        "account_ids": [account_id],
    }
    r = await api.call("POST", "/api/v1/webhooks", json=body)
    assert r.status_code == 201, r.text
    webhook_id: str = r.json()["webhook_id"]
    return webhook_id


async def updates(api: Api, webhook_id: str) -> list[str]:
    r = await api.call("GET", f"/api/v1/webhooks/{webhook_id}/deliveries")
    return [d["event_id"] for d in r.json()["items"] if d["event"] == "calendar_event_updated"]


async def rsvp(api: Api, account: str, calendar: str, event_id: str, body: Any) -> Any:
    url = f"/api/v1/calendars/{calendar}/events/{event_id}/rsvp"
    return await api.call("POST", url, account_id=account, json=body)


async def mine(api: Api, account: str, calendar: str, event_id: str) -> str:
    r = await api.call("GET", f"/api/v1/calendars/{calendar}/events/{event_id}", account_id=account)
    assert r.status_code == 200, r.text
    [me] = [a for a in r.json()["attendees"] if a["email"] == ME]
    status: str = me["response_status"]
    return status


async def refused_on_own_event(api: Api, account: str, calendar: str) -> None:
    """The account organises an event it made: answering it is a 400 saying so."""
    body = {
        "title": "Mine",
        "start": {"date_time": "2026-03-03T10:00:00Z"},
        "end": {"date_time": "2026-03-03T11:00:00Z"},
        "attendees": [{"email": "bob@example.org"}],
    }
    url = f"/api/v1/calendars/{calendar}/events"
    own = (await api.call("POST", url, account_id=account, json=body)).json()["event_id"]
    r = await rsvp(api, account, calendar, own, {"status": "yes"})
    assert r.status_code == 400 and "organises this event" in r.json()["detail"], r.text


async def occurrences(api: Api, account: str, calendar: str) -> list[str]:
    """The ids of the calendar's occurrences in the first week of March 2026."""
    window = {"start": "2026-03-01T00:00:00Z", "end": "2026-03-09T00:00:00Z"}
    r = await api.call(
        "GET",
        f"/api/v1/calendars/{calendar}/events",
        account_id=account,
        params={"expand_recurring": "true", **window},
    )
    assert r.status_code == 200, r.text
    return [e["id"] for e in r.json()["data"]]


def google_event(**extra: Any) -> dict[str, Any]:
    return {
        "summary": "Planning",
        "start": {"dateTime": "2026-03-02T10:00:00+01:00", "timeZone": "Europe/Paris"},
        "end": {"dateTime": "2026-03-02T11:00:00+01:00", "timeZone": "Europe/Paris"},
        "attendees": [{"email": OLGA}, {"email": ME}, {"email": "bob@example.org"}],
        **extra,
    }


async def test_google_sets_the_own_attendee_answer(api: Api, fakes: Fakes) -> None:
    account = await connect(api, fakes, "GOOGLE_OAUTH")
    calendar = seed_calendar(fakes, "GOOGLE_OAUTH")
    webhook_id = await hook(api, account)
    event = google_invite(fakes.google, google_event(), OLGA)

    r = await rsvp(api, account, calendar, event["id"], {"status": "yes", "comment": "Gladly"})
    assert r.status_code == 204, r.text
    stored = fakes.google.events[calendar][event["id"]]
    answers = {a["email"]: (a["responseStatus"], a.get("comment")) for a in stored["attendees"]}
    assert answers == {
        OLGA: ("needsAction", None),
        ME: ("accepted", "Gladly"),
        "bob@example.org": ("needsAction", None),
    }
    assert fakes.google.send_updates[-1].value == "all"  # Google tells the organizer
    assert await mine(api, account, calendar, event["id"]) == "yes"
    assert await updates(api, webhook_id) == [event["id"]]

    r = await rsvp(api, account, calendar, event["id"], {"status": "maybe"})
    assert r.status_code == 204, r.text
    stored = fakes.google.events[calendar][event["id"]]
    [me] = [a for a in stored["attendees"] if a["email"] == ME]
    assert (me["responseStatus"], "comment" in me) == ("tentative", False)


async def test_google_occurrences_and_refusals(api: Api, fakes: Fakes) -> None:
    account = await connect(api, fakes, "GOOGLE_OAUTH")
    calendar = seed_calendar(fakes, "GOOGLE_OAUTH")
    series = google_invite(
        fakes.google, google_event(recurrence=["RRULE:FREQ=DAILY;COUNT=3"]), OLGA
    )
    first, second, _ = await occurrences(api, account, calendar)
    r = await rsvp(api, account, calendar, second, {"status": "no"})
    assert r.status_code == 204, r.text
    assert await mine(api, account, calendar, second) == "no"
    assert await mine(api, account, calendar, first) == "noreply"
    assert await mine(api, account, calendar, series["id"]) == "noreply"

    # The account's own event, and one it does not attend.
    await refused_on_own_event(api, account, calendar)
    other = google_invite(fakes.google, {**google_event(), "attendees": [{"email": OLGA}]}, OLGA)
    r = await rsvp(api, account, calendar, other["id"], {"status": "yes"})
    assert r.status_code == 400 and "not an attendee" in r.json()["detail"], r.text


def graph_event(**extra: Any) -> dict[str, Any]:
    return {
        "subject": "Planning",
        "start": {"dateTime": "2026-03-02T10:00:00", "timeZone": "Europe/Paris"},
        "end": {"dateTime": "2026-03-02T11:00:00", "timeZone": "Europe/Paris"},
        "attendees": [
            {"emailAddress": {"address": ME, "name": "Me"}, "type": "required"},
            {"emailAddress": {"address": "bob@example.org", "name": "Bob"}, "type": "optional"},
        ],
        **extra,
    }


async def test_outlook_accepts_tentatively_accepts_and_declines(api: Api, fakes: Fakes) -> None:
    account = await connect(api, fakes, "OUTLOOK")
    calendar = seed_calendar(fakes, "OUTLOOK")
    webhook_id = await hook(api, account)
    event = graph_invite(fakes.graph, graph_event(), OLGA)
    expected = []
    for status, action, word in [
        ("maybe", "tentativelyAccept", "maybe"),
        ("yes", "accept", "yes"),
        ("no", "decline", "no"),
    ]:
        r = await rsvp(api, account, calendar, event["id"], {"status": status, "comment": action})
        assert r.status_code == 204, r.text
        expected.append((action, event["id"], {"comment": action, "sendResponse": True}))
        assert await mine(api, account, calendar, event["id"]) == word
    assert fakes.graph.answers == expected
    assert await updates(api, webhook_id) == [event["id"]] * 3

    # The organizer's own event is refused before any answer is sent.
    await refused_on_own_event(api, account, calendar)
    assert len(fakes.graph.answers) == 3


async def test_outlook_answers_one_occurrence(api: Api, fakes: Fakes) -> None:
    account = await connect(api, fakes, "OUTLOOK")
    calendar = seed_calendar(fakes, "OUTLOOK")
    recurrence = {
        "pattern": {"type": "daily", "interval": 1},
        "range": {"type": "numbered", "startDate": "2026-03-02", "numberOfOccurrences": 3},
    }
    series = graph_invite(fakes.graph, graph_event(recurrence=recurrence), OLGA)
    first, second, _ = await occurrences(api, account, calendar)
    r = await rsvp(api, account, calendar, second, {"status": "yes"})
    assert r.status_code == 204, r.text
    [(action, answered, _)] = fakes.graph.answers
    assert action == "accept" and answered.startswith(series["id"] + "_")
    assert await mine(api, account, calendar, second) == "yes"
    assert await mine(api, account, calendar, first) == "noreply"
