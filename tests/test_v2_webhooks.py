"""Webhooks registered through v2 get v2's envelope, the event in v2's shape; v1 webhooks of the
same tenant keep v1's payload for the same change."""

from __future__ import annotations

import pytest

from calgate.outbox.worker import Worker
from calgate.webhooks import verify
from tests.conftest import Api
from tests.receiver import Receiver
from tests.test_webhooks_delivery import receiver, settings, worker  # noqa: F401 - fixtures

pytestmark = pytest.mark.anyio


async def test_v2_envelope_beside_v1_payload(
    api: Api,
    receiver: Receiver,  # noqa: F811 - the fixture imported above
    worker: Worker,  # noqa: F811
) -> None:
    headers = {"X-API-KEY": api.a.key}
    body = {"source": "calendar_event", "request_url": receiver.url, "name": "v2 hook"}
    r = await api.client.post("/v2/webhooks/endpoints", json=body, headers=headers)
    assert r.status_code == 201 and set(r.json()) == {"id", "secret"}, r.text
    v2_id, secret = r.json()["id"], r.json()["secret"]
    r = await api.call("POST", "/api/v1/webhooks", json={**body, "name": "v1 hook"})
    assert r.status_code == 201, r.text
    url = f"/v2/{api.a.account_id}/calendars/{api.a.calendar_id}/events"
    event = {
        "title": "Hooked",
        "start": {"type": "date_time", "date_time": "2026-04-01T09:00:00Z"},
        "end": {"type": "date_time", "date_time": "2026-04-01T10:00:00Z"},
    }
    r = await api.client.post(url, json=event, headers=headers)
    assert r.status_code == 201, r.text
    made = r.json()
    got = await receiver.wait_for(2)
    by_hook = {g.headers["X-Calgate-Webhook"]: g for g in got}
    v2 = by_hook.pop(v2_id)
    assert verify(secret, v2.body, v2.headers["X-Calgate-Signature"])
    envelope = v2.json()
    assert set(envelope) == {"id", "created_at", "account_id", "type", "payload"}
    assert envelope["type"] == "calendar.event.new"  # CreateWebhookEndpointRequest's trigger_events
    assert envelope["account_id"] == api.a.account_id
    assert envelope["created_at"].endswith("Z")
    assert envelope["payload"] == {**made, "updated_at": envelope["payload"]["updated_at"]}
    (v1,) = by_hook.values()
    assert v1.json()["object"] == "CalendarEvent" and v1.json()["event"] == "calendar_event_created"
    assert v1.json()["start"] == {"date_time": "2026-04-01T09:00:00+00:00", "time_zone": "UTC"}


async def test_v2_webhook_endpoints_crud(api: Api) -> None:
    """List, read and delete v2 endpoints under `/v2/webhooks/endpoints` (v2's names for v1's
    webhook routes); a v1 webhook is not a v2 endpoint."""
    headers = {"X-API-KEY": api.a.key}
    body = {"source": "calendar_event", "request_url": "https://hooks.example.org/x"}
    ids = []
    for n in range(3):
        r = await api.client.post(
            "/v2/webhooks/endpoints", json={**body, "name": f"e{n}"}, headers=headers
        )
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    r = await api.call("POST", "/api/v1/webhooks", json={**body, "name": "v1"})
    v1_id = r.json()["webhook_id"]
    r = await api.client.get("/v2/webhooks/endpoints", params={"limit": "2"}, headers=headers)
    assert r.status_code == 200, r.text
    page = r.json()
    assert set(page) == {"data", "next_cursor"} and len(page["data"]) == 2
    r = await api.client.get(
        "/v2/webhooks/endpoints", params={"cursor": page["next_cursor"]}, headers=headers
    )
    listed = [e["id"] for e in page["data"] + r.json()["data"]]
    assert sorted(listed) == sorted(ids) and r.json()["next_cursor"] is None
    r = await api.client.get(f"/v2/webhooks/endpoints/{ids[0]}", headers=headers)
    assert r.status_code == 200 and r.json()["name"] == "e0" and "secret" not in r.json()
    r = await api.client.get(f"/v2/webhooks/endpoints/{v1_id}", headers=headers)
    assert r.status_code == 404 and r.json()["type"] == "errors/resource_not_found"
    r = await api.client.delete(f"/v2/webhooks/endpoints/{ids[0]}", headers=headers)
    assert r.status_code == 204 and r.content == b""
    r = await api.client.get(f"/v2/webhooks/endpoints/{ids[0]}", headers=headers)
    assert r.status_code == 404
    r = await api.client.get("/v2/webhooks/endpoints", headers={"X-API-KEY": api.b.key})
    assert r.json()["data"] == []  # another tenant's endpoints are not listed
