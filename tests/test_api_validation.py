"""Every body field's validation: a 400 in the contract's shape naming the field, never a 422."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.conftest import Api

pytestmark = pytest.mark.anyio

BASE: dict[str, Any] = {
    "title": "t",
    "start": {"date_time": "2026-01-20T10:00:00", "time_zone": "Europe/Paris"},
    "end": {"date_time": "2026-01-20T11:00:00", "time_zone": "Europe/Paris"},
}


def with_(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(BASE)
    for key, value in changes.items():
        if value is ...:
            body.pop(key, None)
        else:
            body[key] = value
    return body


CASES: list[tuple[str, dict[str, Any], str]] = [
    ("unknown field", with_(colour="#FFFFFF"), "colour: unknown field"),
    ("missing title", with_(title=...), "title: field required"),
    ("missing start", with_(start=...), "start: field required"),
    ("title not string", with_(title=5), "title"),
    ("title too long", with_(title="x" * 1025), "title"),
    ("bad transparency", with_(transparency="busy"), "transparency"),
    ("bad visibility", with_(visibility="secret"), "visibility"),
    ("notify not bool", with_(notify="yes"), "notify"),
    ("hidden not bool", with_(is_attendees_list_hidden=1), "is_attendees_list_hidden"),
    ("attendees not list", with_(attendees={"email": "a@b.c"}), "attendees"),
    ("bad email", with_(attendees=[{"email": "not-an-email"}]), "attendees[0].email"),
    ("email with CRLF", with_(attendees=[{"email": "a@b.c\r\nBCC: x@y.z"}]), "attendees[0].email"),
    (
        "attendee unknown field",
        with_(attendees=[{"email": "a@b.c", "role": "x"}]),
        "attendees[0].role",
    ),
    (
        "duplicate attendee",
        with_(attendees=[{"email": "a@b.c"}, {"email": "A@b.c"}]),
        "attendees[1].email",
    ),
    (
        "too many attendees",
        with_(attendees=[{"email": f"p{i}@example.org"} for i in range(501)]),
        "attendees",
    ),
    ("bad colour", with_(color="blue"), "color"),
    ("short colour", with_(color="#FFF"), "color"),
    ("bad conference provider", with_(conference={"provider": "skype"}), "conference.provider"),
    (
        "conference url not http",
        with_(conference={"provider": "zoom", "url": "javascript:alert(1)"}),
        "conference.url",
    ),
    ("recurrence not list", with_(recurrence="RRULE:FREQ=DAILY"), "recurrence"),
    (
        "end before start",
        with_(end={"date_time": "2026-01-20T09:00:00", "time_zone": "Europe/Paris"}),
        "end: must be after start",
    ),
    ("end equals start", with_(end=BASE["start"]), "end: must be after start"),
    ("mixed kinds", with_(end={"date": "2026-01-21"}), "must both be all-day"),
    (
        "all-day end not exclusive",
        with_(start={"date": "2026-01-20"}, end={"date": "2026-01-20"}),
        "exclusive",
    ),
    (
        "unknown zone",
        with_(start={"date_time": "2026-01-20T10:00:00", "time_zone": "Mars/Olympus"}),
        "start.time_zone",
    ),
    ("bad date_time", with_(start={"date_time": "20 Jan 2026"}), "start.date_time"),
    ("bad date", with_(start={"date": "2026-13-01"}, end={"date": "2026-13-02"}), "start.date"),
    (
        "both date and date_time",
        with_(start={"date": "2026-01-20", "date_time": "2026-01-20T10:00:00"}),
        "start",
    ),
    ("neither", with_(start={"time_zone": "UTC"}), "start"),
    ("time unknown field", with_(start={"dateTime": "2026-01-20T10:00:00"}), "start.dateTime"),
    (
        "dst gap",
        with_(
            start={"date_time": "2026-03-29T02:30:00", "time_zone": "Europe/Paris"},
            end={"date_time": "2026-03-29T04:00:00", "time_zone": "Europe/Paris"},
        ),
        "does not exist",
    ),
    (
        "dst overlap",
        with_(
            start={"date_time": "2026-10-25T02:30:00", "time_zone": "Europe/Paris"},
            end={"date_time": "2026-10-25T04:00:00", "time_zone": "Europe/Paris"},
        ),
        "ambiguous",
    ),
]


@pytest.mark.parametrize(("name", "body", "needle"), CASES, ids=[c[0] for c in CASES])
async def test_create_validation(api: Api, name: str, body: dict[str, Any], needle: str) -> None:
    r = await api.call("POST", api.events_url(), json=body)
    assert r.status_code == 400, r.text
    err = r.json()
    assert err["type"] == "errors/invalid_parameters"
    assert err["status"] == 400
    assert err["title"] == "Invalid parameters"
    assert err["instance"] == api.events_url()
    assert needle in err["detail"]
    listed = await api.call("GET", api.events_url())
    assert listed.json()["data"] == []


async def test_dst_gap_detail_names_both_instants(api: Api) -> None:
    body = with_(
        start={"date_time": "2026-03-08T02:30:00", "time_zone": "America/New_York"},
        end={"date_time": "2026-03-08T04:00:00", "time_zone": "America/New_York"},
    )
    r = await api.call("POST", api.events_url(), json=body)
    assert r.status_code == 400
    assert "2026-03-08T01:30:00-05:00" in r.json()["detail"]
    assert "2026-03-08T03:30:00-04:00" in r.json()["detail"]


async def test_offset_settles_an_ambiguous_time(api: Api) -> None:
    body = with_(
        start={"date_time": "2026-10-25T02:30:00+01:00", "time_zone": "Europe/Paris"},
        end={"date_time": "2026-10-25T04:00:00+01:00", "time_zone": "Europe/Paris"},
    )
    event_id = await api.create(body)
    assert (await api.get(event_id))["start"]["date_time"] == "2026-10-25T02:30:00+01:00"


async def test_windows_zone_name_maps_to_iana(api: Api) -> None:
    body = with_(
        start={"date_time": "2026-01-20T10:00:00", "time_zone": "Romance Standard Time"},
        end={"date_time": "2026-01-20T11:00:00", "time_zone": "Romance Standard Time"},
    )
    event_id = await api.create(body)
    assert (await api.get(event_id))["start"] == {
        "date_time": "2026-01-20T10:00:00+01:00",
        "time_zone": "Europe/Paris",
    }


async def test_is_optional_synonym(api: Api) -> None:
    event_id = await api.create(with_(attendees=[{"email": "a@example.org", "is_optional": True}]))
    assert (await api.get(event_id))["attendees"][0]["is_optional"] is True


async def test_malformed_json(api: Api) -> None:
    r = await api.call(
        "POST",
        api.events_url(),
        content=b'{"title": ',
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 400
    assert r.json()["type"] == "errors/malformed_request"


async def test_body_must_be_an_object(api: Api) -> None:
    r = await api.call("POST", api.events_url(), json=["title"])
    assert r.status_code == 400
    assert r.json()["type"] == "errors/invalid_parameters"


async def test_missing_body(api: Api) -> None:
    r = await api.call("POST", api.events_url())
    assert r.status_code == 400
    assert "body" in r.json()["detail"]


async def test_over_large_body(api: Api) -> None:
    big = with_(body="x" * 1_100_000)
    r = await api.call("POST", api.events_url(), json=big)
    assert r.status_code == 400
    assert r.json()["type"] == "errors/content_too_large"


async def test_missing_account_id(api: Api) -> None:
    r = await api.client.get(api.events_url(), headers={"X-API-KEY": api.a.key})
    assert r.status_code == 400
    assert "account_id" in r.json()["detail"]


async def test_unknown_route_and_method(api: Api) -> None:
    r = await api.call("GET", "/api/v1/nothing")
    assert r.status_code == 404
    assert r.json()["type"] == "errors/resource_not_found"
    r = await api.call("PUT", api.events_url())
    assert r.status_code == 405
    assert r.json()["type"] == "errors/method_not_allowed"


async def test_patch_validation_uses_same_rules(api: Api) -> None:
    event_id = await api.create(copy.deepcopy(BASE))
    url = f"{api.events_url()}/{event_id}"
    for body, needle in (
        ({"title": None}, "title"),
        ({"colour": "x"}, "colour"),
        ({"transparency": "busy"}, "transparency"),
        ({"start": {"date": "2026-01-20"}}, "must both be all-day"),
    ):
        r = await api.call("PATCH", url, json=body)
        assert r.status_code == 400, body
        assert needle in r.json()["detail"]
    assert (await api.get(event_id))["version"] == "1"
