"""The webhooks API: create (with a secret shown once), list, get, delete, validation in the
contract's error shape, and isolation between tenants."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from calgate.settings import Settings
from tests.conftest import Api

pytestmark = pytest.mark.anyio

URL = "/api/v1/webhooks"
HOOK: dict[str, Any] = {
    "source": "calendar_event",
    "request_url": "https://hooks.example.org/calgate?x=1",
    "name": "sync",
    "events": ["calendar_event_created", "calendar_event_deleted"],
    "headers": [{"key": "Authorization", "value": "Bearer abc"}],
}


async def create(api: Api, body: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    r = await api.call("POST", URL, json=body, **kwargs)
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


async def test_create_get_list_delete(api: Api) -> None:
    created = await create(api, {**HOOK, "account_ids": [api.a.account_id]})
    assert set(created) == {"object", "webhook_id", "secret"}
    assert created["object"] == "WebhookCreated"
    assert created["secret"].startswith("whsec_") and len(created["secret"]) > 40
    hook_id = created["webhook_id"]

    r = await api.call("GET", f"{URL}/{hook_id}")
    assert r.status_code == 200
    hook = r.json()
    assert hook == {
        "object": "Webhook",
        "id": hook_id,
        "name": "sync",
        "source": "calendar_event",
        "request_url": "https://hooks.example.org/calgate?x=1",
        "format": "json",
        "events": ["calendar_event_created", "calendar_event_deleted"],
        "account_ids": [api.a.account_id],
        "headers": [{"key": "Authorization", "value": "Bearer abc"}],
        "enabled": True,
        "created_at": hook["created_at"],
    }
    assert "secret" not in r.text and created["secret"] not in r.text

    r = await api.call("GET", URL)
    assert r.status_code == 200
    listed = r.json()
    assert listed["object"] == "WebhookList"
    assert listed["items"] == [hook]
    assert listed["cursor"] is None

    r = await api.call("DELETE", f"{URL}/{hook_id}")
    assert (r.status_code, r.json()) == (200, {"object": "WebhookDeleted"})
    r = await api.call("GET", f"{URL}/{hook_id}")
    assert r.status_code == 404
    assert r.json()["type"] == "errors/resource_not_found"
    assert (await api.call("DELETE", f"{URL}/{hook_id}")).status_code == 404


async def test_defaults_every_event_and_account(api: Api) -> None:
    created = await create(
        api, {"source": "calendar_event", "request_url": "https://hooks.example.org/"}
    )
    hook = (await api.call("GET", f"{URL}/{created['webhook_id']}")).json()
    assert hook["events"] == [
        "calendar_event_created",
        "calendar_event_updated",
        "calendar_event_deleted",
    ]
    assert (hook["account_ids"], hook["headers"], hook["name"]) == ([], [], "")


async def test_list_pages(api: Api) -> None:
    ids = sorted(
        [(await create(api, HOOK))["webhook_id"] for _ in range(5)],
    )
    r = await api.call("GET", URL, params={"limit": "2"})
    page = r.json()
    assert [h["id"] for h in page["items"]] == ids[:2]
    r = await api.call("GET", URL, params={"limit": "2", "cursor": page["cursor"]})
    assert [h["id"] for h in r.json()["items"]] == ids[2:4]
    r = await api.call("GET", URL, params={"limit": "2", "cursor": r.json()["cursor"]})
    assert [h["id"] for h in r.json()["items"]] == ids[4:]
    assert r.json()["cursor"] is None


async def test_tenants_are_isolated(api: Api) -> None:
    mine = (await create(api, HOOK))["webhook_id"]
    theirs = (await create(api, HOOK, tenant=api.b))["webhook_id"]
    assert [h["id"] for h in (await api.call("GET", URL)).json()["items"]] == [mine]
    assert [h["id"] for h in (await api.call("GET", URL, tenant=api.b)).json()["items"]] == [theirs]
    for method in ("GET", "DELETE"):
        r = await api.call(method, f"{URL}/{theirs}")
        assert r.status_code == 404, r.text
    r = await api.call("GET", f"{URL}/{theirs}/deliveries")
    assert r.status_code == 404
    assert (await api.call("GET", f"{URL}/{theirs}", tenant=api.b)).status_code == 200


async def test_account_ids_must_be_the_tenants(api: Api) -> None:
    r = await api.call("POST", URL, json={**HOOK, "account_ids": [api.b.account_id]})
    assert r.status_code == 400
    assert r.json()["detail"] == f"account_ids[0]: account {api.b.account_id!r} not found"
    r = await api.call("POST", URL, json={**HOOK, "account_ids": ["nope"]})
    assert r.status_code == 400


async def test_auth_is_required(api: Api) -> None:
    r = await api.client.get(URL)
    assert r.status_code == 401
    assert r.json()["type"] == "errors/missing_credentials"


BAD: list[tuple[dict[str, Any], int, str]] = [
    ({"request_url": "ftp://hooks.example.org/"}, 400, "request_url: the scheme must be http"),
    ({"request_url": "javascript:alert(1)"}, 400, "request_url: the scheme must be http"),
    ({"request_url": "file:///etc/passwd"}, 400, "request_url: the scheme must be http"),
    ({"request_url": "https://hooks.example.org/\r\nX: 1"}, 400, "request_url: control"),
    ({"request_url": "http://127.0.0.1:9/"}, 400, "request_url: '127.0.0.1' is a loopback"),
    ({"request_url": "http://169.254.169.254/"}, 400, "link-local"),
    ({"request_url": 42}, 400, "request_url"),
    ({"source": "calendar"}, 400, "source: must be 'calendar_event'"),
    ({"source": "messaging"}, 501, "source: calgate sends calendar_event webhooks only"),
    ({"events": []}, 400, "events: give at least one"),
    ({"events": ["message_received"]}, 400, "events[0]: 'message_received' is not a calendar"),
    ({"headers": [{"key": "X-Evil", "value": "a\r\nInjected: 1"}]}, 400, "headers[0].value: line"),
    ({"headers": [{"key": "Bad Key", "value": "1"}]}, 400, "headers[0].key: 'Bad Key' is not"),
    ({"headers": [{"key": "Content-Type", "value": "x"}]}, 400, "headers[0].key: Content-Type is"),
    ({"headers": [{"key": "X-Calgate-Signature", "value": "x"}]}, 400, "set by calgate"),
    ({"headers": [{"key": "A", "value": "1"}, {"key": "a", "value": "2"}]}, 400, "given twice"),
    ({"headers": [{"key": "A"}]}, 400, "headers[0].value: field required"),
    ({"secret": "mine"}, 400, "secret: unknown field"),
    ({"format": "xml"}, 400, "format"),
]


@pytest.mark.parametrize(("change", "status", "detail"), BAD)
async def test_validation(api: Api, change: dict[str, Any], status: int, detail: str) -> None:
    r = await api.call("POST", URL, json={**HOOK, **change})
    assert r.status_code == status, r.text
    body = r.json()
    assert body["status"] == status
    assert body["type"] == (
        "errors/feature_not_implemented" if status == 501 else "errors/invalid_parameters"
    )
    assert detail in body["detail"], body["detail"]
    assert (await api.call("GET", URL)).json()["items"] == []


async def test_missing_body_and_bad_json(api: Api) -> None:
    r = await api.call("POST", URL)
    assert r.status_code == 400
    r = await api.call(
        "POST", URL, content=b"{not json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 400
    assert r.json()["type"] == "errors/malformed_request"


class TestLoopbackAllowed:
    @pytest.fixture
    def settings(self, database_url: str, tmp_path: Path) -> Settings:
        return Settings(
            database_url=database_url,
            data_dir=tmp_path,
            sqlite_synchronous="NORMAL",
            allow_loopback_urls=True,
        )

    async def test_loopback_urls_when_allowed(self, api: Api) -> None:
        await create(api, {**HOOK, "request_url": "http://127.0.0.1:9/hook"})
