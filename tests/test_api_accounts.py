"""Account and calendar routes."""

from __future__ import annotations

import pytest

from tests.conftest import Api

pytestmark = pytest.mark.anyio


async def test_list_and_get_accounts(api: Api) -> None:
    r = await api.call("GET", "/api/v1/accounts")
    assert r.status_code == 200
    body = r.json()
    assert body["object"] == "AccountList"
    assert body["cursor"] is None
    [account] = body["items"]
    assert account["object"] == "Account"
    assert account["type"] == "LOCAL"
    assert account["sources"] == [{"id": f"{api.a.account_id}_CALENDAR", "status": "OK"}]
    r = await api.call("GET", f"/api/v1/accounts/{api.a.account_id}")
    assert r.json()["id"] == api.a.account_id


async def test_create_local_account_and_use_it(api: Api) -> None:
    r = await api.call(
        "POST",
        "/api/v1/accounts",
        json={"provider": "LOCAL", "name": "Team", "timezone": "Europe/Paris"},
    )
    assert r.status_code == 201
    assert r.json()["object"] == "AccountCreated"
    account_id = r.json()["account_id"]
    r = await api.call("GET", "/api/v1/calendars", account_id=account_id)
    [calendar] = r.json()["data"]
    assert calendar["is_default"] is True
    assert calendar["timezone"] == "Europe/Paris"
    assert calendar["name"] == "Team"


async def test_create_account_validation(api: Api) -> None:
    for body, needle in (
        ({"provider": "MYSPACE"}, "provider"),
        ({"provider": "LOCAL", "colour": "x"}, "colour"),
        ({"provider": "LOCAL", "timezone": "Nowhere/City"}, "timezone"),
        ({}, "provider"),
    ):
        r = await api.call("POST", "/api/v1/accounts", json=body)
        assert r.status_code == 400, body
        assert needle in r.json()["detail"]


async def test_delete_account_removes_its_calendars(api: Api) -> None:
    r = await api.call("POST", "/api/v1/accounts", json={"provider": "LOCAL", "name": "Tmp"})
    account_id = r.json()["account_id"]
    r = await api.call("DELETE", f"/api/v1/accounts/{account_id}")
    assert r.json() == {"object": "AccountDeleted"}
    r = await api.call("GET", "/api/v1/calendars", account_id=account_id)
    assert r.status_code == 404


async def test_calendars_list_get_create_delete(api: Api) -> None:
    r = await api.call("GET", "/api/v1/calendars")
    assert r.status_code == 200
    page = r.json()
    assert page["next_cursor"] is None
    [default] = page["data"]
    assert default["object"] == "Calendar"
    assert default["access_role"] == "owner"
    r = await api.call(
        "POST",
        "/api/v1/calendars",
        json={"name": "Side", "timezone": "Asia/Kolkata", "color": "#ff0000"},
    )
    assert r.status_code == 201
    cal_id = r.json()["calendar_id"]
    r = await api.call("GET", f"/api/v1/calendars/{cal_id}")
    assert r.json()["timezone"] == "Asia/Kolkata"
    assert r.json()["background_color"] == "#FF0000"
    r = await api.call("GET", "/api/v1/calendars", params={"limit": "1"})
    assert len(r.json()["data"]) == 1
    r2 = await api.call(
        "GET", "/api/v1/calendars", params={"limit": "1", "cursor": r.json()["next_cursor"]}
    )
    assert [c["id"] for c in r2.json()["data"]] == [cal_id]
    r = await api.call("DELETE", f"/api/v1/calendars/{cal_id}")
    assert r.json() == {"object": "CalendarDeleted"}
    r = await api.call("DELETE", f"/api/v1/calendars/{default['id']}")
    assert r.status_code == 400


async def test_openapi_lists_errors_and_no_422(api: Api) -> None:
    r = await api.client.get("/openapi.json")
    spec = r.json()
    post = spec["paths"]["/api/v1/calendars/{calendar_id}/events"]["post"]
    assert "errors/missing_credentials" in post["responses"]["401"]["description"]
    assert "errors/request_timeout" in post["responses"]["504"]["description"]
    assert "422" not in post["responses"]
