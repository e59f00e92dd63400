"""DNS rebinding (issue 13, item 17): a name that resolves to a public address when calgate
checks it and to a loopback address when calgate connects must not reach the loopback
service. The resolver is the system's, answering like a rebinding DNS server would (public
first, loopback afterwards) for names under ``.rebind.test`` only; the services behind the
loopback address are real HTTP servers that record every request."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import anyio
import pytest

from calgate.outbox.worker import Worker
from calgate.settings import Settings
from tests.conftest import SEED_BODY, Api
from tests.receiver import Receiver, running_receiver
from tests.test_caldav_redirect_credentials import http_server, unauthorized

pytestmark = pytest.mark.anyio
PUBLIC = "198.51.100.7"  # TEST-NET-2: not a blocked address, and nothing answers there


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "allow_loopback_urls": False,
            "provider_timeout_seconds": 2.0,
            "worker_poll_seconds": 0.05,
            "retry_base_seconds": 0.1,
            "retry_max_seconds": 0.2,
            "webhook_timeout_seconds": 0.5,
        }
    )


@pytest.fixture
def rebinding_dns(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Names under .rebind.test answer PUBLIC the first time, 127.0.0.1 afterwards; yields the
    list of answers given."""
    real = socket.getaddrinfo
    answers: list[str] = []

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if not name.endswith(".rebind.test"):
            return real(host, port, *args, **kwargs)
        address = PUBLIC if not answers else "127.0.0.1"
        answers.append(address)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, int(port or 80)))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield answers


async def test_caldav_never_reaches_the_rebound_address(api: Api, rebinding_dns: list[str]) -> None:
    with http_server(unauthorized) as (address, seen):
        port = address.rsplit(":", 1)[1]
        body = {
            "provider": "CALDAV",
            "url": f"http://cal.rebind.test:{port}/",
            "username": "ada",
            "password": "s3cret-pw",
        }
        r = await api.call("POST", "/api/v1/accounts", json=body)
    assert rebinding_dns, "the name was never resolved"
    assert seen == [], "a request (with the password) reached the loopback service"
    assert r.status_code in (400, 503, 504), r.text


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as r:
        yield r


async def test_webhook_never_reaches_the_rebound_address(
    api: Api, receiver: Receiver, rebinding_dns: list[str]
) -> None:
    hook = {
        "source": "calendar_event",
        "request_url": f"http://hook.rebind.test:{receiver.port}/hook",
        "name": "h",
    }
    r = await api.call("POST", "/api/v1/webhooks", json=hook)
    assert r.status_code == 201, r.text
    hook_id = r.json()["webhook_id"]
    worker: Worker = api.runtime.worker()
    async with worker.running():
        await api.create(SEED_BODY)
        with anyio.fail_after(10):
            while True:  # a first attempt, then a retry
                if len(rebinding_dns) >= 2:
                    break
                await anyio.sleep(0.05)
        await anyio.sleep(0.3)
    await worker.aclose()
    assert receiver.arrived == 0, "a delivery reached the loopback service"
    r = await api.call("GET", f"/api/v1/webhooks/{hook_id}/deliveries")
    [delivery] = r.json()["items"]
    assert delivery["status"] != "delivered"
