"""GOOGLE_OAUTH: what calgate sends to Google, field by field (read from the test server's log)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import SEED_BODY, Api
from tests.googlekit import G, url
from tests.oauth_env import (  # noqa: F401 - fixtures
    Fakes,
    body_sent,
    connect,
    fakes_fixture,
    oauth_runtime,
    oauth_settings,
)

pytestmark = pytest.mark.anyio


def timed(start: str, end: str, tz: str = "UTC") -> dict[str, Any]:
    return {
        "start": {"date_time": start, "time_zone": tz},
        "end": {"date_time": end, "time_zone": tz},
    }


async def test_seed_body_is_sent_field_by_field(api: Api, fakes: Fakes) -> None:
    account = await connect(api, fakes, G)
    body = {**SEED_BODY, "color": "#039BE5", "notify": True}
    r = await api.call("POST", url(fakes), account_id=account, json=body)
    assert r.status_code == 200, r.text
    event_id = r.json()["event_id"]
    sent = body_sent(fakes, G)
    assert sent == {
        "id": event_id,
        "summary": "Quarterly review",
        # A Zoom link is no conferenceData at Google (addOn is for Workspace add-ons): it is
        # the description's last line, and calgate keeps the conference privately.
        "description": "Numbers and plans\n\nZoom: https://zoom.example.org/j/123",
        "location": "Room 4",
        "start": {"dateTime": "2026-01-20T14:30:00+01:00", "timeZone": "Europe/Paris"},
        "end": {"dateTime": "2026-01-20T15:30:00+01:00", "timeZone": "Europe/Paris"},
        "transparency": "opaque",
        "visibility": "private",
        "guestsCanSeeOtherGuests": False,
        "guestsCanModify": True,
        "attendees": [
            {"email": "ada@example.org", "displayName": "Ada"},
            {"email": "bob@example.org", "optional": True},
        ],
        "recurrence": ["RRULE:FREQ=WEEKLY;BYDAY=TU;COUNT=4"],
        "colorId": "7",
        "extendedProperties": {
            "private": {
                "calgateConferenceProvider": "zoom",
                "calgateConferenceUrl": "https://zoom.example.org/j/123",
                "calgateConferenceId": "123",
            }
        },
    }
    insert = fakes.google.requests.find("POST", "/calendar/v3/calendars/")[-1]
    assert insert.query == {"conferenceDataVersion": "1", "sendUpdates": "all"}
    assert insert.headers["authorization"].startswith("Bearer ya29.")
    assert [(n.method, n.value) for n in fakes.google.send_updates] == [("POST", "all")]
    # The id calgate answers is Google's event id (calgate chose it: base32hex).
    assert [e["id"] for e in fakes.google.stored()] == [event_id]


async def test_notify_false_is_send_updates_none(api: Api, fakes: Fakes) -> None:
    account = await connect(api, fakes, G)
    body = {"title": "x", **timed("2026-03-01T10:00:00Z", "2026-03-01T11:00:00Z")}
    r = await api.call("POST", url(fakes), account_id=account, json=body)
    assert r.status_code == 200, r.text
    assert fakes.google.send_updates[-1].value == "none"


@pytest.mark.parametrize(
    ("color", "color_id"),
    [("#7986CB", "1"), ("#039be5", "7"), ("#D50000", "11"), ("#0B8043", "10")],
)
async def test_palette_colour_is_color_id_and_back(
    api: Api, fakes: Fakes, color: str, color_id: str
) -> None:
    account = await connect(api, fakes, G)
    body = {"title": "x", "color": color, **timed("2026-03-01T10:00:00Z", "2026-03-01T11:00:00Z")}
    r = await api.call("POST", url(fakes), account_id=account, json=body)
    assert r.status_code == 200, r.text
    assert body_sent(fakes, G)["colorId"] == color_id
    event = (await api.call("GET", url(fakes, r.json()["event_id"]), account_id=account)).json()
    assert event["color"] == color.upper()


async def test_colour_outside_the_palette_is_400_naming_it(api: Api, fakes: Fakes) -> None:
    account = await connect(api, fakes, G)
    before = len(fakes.google.requests)
    body = {
        "title": "x",
        "color": "#123456",
        **timed("2026-03-01T10:00:00Z", "2026-03-01T11:00:00Z"),
    }
    r = await api.call("POST", url(fakes), account_id=account, json=body)
    assert r.status_code == 400, r.text
    assert r.json()["type"] == "errors/invalid_parameters"
    assert "#123456" in r.json()["detail"] and "#039BE5" in r.json()["detail"]
    assert len(fakes.google.requests) == before  # refused before any provider call
    caps = (await api.call("GET", f"/api/v1/accounts/{account}/capabilities")).json()
    assert caps["colors"] == "palette" and caps["palette"][6] == "#039BE5"
    assert caps["invitations"] == "provider" and caps["conference_create"] == ["google_meet"]


async def test_meet_is_created_when_no_url_is_given(api: Api, fakes: Fakes) -> None:
    account = await connect(api, fakes, G)
    body = {
        "title": "Call",
        "conference": {"provider": "google_meet"},
        **timed("2026-03-01T10:00:00Z", "2026-03-01T11:00:00Z"),
    }
    r = await api.call("POST", url(fakes), account_id=account, json=body)
    assert r.status_code == 200, r.text
    event_id = r.json()["event_id"]
    sent = body_sent(fakes, G)["conferenceData"]
    assert sent == {
        "createRequest": {
            "requestId": event_id,
            "conferenceSolutionKey": {"type": "hangoutsMeet"},
        }
    }
    event = (await api.call("GET", url(fakes, event_id), account_id=account)).json()
    stored = fakes.google.stored()[0]
    assert event["conference"] == {
        "provider": "google_meet",
        "url": stored["hangoutLink"],
        "conference_id": stored["conferenceData"]["conferenceId"],
    }
    assert event["conference"]["url"].startswith("https://meet.google.com/")


async def test_times_all_day_and_transparency(api: Api, fakes: Fakes) -> None:
    account = await connect(api, fakes, G)
    body = {
        "title": "Off",
        "transparency": "transparent",
        "visibility": "confidential",
        "start": {"date": "2026-07-14"},
        "end": {"date": "2026-07-15"},
    }
    r = await api.call("POST", url(fakes), account_id=account, json=body)
    assert r.status_code == 200, r.text
    sent = body_sent(fakes, G)
    assert (sent["start"], sent["end"]) == ({"date": "2026-07-14"}, {"date": "2026-07-15"})
    assert (sent["transparency"], sent["visibility"]) == ("transparent", "confidential")
    event = (await api.call("GET", url(fakes, r.json()["event_id"]), account_id=account)).json()
    assert (event["transparency"], event["visibility"]) == ("transparent", "confidential")


async def test_patch_sends_only_the_changed_properties(api: Api, fakes: Fakes) -> None:
    account = await connect(api, fakes, G)
    body = {
        "title": "x",
        "attendees": [{"email": "ada@example.org"}],
        **timed("2026-03-01T10:00:00Z", "2026-03-01T11:00:00Z"),
    }
    event_id = (await api.call("POST", url(fakes), account_id=account, json=body)).json()[
        "event_id"
    ]
    # Ada accepted in Google meanwhile: replacing the list keeps her answer.
    fakes.google.stored()[0]["attendees"][0]["responseStatus"] = "accepted"
    patch = {
        "title": "y",
        "color": "#D50000",
        "is_attendees_list_hidden": True,
        "attendees": [{"email": "ada@example.org"}, {"email": "bob@example.org"}],
        "notify": True,
    }
    r = await api.call("PATCH", url(fakes, event_id), account_id=account, json=patch)
    assert r.status_code == 200, r.text
    assert body_sent(fakes, G, "PATCH") == {
        "summary": "y",
        "colorId": "11",
        "guestsCanSeeOtherGuests": False,
        "attendees": [
            {"email": "ada@example.org", "responseStatus": "accepted"},
            {"email": "bob@example.org"},
        ],
    }
    assert fakes.google.send_updates[-1].value == "all"
    r = await api.call("PATCH", url(fakes, event_id), account_id=account, json={"color": None})
    assert r.status_code == 200, r.text
    assert body_sent(fakes, G, "PATCH") == {"colorId": None}
    assert fakes.google.send_updates[-1].value == "none"
    event = (await api.call("GET", url(fakes, event_id), account_id=account)).json()
    assert event["color"] is None
    assert [(a["email"], a["response_status"]) for a in event["attendees"]] == [
        ("ada@example.org", "yes"),
        ("bob@example.org", "noreply"),
    ]


async def test_series_patch_sends_start_and_end_with_zones(api: Api, fakes: Fakes) -> None:
    account = await connect(api, fakes, G)
    body = {
        "title": "Weekly",
        "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=5"],
        **timed("2026-03-02T09:00:00", "2026-03-02T10:00:00", "Europe/Berlin"),
    }
    event_id = (await api.call("POST", url(fakes), account_id=account, json=body)).json()[
        "event_id"
    ]
    r = await api.call(
        "PATCH",
        url(fakes, event_id),
        account_id=account,
        json={"recurrence": ["RRULE:FREQ=WEEKLY;COUNT=2", "EXDATE:20260309T080000Z"]},
    )
    assert r.status_code == 200, r.text
    assert body_sent(fakes, G, "PATCH") == {
        "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=2", "EXDATE:20260309T080000Z"],
        # Google merges a PATCH's start with the stored one: the all-day form is named null.
        "start": {
            "dateTime": "2026-03-02T09:00:00+01:00",
            "timeZone": "Europe/Berlin",
            "date": None,
        },
        "end": {"dateTime": "2026-03-02T10:00:00+01:00", "timeZone": "Europe/Berlin", "date": None},
    }


async def test_expanded_list_uses_single_events(api: Api, fakes: Fakes) -> None:
    account = await connect(api, fakes, G)
    body = {
        "title": "Daily",
        "recurrence": ["RRULE:FREQ=DAILY;COUNT=3"],
        **timed("2026-02-02T09:00:00Z", "2026-02-02T09:15:00Z"),
    }
    event_id = (await api.call("POST", url(fakes), account_id=account, json=body)).json()[
        "event_id"
    ]
    params = {
        "start": "2026-02-01T00:00:00Z",
        "end": "2026-02-10T00:00:00Z",
        "expand_recurring": "true",
        "limit": "2",
    }
    r = await api.call("GET", url(fakes), account_id=account, params=params)
    assert r.status_code == 200, r.text
    listing = fakes.google.requests.find("GET", "/calendar/v3/calendars/")[-1]
    assert listing.query == {
        "timeMin": "2026-02-01T00:00:00Z",
        "timeMax": "2026-02-10T00:00:00Z",
        "singleEvents": "true",
        "orderBy": "startTime",
        "maxResults": "2",
    }
    first = r.json()
    assert [e["id"] for e in first["data"]] == [
        f"{event_id}_20260202T090000Z",
        f"{event_id}_20260203T090000Z",
    ]
    params["cursor"] = first["next_cursor"]
    r = await api.call("GET", url(fakes), account_id=account, params=params)
    assert [e["id"] for e in r.json()["data"]] == [f"{event_id}_20260204T090000Z"]
    assert r.json()["next_cursor"] is None


async def test_occurrence_delete_uses_the_instance_id_and_notes_an_exdate(
    api: Api, fakes: Fakes
) -> None:
    account = await connect(api, fakes, G)
    body = {
        "title": "Daily",
        "recurrence": ["RRULE:FREQ=DAILY;COUNT=3"],
        **timed("2026-02-02T09:00:00Z", "2026-02-02T09:15:00Z"),
    }
    event_id = (await api.call("POST", url(fakes), account_id=account, json=body)).json()[
        "event_id"
    ]
    occurrence = f"{event_id}_20260203T090000Z"
    r = await api.call("DELETE", url(fakes, occurrence), account_id=account)
    assert r.status_code == 200, r.text
    deletes = [r.path for r in fakes.google.requests.find("DELETE")]
    assert deletes == [f"/calendar/v3/calendars/{fakes.google.email}/events/{occurrence}"]
    assert fakes.google.stored()[0]["recurrence"] == [
        "RRULE:FREQ=DAILY;COUNT=3",
        "EXDATE:20260203T090000Z",
    ]


async def test_unknown_conference_without_url_needs_calgate_meeting_service(
    api: Api, fakes: Fakes
) -> None:
    account = await connect(api, fakes, G)
    body = {
        "title": "Call",
        "conference": {"provider": "unknown"},
        **timed("2026-03-01T10:00:00Z", "2026-03-01T11:00:00Z"),
    }
    r = await api.call("POST", url(fakes), account_id=account, json=body)
    assert r.status_code == 501, r.text
    assert "meeting_url_template" in r.json()["detail"]
    assert fakes.google.inserts == 0
