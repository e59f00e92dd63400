"""The event routes end to end on the built-in store: create, read back, list, patch, delete."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.conftest import SEED_BODY, Api

pytestmark = pytest.mark.anyio


def timed(start: str, end: str, tz: str = "UTC") -> dict[str, Any]:
    return {
        "start": {"date_time": start, "time_zone": tz},
        "end": {"date_time": end, "time_zone": tz},
    }


async def test_seed_request_creates_and_reads_back_every_field(api: Api) -> None:
    r = await api.call("POST", api.events_url(), json=SEED_BODY)
    assert r.status_code == 200
    body = r.json()
    assert body["object"] == "CalendarEventCreated"
    assert set(body) == {"object", "event_id"}
    event = await api.get(body["event_id"])
    assert event["object"] == "CalendarEvent"
    assert event["id"] == body["event_id"]
    assert event["calendar_id"] == api.a.calendar_id
    assert event["master_event_id"] == ""
    assert event["title"] == "Quarterly review"
    assert event["body"] == "Numbers and plans"
    assert event["location"] == "Room 4"
    assert event["transparency"] == "opaque"
    assert event["visibility"] == "private"
    assert event["conference"] == {
        "provider": "zoom",
        "url": "https://zoom.example.org/j/123",
        "conference_id": "123",
    }
    assert event["is_attendees_list_hidden"] is True
    assert [
        (a["email"], a["display_name"], a["is_optional"], a["type"]) for a in event["attendees"]
    ] == [
        ("ada@example.org", "Ada", False, "required"),
        ("bob@example.org", "", True, "optional"),
    ]
    assert all(a["response_status"] == "noreply" for a in event["attendees"])
    assert event["recurrence"] == ["RRULE:FREQ=WEEKLY;BYDAY=TU;COUNT=4"]
    assert event["start"] == {"date_time": "2026-01-20T14:30:00+01:00", "time_zone": "Europe/Paris"}
    assert event["end"] == {"date_time": "2026-01-20T15:30:00+01:00", "time_zone": "Europe/Paris"}
    assert event["color"] == "#039BE5"
    assert event["guests_can_modify"] is True
    assert event["is_all_day"] is False
    assert event["is_cancelled"] is False
    assert event["ical_uid"]
    assert event["created_at"].endswith("Z") and len(event["created_at"]) == 24
    assert event["version"] == "1"


async def test_minimal_create_gets_defaults(api: Api) -> None:
    event_id = await api.create(
        {"title": "x", **timed("2026-03-01T10:00:00Z", "2026-03-01T11:00:00Z")}
    )
    event = await api.get(event_id)
    assert event["attendees"] == []
    assert event["recurrence"] == []
    assert event["transparency"] == "opaque"
    assert event["visibility"] == "default"
    assert event["conference"] is None
    assert event["color"] is None
    assert event["start"] == {"date_time": "2026-03-01T10:00:00+00:00", "time_zone": "UTC"}


async def test_utc_time_is_returned_in_its_zone(api: Api) -> None:
    event_id = await api.create(
        {
            "title": "x",
            **timed("2025-05-28T10:00:00.000Z", "2025-05-28T11:00:00.000Z", "Europe/Paris"),
        }
    )
    event = await api.get(event_id)
    assert event["start"] == {"date_time": "2025-05-28T12:00:00+02:00", "time_zone": "Europe/Paris"}


async def test_all_day_event(api: Api) -> None:
    event_id = await api.create(
        {"title": "Holiday", "start": {"date": "2026-07-14"}, "end": {"date": "2026-07-15"}}
    )
    event = await api.get(event_id)
    assert event["is_all_day"] is True
    assert event["start"] == {"date": "2026-07-14"}
    assert event["end"] == {"date": "2026-07-15"}


async def test_get_unknown_event_is_404(api: Api) -> None:
    r = await api.call("GET", f"{api.events_url()}/nope")
    assert r.status_code == 404
    assert r.json()["type"] == "errors/resource_not_found"


async def test_unknown_calendar_is_404(api: Api) -> None:
    r = await api.call(
        "POST",
        api.events_url("missing"),
        json={"title": "x", **timed("2026-01-01T10:00:00Z", "2026-01-01T11:00:00Z")},
    )
    assert r.status_code == 404
    assert r.json()["type"] == "errors/resource_not_found"
    assert "calendar" in r.json()["detail"]


async def test_patch_changes_only_given_fields(api: Api) -> None:
    event_id = await api.create(copy.deepcopy(SEED_BODY))
    r = await api.call(
        "PATCH", f"{api.events_url()}/{event_id}", json={"title": "Renamed", "location": None}
    )
    assert r.status_code == 200
    assert r.json() == {"object": "CalendarEventUpdated"}
    event = await api.get(event_id)
    assert event["title"] == "Renamed"
    assert event["location"] == ""
    assert event["body"] == "Numbers and plans"
    assert event["version"] == "2"
    assert event["updated_at"] >= event["created_at"]


async def test_patch_end_before_start_is_400_and_changes_nothing(api: Api) -> None:
    event_id = await api.create(
        {"title": "x", **timed("2026-01-01T10:00:00Z", "2026-01-01T11:00:00Z")}
    )
    r = await api.call(
        "PATCH",
        f"{api.events_url()}/{event_id}",
        json={"end": {"date_time": "2026-01-01T09:00:00Z"}},
    )
    assert r.status_code == 400
    assert r.json()["type"] == "errors/invalid_parameters"
    assert "end" in r.json()["detail"]
    assert (await api.get(event_id))["version"] == "1"


async def test_patch_with_stale_if_match_is_409(api: Api) -> None:
    event_id = await api.create(
        {"title": "x", **timed("2026-01-01T10:00:00Z", "2026-01-01T11:00:00Z")}
    )
    url = f"{api.events_url()}/{event_id}"
    ok = await api.call("PATCH", url, json={"title": "a"}, headers={"If-Match": "1"})
    assert ok.status_code == 200
    stale = await api.call("PATCH", url, json={"title": "b"}, headers={"If-Match": "1"})
    assert stale.status_code == 409
    assert stale.json()["type"] == "errors/conflict"
    assert (await api.get(event_id))["title"] == "a"


async def test_empty_patch_is_400(api: Api) -> None:
    event_id = await api.create(
        {"title": "x", **timed("2026-01-01T10:00:00Z", "2026-01-01T11:00:00Z")}
    )
    r = await api.call("PATCH", f"{api.events_url()}/{event_id}", json={})
    assert r.status_code == 400


async def test_delete(api: Api) -> None:
    event_id = await api.create(
        {"title": "x", **timed("2026-01-01T10:00:00Z", "2026-01-01T11:00:00Z")}
    )
    r = await api.call("DELETE", f"{api.events_url()}/{event_id}")
    assert r.status_code == 200
    assert r.json() == {"object": "CalendarEventDeleted"}
    r = await api.call("GET", f"{api.events_url()}/{event_id}")
    assert r.status_code == 404
    again = await api.call("DELETE", f"{api.events_url()}/{event_id}")
    assert again.status_code == 404


async def test_list_window_order_and_pagination(api: Api) -> None:
    ids = []
    for day in (5, 1, 3, 2, 4):
        ids.append(
            (
                day,
                await api.create(
                    {
                        "title": f"d{day}",
                        **timed(f"2026-02-0{day}T10:00:00Z", f"2026-02-0{day}T11:00:00Z"),
                    }
                ),
            )
        )
    r = await api.call(
        "GET",
        api.events_url(),
        params={"start": "2026-02-02T00:00:00Z", "end": "2026-02-05T00:00:00Z", "limit": "2"},
    )
    assert r.status_code == 200
    page = r.json()
    assert [e["title"] for e in page["data"]] == ["d2", "d3"]
    assert page["next_cursor"]
    r = await api.call(
        "GET",
        api.events_url(),
        params={
            "start": "2026-02-02T00:00:00Z",
            "end": "2026-02-05T00:00:00Z",
            "limit": "2",
            "cursor": page["next_cursor"],
        },
    )
    page2 = r.json()
    assert [e["title"] for e in page2["data"]] == ["d4"]
    assert page2["next_cursor"] is None


async def test_window_includes_event_that_overlaps_the_start(api: Api) -> None:
    await api.create({"title": "long", **timed("2026-02-01T22:00:00Z", "2026-02-02T02:00:00Z")})
    r = await api.call(
        "GET",
        api.events_url(),
        params={"start": "2026-02-02T00:00:00Z", "end": "2026-02-03T00:00:00Z"},
    )
    assert [e["title"] for e in r.json()["data"]] == ["long"]
    r = await api.call("GET", api.events_url(), params={"start": "2026-02-02T02:00:00Z"})
    assert r.json()["data"] == []


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"title": "STAND"}, ["Standup"]),
        ({"location": "room 1"}, ["Standup"]),
        ({"description": "budget"}, ["Review"]),
        ({"busy": "false"}, ["Focus"]),
        ({"busy": "true"}, ["Standup", "Review"]),
        ({"attendees": "ada@example.org"}, ["Standup", "Review"]),
        ({"attendees": "zed@example.org,bob@example.org"}, ["Review"]),
        ({"is_cancelled": "false"}, ["Standup", "Review", "Focus"]),
        ({"title": "100%"}, []),
    ],
)
async def test_list_filters(api: Api, params: dict[str, str], expected: list[str]) -> None:
    await api.create(
        {
            "title": "Standup",
            "location": "Room 1",
            "attendees": [{"email": "ada@example.org"}],
            **timed("2026-04-01T09:00:00Z", "2026-04-01T09:15:00Z"),
        }
    )
    await api.create(
        {
            "title": "Review",
            "body": "Budget 2026",
            "attendees": [{"email": "Ada@example.org"}, {"email": "bob@example.org"}],
            **timed("2026-04-01T10:00:00Z", "2026-04-01T11:00:00Z"),
        }
    )
    await api.create(
        {
            "title": "Focus",
            "transparency": "transparent",
            **timed("2026-04-01T12:00:00Z", "2026-04-01T13:00:00Z"),
        }
    )
    r = await api.call("GET", api.events_url(), params=params)
    assert r.status_code == 200, r.text
    assert [e["title"] for e in r.json()["data"]] == expected


async def test_list_by_ical_uid_and_updated_after(api: Api) -> None:
    first = await api.create(
        {"title": "a", **timed("2026-04-01T09:00:00Z", "2026-04-01T10:00:00Z")}
    )
    uid = (await api.get(first))["ical_uid"]
    r = await api.call("GET", api.events_url(), params={"ical_uid": uid})
    assert [e["id"] for e in r.json()["data"]] == [first]
    stamp = (await api.get(first))["updated_at"]
    second = await api.create(
        {"title": "b", **timed("2026-04-02T09:00:00Z", "2026-04-02T10:00:00Z")}
    )
    r = await api.call("GET", api.events_url(), params={"updated_after": stamp})
    assert [e["id"] for e in r.json()["data"]] == [second]


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"start": "yesterday"}, "start"),
        ({"limit": "0"}, "limit"),
        ({"limit": "x"}, "limit"),
        ({"expand_recurring": "maybe"}, "expand_recurring"),
        ({"cursor": "!!!"}, "cursor"),
        ({"start": "2026-01-02T00:00:00Z", "end": "2026-01-01T00:00:00Z"}, "end"),
    ],
)
async def test_bad_list_parameters(api: Api, params: dict[str, str], needle: str) -> None:
    r = await api.call("GET", api.events_url(), params=params)
    assert r.status_code == 400
    assert r.json()["type"] == "errors/invalid_parameters"
    assert needle in r.json()["detail"]
