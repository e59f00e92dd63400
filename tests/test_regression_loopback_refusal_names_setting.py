"""A webhook or CalDAV URL on loopback is refused with the name of the setting that allows it
(development and tests), so an operator knows what to change."""

from __future__ import annotations

import pytest

from tests.conftest import Api

pytestmark = pytest.mark.anyio

SETTING = "CALGATE_ALLOW_LOOPBACK_URLS=true"


async def test_webhook_on_loopback_names_the_setting(api: Api) -> None:
    r = await api.client.post(
        "/api/v1/webhooks",
        headers={"X-API-KEY": api.a.key},
        json={"source": "calendar_event", "request_url": "http://127.0.0.1:9/hook"},
    )
    assert r.status_code == 400, r.text
    assert r.json()["type"] == "errors/invalid_parameters"
    assert r.json()["detail"].startswith("request_url: '127.0.0.1' is a loopback")
    assert SETTING in r.json()["detail"]


async def test_caldav_server_on_loopback_names_the_setting(api: Api) -> None:
    r = await api.client.post(
        "/api/v1/accounts",
        headers={"X-API-KEY": api.a.key},
        json={"provider": "CALDAV", "url": "http://localhost:9/", "username": "a", "password": "b"},
    )
    assert r.status_code == 400, r.text
    assert r.json()["detail"].startswith("url: 'localhost' is a loopback")
    assert SETTING in r.json()["detail"]
