"""Webhook delivery is fair (issue 13, item 3): one tenant's webhooks pointing at a receiver
that never answers hold neither every worker slot nor more than one slot per webhook, so
another tenant's delivery to a healthy receiver goes out at once. Real receivers on loopback:
one that never answers (it sleeps past the webhook timeout), one that answers at once."""

from __future__ import annotations

import time
from collections.abc import Iterator

import anyio
import pytest

from calgate.settings import Settings
from tests.conftest import SEED_BODY, Api, Tenant
from tests.receiver import Receiver, running_receiver
from tests.test_webhooks_delivery import worker  # noqa: F401 (the running worker fixture)

pytestmark = pytest.mark.anyio
TIMEOUT = 3.0  # the webhook timeout: a silent receiver holds a slot this long per attempt


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "allow_loopback_urls": True,
            "worker_poll_seconds": 0.05,
            "worker_concurrency": 8,
            "retry_base_seconds": 30.0,
            "webhook_timeout_seconds": TIMEOUT,
        }
    )


@pytest.fixture
def silent() -> Iterator[Receiver]:
    with running_receiver() as r:
        r.delay = 60.0  # never answers within the timeout
        yield r


@pytest.fixture
def healthy() -> Iterator[Receiver]:
    with running_receiver() as r:
        yield r


async def add_hook(api: Api, url: str, tenant: Tenant) -> None:
    body = {"source": "calendar_event", "request_url": url, "name": "h"}
    r = await api.call("POST", "/api/v1/webhooks", json=body, tenant=tenant)
    assert r.status_code == 201, r.text


async def create(api: Api, tenant: Tenant) -> None:
    r = await api.call("POST", api.events_url(tenant.calendar_id), json=SEED_BODY, tenant=tenant)
    assert r.status_code == 200, r.text


@pytest.mark.usefixtures("worker")
async def test_silent_receivers_of_one_tenant_do_not_delay_another(
    api: Api, silent: Receiver, healthy: Receiver
) -> None:
    for _ in range(20):
        await add_hook(api, silent.url, api.a)
    await add_hook(api, healthy.url, api.b)
    await create(api, api.a)  # 20 deliveries to the silent receiver
    await silent.wait_arrived(2, within=5)
    started = time.monotonic()
    await create(api, api.b)
    await healthy.wait_for(1, within=TIMEOUT * 4)
    waited = time.monotonic() - started
    assert waited < TIMEOUT / 2, f"tenant B's delivery waited {waited:.1f} s"
    # Tenant A keeps some slots, not all of them.
    assert 1 <= silent.arrived <= 8


@pytest.mark.usefixtures("worker")
async def test_one_slot_per_webhook(api: Api, silent: Receiver, healthy: Receiver) -> None:
    await add_hook(api, silent.url, api.a)
    await add_hook(api, healthy.url, api.a)
    for _ in range(4):
        await create(api, api.a)
    # The healthy webhook of the same tenant gets its four deliveries...
    await healthy.wait_for(4, within=TIMEOUT / 2)
    # ...while the silent one has had one delivery in flight at a time.
    await anyio.sleep(0.5)
    assert silent.arrived == 1
