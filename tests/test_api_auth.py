"""Auth and tenant isolation on every route."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api

pytestmark = pytest.mark.anyio

EVENT = {
    "title": "secret",
    "start": {"date_time": "2026-01-20T10:00:00Z"},
    "end": {"date_time": "2026-01-20T11:00:00Z"},
}


async def test_missing_key(api: Api) -> None:
    r = await api.client.get("/api/v1/calendars", params={"account_id": api.a.account_id})
    assert r.status_code == 401
    assert r.json()["type"] == "errors/missing_credentials"


async def test_wrong_key(api: Api) -> None:
    r = await api.client.get(
        "/api/v1/calendars",
        params={"account_id": api.a.account_id},
        headers={"X-API-KEY": "cg_nope"},
    )
    assert r.status_code == 401
    assert r.json()["type"] == "errors/invalid_credentials"


async def test_revoked_key(api: Api) -> None:
    from calgate.store import keys

    info = await api.runtime.db.read(lambda c: keys.authenticate(c, api.b.key))
    assert info is not None
    assert await api.runtime.db.write(lambda c: keys.revoke_key(c, info.id))
    r = await api.call("GET", "/api/v1/calendars", tenant=api.b)
    assert r.status_code == 401
    assert r.json()["type"] == "errors/invalid_credentials"


def _routes(api: Api, event_id: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    cal, acc = api.a.calendar_id, api.a.account_id
    return [
        ("GET", "/api/v1/calendars", None),
        ("GET", f"/api/v1/calendars/{cal}", None),
        ("DELETE", f"/api/v1/calendars/{cal}", None),
        ("POST", "/api/v1/calendars", {"name": "x"}),
        ("GET", f"/api/v1/calendars/{cal}/events", None),
        ("POST", f"/api/v1/calendars/{cal}/events", EVENT),
        ("GET", f"/api/v1/calendars/{cal}/events/{event_id}", None),
        ("PATCH", f"/api/v1/calendars/{cal}/events/{event_id}", {"title": "stolen"}),
        ("DELETE", f"/api/v1/calendars/{cal}/events/{event_id}", None),
        ("GET", f"/api/v1/accounts/{acc}", None),
        ("DELETE", f"/api/v1/accounts/{acc}", None),
    ]


async def test_other_tenant_sees_nothing_and_changes_nothing(api: Api) -> None:
    event_id = await api.create(EVENT)
    for method, url, body in _routes(api, event_id):
        # Tenant B names tenant A's account (in the query, or in the path of the account
        # routes, which take nothing in the query): 404, as if it did not exist.
        named = api.a.account_id if "/calendars" in url else None
        r = await api.call(method, url, tenant=api.b, account_id=named, json=body)
        assert r.status_code == 404, (method, url, r.text)
        assert r.json()["type"] == "errors/resource_not_found"
        # Tenant B uses its own account with tenant A's calendar / event ids: 404 too.
        if "/calendars/" in url:
            r = await api.call(method, url, tenant=api.b, json=body)
            assert r.status_code == 404, (method, url, r.text)
    event = await api.get(event_id)
    assert event["title"] == "secret"
    assert event["version"] == "1"
    accounts = await api.call("GET", "/api/v1/accounts", tenant=api.b)
    assert [a["id"] for a in accounts.json()["items"]] == [api.b.account_id]


async def test_account_not_ok_answers_its_401(api: Api) -> None:
    record = await api.runtime.accounts.record(api.a.id, api.a.account_id)
    await api.runtime.accounts.set_status(record, "CREDENTIALS")
    r = await api.call("POST", api.events_url(), json=EVENT)
    assert r.status_code == 401
    assert r.json()["type"] == "errors/expired_credentials"
    await api.runtime.accounts.set_status(record, "STOPPED")
    r = await api.call("GET", api.events_url())
    assert r.json()["type"] == "errors/disconnected_account"
    from calgate.store import events

    assert await api.runtime.db.read(lambda c: events.count_events(c, api.a.calendar_id)) == 0
