"""What Unipile v1 clients send, through the real app (issue 11): ``account_id`` in bodies,
echoed ``calendar_id``/``is_all_day``, ``offset`` paging and ``event_type`` filtering; true
typos still a 400 naming them."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api

pytestmark = pytest.mark.anyio

BODY: dict[str, Any] = {
    "title": "Sync",
    "start": {"date_time": "2026-03-02T10:00:00Z"},
    "end": {"date_time": "2026-03-02T11:00:00Z"},
}


async def post(api: Api, body: dict[str, Any], **params: str) -> Any:
    """POST an event with exactly ``params`` in the query string (no account_id added)."""
    return await api.client.post(
        api.events_url(), params=params, json=body, headers={"X-API-KEY": api.a.key}
    )


def refused(r: Any, field: str) -> None:
    assert r.status_code == 400, r.text
    assert r.json()["type"] == "errors/invalid_parameters"
    assert r.json()["detail"].startswith(field), r.text


async def test_account_id_in_the_body_stands_in_for_the_query(api: Api) -> None:
    r = await post(api, {**BODY, "account_id": api.a.account_id})
    assert r.status_code == 200, r.text
    assert (await api.get(r.json()["event_id"]))["title"] == "Sync"


async def test_account_id_in_both_places_must_agree(api: Api) -> None:
    r = await post(api, {**BODY, "account_id": api.a.account_id}, account_id=api.a.account_id)
    assert r.status_code == 200, r.text
    r = await post(api, {**BODY, "account_id": api.b.account_id}, account_id=api.a.account_id)
    refused(r, "account_id")
    r = await post(api, BODY)
    refused(r, "account_id")


async def test_another_tenants_account_in_the_body_is_not_found(api: Api) -> None:
    r = await post(api, {**BODY, "account_id": api.b.account_id})
    assert r.status_code == 404, r.text


async def test_patch_takes_account_id_in_the_body(api: Api) -> None:
    event_id = await api.create(BODY)
    url = f"{api.events_url()}/{event_id}"
    headers = {"X-API-KEY": api.a.key}
    body = {"account_id": api.a.account_id, "title": "Renamed"}
    r = await api.client.patch(url, json=body, headers=headers)
    assert r.status_code == 200, r.text
    assert (await api.get(event_id))["title"] == "Renamed"
    r = await api.client.patch(
        url,
        json={"account_id": api.b.account_id, "title": "x"},
        params={"account_id": api.a.account_id},
        headers=headers,
    )
    refused(r, "account_id")
    assert (await api.get(event_id))["title"] == "Renamed"


async def test_echoed_calendar_id_and_is_all_day_are_checked(api: Api) -> None:
    r = await api.call("POST", api.events_url(), json={**BODY, "calendar_id": api.a.calendar_id})
    assert r.status_code == 200, r.text
    r = await api.call("POST", api.events_url(), json={**BODY, "calendar_id": "other"})
    refused(r, "calendar_id")
    r = await api.call("POST", api.events_url(), json={**BODY, "is_all_day": False})
    assert r.status_code == 200, r.text
    r = await api.call("POST", api.events_url(), json={**BODY, "is_all_day": True})
    refused(r, "is_all_day")
    day = {"start": {"date": "2026-03-02"}, "end": {"date": "2026-03-03"}}
    r = await api.call("POST", api.events_url(), json={"title": "Off", **day, "is_all_day": True})
    assert r.status_code == 200, r.text
    event_id = r.json()["event_id"]
    r = await api.call("PATCH", f"{api.events_url()}/{event_id}", json={"is_all_day": False})
    refused(r, "is_all_day")


@pytest.mark.parametrize("typo", ["titel", "description", "organiser", "accountId"])
async def test_true_typos_are_still_refused_by_name(api: Api, typo: str) -> None:
    r = await api.call("POST", api.events_url(), json={**BODY, typo: "x"})
    refused(r, f"{typo}: unknown field")


async def five(api: Api) -> list[str]:
    ids = []
    for day in range(1, 6):
        body = {
            "title": f"E{day}",
            "start": {"date_time": f"2026-04-0{day}T09:00:00Z"},
            "end": {"date_time": f"2026-04-0{day}T10:00:00Z"},
        }
        ids.append(await api.create(body))
    return ids


async def titles(api: Api, **params: str) -> tuple[list[str], str | None]:
    r = await api.call("GET", api.events_url(), params=params)
    assert r.status_code == 200, r.text
    return [e["title"] for e in r.json()["data"]], r.json()["next_cursor"]


async def test_offset_pages_events(api: Api) -> None:
    await five(api)
    assert (await titles(api, limit="2", offset="2"))[0] == ["E3", "E4"]
    found, cursor = await titles(api, limit="2", offset="4")
    assert (found, cursor) == (["E5"], None)
    assert await titles(api, limit="2", offset="5") == ([], None)
    assert await titles(api, offset="0") == (["E1", "E2", "E3", "E4", "E5"], None)
    found, cursor = await titles(api, limit="2", offset="1")
    assert found == ["E2", "E3"] and cursor
    assert (await titles(api, limit="2", cursor=cursor))[0] == ["E4", "E5"]


async def test_offset_pages_occurrences(api: Api) -> None:
    series = {**BODY, "recurrence": ["RRULE:FREQ=DAILY;COUNT=6"]}
    await api.create(series)
    window = {"start": "2026-03-01T00:00:00Z", "end": "2026-03-31T00:00:00Z"}
    r = await api.call(
        "GET",
        api.events_url(),
        params={**window, "expand_recurring": "true", "limit": "2", "offset": "3"},
    )
    assert r.status_code == 200, r.text
    starts = [e["start"]["date_time"][:10] for e in r.json()["data"]]
    assert starts == ["2026-03-05", "2026-03-06"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"offset": "-1"}, "offset"),
        ({"offset": "two"}, "offset"),
        ({"offset": "10001"}, "offset"),
        ({"offset": "1", "cursor": "x"}, "offset"),
        ({"event_type": "meeting"}, "event_type"),
        ({"event_type": "default,ooo"}, "event_type"),
    ],
)
async def test_bad_list_parameters_are_refused_by_name(
    api: Api, params: dict[str, str], field: str
) -> None:
    r = await api.call("GET", api.events_url(), params=params)
    refused(r, field)


async def test_event_type_filters(api: Api) -> None:
    await five(api)
    assert len((await titles(api, event_type="default"))[0]) == 5
    assert len((await titles(api, event_type="outOfOffice, default"))[0]) == 5
    assert await titles(api, event_type="outOfOffice") == ([], None)
    assert await titles(api, event_type="birthday,focusTime") == ([], None)
    r = await api.call("GET", api.events_url("nope"), params={"event_type": "outOfOffice"})
    assert r.status_code == 404, r.text
    r = await api.call("GET", api.events_url())
    assert {e["event_type"] for e in r.json()["data"]} == {"default"}


async def test_offset_pages_calendars(api: Api) -> None:
    for name in ("B", "C"):
        r = await api.call("POST", "/api/v1/calendars", json={"name": name})
        assert r.status_code == 201, r.text
    r = await api.call("GET", "/api/v1/calendars", params={"limit": "5"})
    every = [c["id"] for c in r.json()["data"]]
    assert len(every) == 3
    r = await api.call("GET", "/api/v1/calendars", params={"limit": "1", "offset": "1"})
    assert [c["id"] for c in r.json()["data"]] == every[1:2]
    assert r.json()["next_cursor"]
    r = await api.call("GET", "/api/v1/calendars", params={"offset": "3"})
    assert r.json()["data"] == [] and r.json()["next_cursor"] is None
    r = await api.call("GET", "/api/v1/calendars", params={"offset": "1", "cursor": "x"})
    refused(r, "offset")


async def test_offset_pages_accounts(api: Api) -> None:
    for name in ("Two", "Three"):
        r = await api.call("POST", "/api/v1/accounts", json={"provider": "LOCAL", "name": name})
        assert r.status_code == 201, r.text
    r = await api.call("GET", "/api/v1/accounts")
    every = [a["id"] for a in r.json()["items"]]
    assert len(every) == 3
    r = await api.call("GET", "/api/v1/accounts", params={"limit": "1", "offset": "2"})
    assert [a["id"] for a in r.json()["items"]] == every[2:]
    assert r.json()["cursor"] is None
    r = await api.call("GET", "/api/v1/accounts", params={"limit": "1", "offset": "1"})
    assert [a["id"] for a in r.json()["items"]] == every[1:2]
    r = await api.call("GET", "/api/v1/accounts", params={"offset": "x"})
    refused(r, "offset")


async def test_every_event_has_an_organizer_object(api: Api) -> None:
    event_id = await api.create(BODY)
    organizer = (await api.get(event_id))["organizer"]
    assert set(organizer) == {"email", "display_name"}
    r = await api.call("GET", api.events_url())
    assert all(isinstance(e["organizer"], dict) for e in r.json()["data"])


@pytest.mark.parametrize(
    ("url", "typo"),
    [
        ("/api/v1/calendars/{cal}/events", "ofset"),
        ("/api/v1/calendars/{cal}/events", "limt"),
        ("/api/v1/calendars/{cal}/events/x", "expand"),
        ("/api/v1/calendars", "page"),
        ("/api/v1/calendars/{cal}", "fields"),
    ],
)
async def test_query_typos_are_refused_by_name(api: Api, url: str, typo: str) -> None:
    url = url.format(cal=api.a.calendar_id)
    r = await api.call("GET", url, params={typo: "2"})
    refused(r, f"{typo}: unknown query parameter")
    r = await api.client.get(url, params={typo: "2"})  # without a key: 401 first
    assert r.status_code == 401, r.text


async def test_delete_takes_account_id_in_a_body(api: Api) -> None:
    headers = {"X-API-KEY": api.a.key}
    event_id = await api.create(BODY)
    url = f"{api.events_url()}/{event_id}"
    other = {"account_id": api.b.account_id}
    r = await api.client.request(
        "DELETE", url, json=other, headers=headers, params={"account_id": api.a.account_id}
    )
    refused(r, "account_id")
    r = await api.client.request("DELETE", url, json={"account": "x"}, headers=headers)
    refused(r, "account: unknown field")
    r = await api.client.request("DELETE", url, headers=headers)
    refused(r, "account_id")
    r = await api.client.request(
        "DELETE", url, json={"account_id": api.a.account_id}, headers=headers
    )
    assert r.status_code == 200, r.text
    assert (await api.call("GET", url)).status_code == 404
    r = await api.call("POST", "/api/v1/calendars", json={"name": "Spare"})
    spare = f"/api/v1/calendars/{r.json()['calendar_id']}"
    r = await api.client.request(
        "DELETE", spare, json={"account_id": api.a.account_id}, headers=headers
    )
    assert r.status_code == 200 and r.json() == {"object": "CalendarDeleted"}, r.text
