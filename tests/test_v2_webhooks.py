"""Webhooks registered through v2 get v2's envelope, the event in v2's shape; v1 webhooks of the
same tenant keep v1's payload for the same change. v2 webhook endpoints as the official v2
client's WebhooksApi and its models have them (names cited at each check)."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest

from calgate.api.middleware import idempotency as idempotency_middleware
from calgate.outbox.worker import Worker
from calgate.webhooks import verify
from tests.conftest import Api
from tests.receiver import Receiver
from tests.test_webhooks_delivery import receiver, settings, worker  # noqa: F401 - fixtures

pytestmark = pytest.mark.anyio


# CreateWebhookEndpoint200Response: required fields (description may be null), with the
# patterns and enums of its validators.
ENDPOINT_FIELDS = {
    "enabled",
    "description",
    "url",
    "trigger_events",
    "secret",
    "object",
    "id",
    "application_id",
    "account_ids",
    "account_targets",
}


def official_endpoint(endpoint: dict[str, Any]) -> None:
    assert set(endpoint) == ENDPOINT_FIELDS, endpoint
    assert endpoint["object"] == "WebhookEndpoint"
    assert re.match(r"^we_", endpoint["id"]) and re.match(r"^app_", endpoint["application_id"])
    assert isinstance(endpoint["enabled"], bool) and isinstance(endpoint["url"], str)
    assert isinstance(endpoint["secret"], str) and len(endpoint["secret"]) <= 36
    assert endpoint["description"] is None or isinstance(endpoint["description"], str)
    assert isinstance(endpoint["account_ids"], list) and endpoint["account_targets"] == []


async def test_v2_envelope_beside_v1_payload(
    api: Api,
    receiver: Receiver,  # noqa: F811 - the fixture imported above
    worker: Worker,  # noqa: F811
) -> None:
    headers = {"X-API-KEY": api.a.key}
    # CreateWebhookEndpointRequest: trigger_events and url required
    body = {"trigger_events": ["calendar.event.new"], "url": receiver.url, "description": "v2"}
    r = await api.client.post("/v2/webhooks/endpoints", json=body, headers=headers)
    assert r.status_code == 200, r.text  # WebhooksApi.create_webhook_endpoint: 200
    official_endpoint(r.json())
    v2_id, secret = r.json()["id"], r.json()["secret"]
    assert r.json()["trigger_events"] == ["calendar.event.new"] and secret.startswith("whsec_")
    v1_body = {"source": "calendar_event", "request_url": receiver.url, "name": "v1 hook"}
    r = await api.call("POST", "/api/v1/webhooks", json=v1_body)
    assert r.status_code == 201, r.text
    url = f"/v2/{api.a.account_id}/calendars/{api.a.calendar_id}/events"
    event = {
        "title": "Hooked",
        "start": {"type": "datetime", "date_time": "2026-04-01T09:00:00Z"},
        "end": {"type": "datetime", "date_time": "2026-04-01T10:00:00Z"},
    }
    r = await api.client.post(url, json=event, headers=headers)
    assert r.status_code == 201, r.text
    made = r.json()
    got = await receiver.wait_for(2)
    by_hook = {g.headers["X-Calgate-Webhook"]: g for g in got}
    v2 = by_hook.pop(v2_id)  # a v2 endpoint's headers name it and the event as v2 does
    assert v2.headers["X-Calgate-Event"] == "calendar.event.new"
    assert verify(secret, v2.body, v2.headers["X-Calgate-Signature"])
    envelope = v2.json()
    assert set(envelope) == {"id", "created_at", "account_id", "type", "payload"}
    assert envelope["type"] == "calendar.event.new"  # the trigger_events enum's name
    assert envelope["account_id"] == api.a.account_id
    assert envelope["created_at"].endswith("Z")
    assert envelope["payload"] == {**made, "updated_at": envelope["payload"]["updated_at"]}
    (v1,) = by_hook.values()
    assert v1.headers["X-Calgate-Event"] == "calendar_event_created"  # v1 keeps v1's names
    assert v1.json()["object"] == "CalendarEvent" and v1.json()["event"] == "calendar_event_created"
    assert v1.json()["start"] == {"date_time": "2026-04-01T09:00:00+00:00", "time_zone": "UTC"}


async def test_v2_webhook_endpoints_crud(api: Api) -> None:
    """Create, list, get, update and delete under `/v2/webhooks/endpoints` (WebhooksApi's
    routes and codes); a v1 webhook is not a v2 endpoint."""
    headers = {"X-API-KEY": api.a.key}
    hooks = "/v2/webhooks/endpoints"
    body = {"trigger_events": ["calendar.event.new"], "url": "https://hooks.example.org/x"}
    ids = []
    for n in range(3):
        r = await api.client.post(hooks, json={**body, "description": f"e{n}"}, headers=headers)
        assert r.status_code == 200, r.text
        ids.append(r.json()["id"])
    v1 = {"source": "calendar_event", "request_url": "https://hooks.example.org/x"}
    v1_id = (await api.call("POST", "/api/v1/webhooks", json=v1)).json()["webhook_id"]
    # ListWebhookEndpoints200Response: {object, data, has_more}; offset and limit
    r = await api.client.get(hooks, params={"limit": "2"}, headers=headers)
    assert r.status_code == 200, r.text
    page = r.json()
    assert set(page) == {"object", "data", "has_more"} and page["object"] == "WebhookEndpoints"
    assert len(page["data"]) == 2 and page["has_more"] is True
    for endpoint in page["data"]:
        official_endpoint(endpoint)
    r = await api.client.get(hooks, params={"offset": "2", "limit": "2"}, headers=headers)
    listed = [e["id"] for e in page["data"] + r.json()["data"]]
    assert sorted(listed) == sorted(ids) and r.json()["has_more"] is False
    r = await api.client.get(f"{hooks}/{ids[0]}", headers=headers)
    assert r.status_code == 200 and r.json()["description"] == "e0", r.text
    official_endpoint(r.json())
    assert r.json()["secret"] == ""  # shown on create only
    # UpdateWebhookEndpointRequest: any subset, and enabled
    change = {
        "enabled": False,
        "trigger_events": ["calendar.event.update", "calendar.event.delete"],
    }
    r = await api.client.patch(f"{hooks}/{ids[0]}", json=change, headers=headers)
    assert r.status_code == 200, r.text
    official_endpoint(r.json())
    assert r.json()["enabled"] is False and r.json()["description"] == "e0"
    assert r.json()["trigger_events"] == ["calendar.event.update", "calendar.event.delete"]
    r = await api.client.get(f"{hooks}/{v1_id}", headers=headers)
    assert r.status_code == 404 and r.json()["type"] == "api/resource_not_found"
    # RemoveAccount200Response
    r = await api.client.delete(f"{hooks}/{ids[0]}", headers=headers)
    assert r.status_code == 200 and r.json() == {"success": True}, r.text
    r = await api.client.get(f"{hooks}/{ids[0]}", headers=headers)
    assert r.status_code == 404
    r = await api.client.get(hooks, headers={"X-API-KEY": api.b.key})
    assert r.json()["data"] == []  # another tenant's endpoints are not listed


async def test_v2_endpoint_refusals_name_the_field(api: Api) -> None:
    headers = {"X-API-KEY": api.a.key}
    hooks = "/v2/webhooks/endpoints"
    url = "https://hooks.example.org/x"
    for triggers, status in (
        (["message.new"], 501),  # a v2 event type calgate does not send
        (["calendar.event.created"], 400),  # not a v2 event type
        ([], 400),
    ):
        r = await api.client.post(
            hooks, json={"trigger_events": triggers, "url": url}, headers=headers
        )
        assert r.status_code == status and r.json()["detail"].startswith("trigger_events"), r.text
    r = await api.client.post(
        hooks, json={"trigger_events": ["calendar.event.new"], "url": "ftp://x"}, headers=headers
    )
    assert r.status_code == 400 and r.json()["detail"].startswith("url"), r.text
    # calgate's first v2 path keeps its body and answer
    r = await api.client.post(
        "/v2/webhooks", json={"source": "calendar_event", "request_url": url}, headers=headers
    )
    assert r.status_code == 201 and set(r.json()) == {"id", "secret"}, r.text


async def test_v2_endpoint_routes_refuse_query_parameters_they_do_not_take(api: Api) -> None:
    """A misspelt or foreign query parameter is a 400 naming it, not silently ignored
    (``cursor`` is the calendar lists' paging, not the endpoint list's: offset and limit)."""
    headers = {"X-API-KEY": api.a.key}
    hooks = "/v2/webhooks/endpoints"
    body = {"trigger_events": ["calendar.event.new"], "url": "https://hooks.example.org/x"}
    made = (await api.client.post(hooks, json=body, headers=headers)).json()["id"]
    for method, path, params in (
        ("GET", hooks, {"ofset": "1"}),
        ("GET", hooks, {"cursor": "abc"}),
        ("GET", f"{hooks}/{made}", {"limit": "1"}),
        ("POST", hooks, {"account_id": api.a.account_id}),
        ("PATCH", f"{hooks}/{made}", {"enabled": "false"}),
        ("DELETE", f"{hooks}/{made}", {"force": "1"}),
    ):
        payload = body if method == "POST" else ({"enabled": False} if method == "PATCH" else None)
        r = await api.client.request(method, path, params=params, json=payload, headers=headers)
        assert r.status_code == 400, (method, path, r.text)
        assert r.json()["detail"].startswith(next(iter(params))), r.text
    r = await api.client.request("DELETE", f"{hooks}/{made}", json={"x": 1}, headers=headers)
    assert r.status_code == 400 and r.json()["detail"].startswith("body"), r.text
    r = await api.client.get(f"{hooks}/{made}", headers=headers)
    assert r.status_code == 200 and r.json()["enabled"] is True  # nothing was changed
    r = await api.client.get(hooks, params={"offset": "0", "limit": "5"}, headers=headers)
    assert r.status_code == 200 and [e["id"] for e in r.json()["data"]] == [made], r.text
    r = await api.client.get(f"{hooks}/we_nothing", headers=headers)
    assert r.status_code == 404 and "webhook endpoint 'we_nothing'" in r.json()["detail"]
    r = await api.client.get(hooks, params={"ofset": "1"}, headers={"X-API-KEY": "cg_wrong"})
    assert r.status_code == 401  # the key is checked first


async def test_v2_endpoint_paths_as_the_official_client_writes_them(api: Api) -> None:
    """WebhooksApi creates and lists at `/v2/webhooks/endpoints/` (trailing slash): answered
    there, not redirected, so a create under an Idempotency-Key is one create, replayed."""
    headers = {"X-API-KEY": api.a.key, "Idempotency-Key": "slash-create"}
    body = {"trigger_events": ["calendar.event.new"], "url": "https://hooks.example.org/x"}
    first = await api.client.post("/v2/webhooks/endpoints/", json=body, headers=headers)
    assert first.status_code == 200, first.text
    official_endpoint(first.json())
    again = await api.client.post("/v2/webhooks/endpoints/", json=body, headers=headers)
    assert again.status_code == 200 and again.json() == first.json(), again.text
    r = await api.client.get("/v2/webhooks/endpoints/", headers={"X-API-KEY": api.a.key})
    assert r.status_code == 200, r.text
    assert [e["id"] for e in r.json()["data"]] == [first.json()["id"]]


async def test_keyed_endpoint_create_answer_is_committed_with_the_endpoint(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Under an Idempotency-Key, the whole CreateWebhookEndpoint200Response (secret included) is
    stored in the create's own transaction, on both spellings of the path, and is exactly the
    route's answer: nothing is stored after the fact (what a crash would lose) and a retry
    replays the endpoint, not a part of it."""
    kept_after: list[str] = []

    async def keep(self: Any, status: int, headers: Any, body: bytes) -> None:
        kept_after.append(self.scope["path"])

    monkeypatch.setattr(idempotency_middleware._Call, "keep", keep)
    body = {"trigger_events": ["calendar.event.new"], "url": "https://hooks.example.org/x"}
    for path in ("/v2/webhooks/endpoints", "/v2/webhooks/endpoints/"):
        headers = {"X-API-KEY": api.a.key, "Idempotency-Key": f"tx{path}"}
        with caplog.at_level(logging.WARNING, logger="calgate.idempotency"):
            first = await api.client.post(path, json=body, headers=headers)
        assert first.status_code == 200, first.text
        official_endpoint(first.json())
        assert first.json()["secret"].startswith("whsec_")
        again = await api.client.post(path, json=body, headers=headers)
        assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
        assert again.json() == first.json()
    assert kept_after == [] and [r.message for r in caplog.records] == []
