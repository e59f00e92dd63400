"""Webhook deliveries to a real HTTP receiver on loopback: payload, signature, retries with
growing delays, failure after the retries (visible through the API), filters, redelivery."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from calgate.outbox.worker import Worker
from calgate.settings import Settings
from calgate.webhooks import verify
from tests.conftest import SEED_BODY, Api, Tenant
from tests.receiver import Receiver, running_receiver

pytestmark = pytest.mark.anyio
EXTRAS = {"event", "webhook_name", "account_id", "delivery_id"}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as r:
        yield r


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path,
        sqlite_synchronous="NORMAL",
        allow_loopback_urls=True,
        worker_poll_seconds=0.05,
        retry_base_seconds=0.05,
        retry_max_seconds=0.2,
        webhook_timeout_seconds=0.5,
    )


@pytest.fixture
async def worker(api: Api) -> AsyncIterator[Worker]:
    w = api.runtime.worker()
    async with w.running():
        yield w
    await w.aclose()


async def hook(
    api: Api, receiver: Receiver, tenant: Tenant | None = None, **extra: Any
) -> tuple[str, str]:
    body = {
        "source": "calendar_event",
        "request_url": receiver.url,
        "name": "my hook",
        "headers": [{"key": "Authorization", "value": "Bearer abc"}],
        **extra,
    }
    r = await api.call("POST", "/api/v1/webhooks", json=body, tenant=tenant)
    assert r.status_code == 201, r.text
    return r.json()["webhook_id"], r.json()["secret"]


async def deliveries(api: Api, hook_id: str, **params: str) -> list[dict[str, Any]]:
    r = await api.call("GET", f"/api/v1/webhooks/{hook_id}/deliveries", params=params)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def wait_status(api: Api, hook_id: str, status: str, count: int = 1) -> list[Any]:
    with anyio.fail_after(10):
        while True:
            found = await deliveries(api, hook_id, status=status)
            if len(found) >= count:
                return found
            await anyio.sleep(0.02)


async def test_payload_is_the_event_signed(api: Api, receiver: Receiver, worker: Worker) -> None:
    hook_id, secret = await hook(api, receiver)
    event_id = await api.create({**SEED_BODY, "notify": True})
    [request] = await receiver.wait_for(1)

    signature = request.headers["X-Calgate-Signature"]
    expected = "sha256=" + hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
    assert signature == expected
    assert verify(secret, request.body, signature)
    assert not verify(secret, request.body + b" ", signature)
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Authorization"] == "Bearer abc"
    assert request.headers["X-Calgate-Event"] == "calendar_event_created"
    assert request.headers["X-Calgate-Webhook"] == hook_id
    assert request.headers["User-Agent"].startswith("calgate-webhooks/")

    payload = request.json()
    assert payload["event"] == "calendar_event_created"
    assert payload["webhook_name"] == "my hook"
    assert payload["account_id"] == api.a.account_id
    assert payload["delivery_id"] == request.headers["X-Calgate-Delivery"]
    event = await api.get(event_id)
    # Asked to notify with no SMTP server configured: the payload says what happened.
    assert event["notifications"] == payload["notifications"] == "failed"
    assert {k: v for k, v in payload.items() if k not in EXTRAS} == event
    assert payload["organizer"] == {"email": "", "display_name": "My calendar"}  # never null
    assert list(payload)[:2] == ["object", "id"]

    [delivery] = await wait_status(api, hook_id, "delivered")
    assert delivery == {
        "object": "WebhookDelivery",
        "id": payload["delivery_id"],
        "webhook_id": hook_id,
        "event": "calendar_event_created",
        "event_id": event_id,
        "account_id": api.a.account_id,
        "status": "delivered",
        "attempts": 1,
        "next_attempt_at": None,
        "last_status_code": 200,
        "last_error": "",
        "created_at": delivery["created_at"],
        "delivered_at": delivery["delivered_at"],
    }


async def test_update_and_delete_are_delivered(
    api: Api, receiver: Receiver, worker: Worker
) -> None:
    await hook(api, receiver)
    event_id = await api.create(SEED_BODY)
    await receiver.wait_for(1)
    r = await api.call("PATCH", f"{api.events_url()}/{event_id}", json={"title": "Renamed"})
    assert r.status_code == 200
    await receiver.wait_for(2)
    r = await api.call("DELETE", f"{api.events_url()}/{event_id}")
    assert r.status_code == 200
    got = [r.json() for r in await receiver.wait_for(3)]
    assert [g["event"] for g in got] == [
        "calendar_event_created",
        "calendar_event_updated",
        "calendar_event_deleted",
    ]
    assert {g["id"] for g in got} == {event_id}
    assert [g["title"] for g in got] == ["Quarterly review", "Renamed", "Renamed"]
    assert [g["is_cancelled"] for g in got] == [False, False, True]
    assert len({g["delivery_id"] for g in got}) == 3


async def test_retried_until_a_2xx_with_the_same_delivery(
    api: Api, receiver: Receiver, worker: Worker
) -> None:
    hook_id, _ = await hook(api, receiver)
    receiver.plan = [500, 503]
    await api.create(SEED_BODY)
    [ok] = await receiver.wait_for(1)
    tried = receiver.received()
    assert [t.status for t in tried] == [500, 503, 200]
    assert len({t.headers["X-Calgate-Delivery"] for t in tried}) == 1
    assert len({t.body for t in tried}) == 1
    assert len({t.headers["X-Calgate-Signature"] for t in tried}) == 1
    [delivery] = await wait_status(api, hook_id, "delivered")
    assert (delivery["attempts"], delivery["last_status_code"]) == (3, 200)
    assert delivery["id"] == ok.json()["delivery_id"]


async def test_failed_after_five_retries_then_sent_again_on_request(
    api: Api, receiver: Receiver, worker: Worker
) -> None:
    hook_id, _ = await hook(api, receiver)
    receiver.default = 500
    await api.create(SEED_BODY)
    [failed] = await wait_status(api, hook_id, "failed")
    assert failed["attempts"] == 6
    assert failed["last_status_code"] == 500
    assert failed["last_error"] == "HTTP 500 receiver says no"
    assert len(receiver.received()) == 6
    assert await deliveries(api, hook_id, status="pending") == []

    receiver.default = 200
    r = await api.call("POST", f"/api/v1/webhooks/{hook_id}/deliveries/{failed['id']}/retry")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "pending"
    [done] = await wait_status(api, hook_id, "delivered")
    assert done["id"] == failed["id"]
    assert receiver.accepted()[0].json()["delivery_id"] == failed["id"]


async def test_growing_delays_between_attempts(api: Api, receiver: Receiver) -> None:
    # Base 0.05 s, factor 3, capped at 0.2 s: gaps of about 0.05, 0.15, 0.2 s.
    hook_id, _ = await hook(api, receiver)
    receiver.plan = [500, 500, 500]
    stamps: list[float] = []
    worker = api.runtime.worker()
    await api.create(SEED_BODY)
    async with worker.running():
        with anyio.fail_after(10):
            while len(receiver.received()) < 4:
                count = len(receiver.received())
                if len(stamps) < count:
                    stamps.append(time.monotonic())
                await anyio.sleep(0.005)
        stamps.append(time.monotonic())
    await worker.aclose()
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert gaps[0] >= 0.04 and gaps[1] >= 0.13 and gaps[2] >= 0.18, gaps
    assert (await deliveries(api, hook_id))[0]["status"] == "delivered"


async def test_slow_receiver_times_out_and_is_retried(
    api: Api, receiver: Receiver, worker: Worker
) -> None:
    hook_id, _ = await hook(api, receiver)
    receiver.delay = 1.0
    await api.create(SEED_BODY)
    await receiver.wait_for(1, ok=False, within=10)
    receiver.delay = 0.0
    [done] = await wait_status(api, hook_id, "delivered")
    assert done["attempts"] >= 2


async def test_filters_by_event_account_and_tenant(
    api: Api, receiver: Receiver, worker: Worker
) -> None:
    r = await api.call(
        "POST", "/api/v1/accounts", json={"provider": "LOCAL", "name": "Other", "email": ""}
    )
    other_account = r.json()["account_id"]
    await hook(api, receiver, events=["calendar_event_deleted"], name="deletes")
    await hook(api, receiver, account_ids=[other_account], name="other only")
    await hook(api, receiver, name="tenant b", tenant=api.b)

    event_id = await api.create(SEED_BODY)  # account A: no hook wants a creation there
    await api.call("DELETE", f"{api.events_url()}/{event_id}")  # "deletes" wants this one
    other_cal = (await api.call("GET", "/api/v1/calendars", account_id=other_account)).json()[
        "data"
    ][0]["id"]
    r = await api.call(
        "POST",
        f"/api/v1/calendars/{other_cal}/events",
        json=SEED_BODY,
        account_id=other_account,
    )
    assert r.status_code == 200
    got = await receiver.wait_for(2)
    await anyio.sleep(0.3)
    names = sorted((r.json()["webhook_name"], r.json()["event"]) for r in receiver.received())
    assert names == [
        ("deletes", "calendar_event_deleted"),
        ("other only", "calendar_event_created"),
    ]
    assert {r.json()["account_id"] for r in got} == {api.a.account_id, other_account}


async def test_deleting_a_webhook_drops_its_pending_deliveries(
    api: Api, receiver: Receiver
) -> None:
    hook_id, _ = await hook(api, receiver)
    await api.create(SEED_BODY)
    assert len(await deliveries(api, hook_id, status="pending")) == 1
    assert (await api.call("DELETE", f"/api/v1/webhooks/{hook_id}")).status_code == 200
    worker = api.runtime.worker()
    assert await worker.run_once() == 0
    await worker.aclose()
    assert receiver.received() == []


async def test_deliveries_page_newest_first(api: Api, receiver: Receiver) -> None:
    hook_id, _ = await hook(api, receiver)
    for _ in range(5):
        await api.create(SEED_BODY)
    first = (
        await api.call("GET", f"/api/v1/webhooks/{hook_id}/deliveries", params={"limit": "3"})
    ).json()
    assert len(first["items"]) == 3 and first["cursor"]
    second = (
        await api.call(
            "GET",
            f"/api/v1/webhooks/{hook_id}/deliveries",
            params={"limit": "3", "cursor": first["cursor"]},
        )
    ).json()
    assert len(second["items"]) == 2 and second["cursor"] is None
    every = first["items"] + second["items"]
    assert len({d["id"] for d in every}) == 5
    stamps = [d["created_at"] for d in every]
    assert stamps == sorted(stamps, reverse=True)
    r = await api.call("GET", f"/api/v1/webhooks/{hook_id}/deliveries", params={"status": "x"})
    assert r.status_code == 400


def _metric(text: str, name: str, kind: str) -> float:
    for line in text.splitlines():
        if line.startswith(f'{name}{{kind="{kind}"}}'):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_outbox_depth_and_failures_in_metrics(api: Api, receiver: Receiver) -> None:
    hook_id, _ = await hook(api, receiver)
    await api.create(SEED_BODY)
    await api.create(SEED_BODY)
    text = (await api.client.get("/metrics")).text
    assert _metric(text, "calgate_outbox_depth", "webhook") == 2
    before = _metric(text, "calgate_outbox_delivery_failures_total", "webhook")
    receiver.default = 500
    worker = api.runtime.worker()
    async with worker.running():
        await wait_status(api, hook_id, "failed", count=2)
    await worker.aclose()
    text = (await api.client.get("/metrics")).text
    assert _metric(text, "calgate_outbox_depth", "webhook") == 0
    assert _metric(text, "calgate_outbox_failed", "webhook") == 2
    assert _metric(text, "calgate_outbox_delivery_failures_total", "webhook") == before + 12
