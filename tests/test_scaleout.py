"""Two `calgate serve` processes on one PostgreSQL database, one client alternating between
them: idempotency, optimistic updates and reads hold across instances."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet

from tests.conftest import PG_URL, reset_postgres
from tests.receiver import running_receiver
from tests.serve import Served, serve

pytestmark = [
    pytest.mark.system,
    pytest.mark.skipif(not PG_URL, reason="CALGATE_TEST_DATABASE_URL not set"),
]
KEY = "cg_scaleout_key"


@pytest.fixture
def instances(tmp_path: Path) -> Iterator[tuple[Served, Served]]:
    asyncio.run(reset_postgres(PG_URL))
    env = {
        "CALGATE_API_KEY": KEY,
        "CALGATE_DATABASE_URL": PG_URL,
        # Every instance must share the key that seals provider credentials.
        "CALGATE_SECRET_KEY": Fernet.generate_key().decode(),
        "CALGATE_ALLOW_LOOPBACK_URLS": "true",  # the webhook receiver is on this machine
        "CALGATE_WORKER_POLL_SECONDS": "0.2",
    }
    with ExitStack() as stack:
        a = stack.enter_context(serve(tmp_path / "a", env))
        b = stack.enter_context(serve(tmp_path / "b", env))
        yield a, b


def _setup(base: str) -> tuple[str, str]:
    headers = {"X-API-KEY": KEY}
    account = httpx.get(f"{base}/api/v1/accounts", headers=headers).json()["items"][0]["id"]
    cals = httpx.get(f"{base}/api/v1/calendars", params={"account_id": account}, headers=headers)
    return account, cals.json()["data"][0]["id"]


def _body(title: str) -> dict[str, Any]:
    return {
        "title": title,
        "start": {"date_time": "2026-06-01T10:00:00", "time_zone": "Europe/Paris"},
        "end": {"date_time": "2026-06-01T11:00:00", "time_zone": "Europe/Paris"},
    }


def test_two_instances_share_everything(instances: tuple[Served, Served]) -> None:
    a, b = instances
    account, calendar = _setup(a.base_url)
    path = f"/api/v1/calendars/{calendar}/events"
    params = {"account_id": account}
    headers = {"X-API-KEY": KEY}

    # Creates alternate between the instances; both see all of them.
    created = []
    for i in range(10):
        base = (a, b)[i % 2].base_url
        r = httpx.post(base + path, params=params, json=_body(f"alt {i}"), headers=headers)
        assert r.status_code == 200, r.text
        created.append(r.json()["event_id"])
    for served in (a, b):
        listed = httpx.get(
            served.base_url + path, params={**params, "limit": "50"}, headers=headers
        )
        assert sorted(e["id"] for e in listed.json()["data"]) == sorted(created)

    # Idempotency holds across instances: the same key on A then B makes one event.
    keyed = {**headers, "Idempotency-Key": "scaleout-1"}
    first = httpx.post(a.base_url + path, params=params, json=_body("once"), headers=keyed)
    second = httpx.post(b.base_url + path, params=params, json=_body("once"), headers=keyed)
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert second.headers.get("idempotent-replayed") == "true"
    found = httpx.get(b.base_url + path, params={**params, "title": "once"}, headers=headers)
    assert len(found.json()["data"]) == 1

    # Optimistic updates: a PATCH based on a version another instance already moved is refused.
    event_url = f"{path}/{created[0]}"
    version = httpx.get(a.base_url + event_url, params=params, headers=headers).json()["version"]
    ok = httpx.patch(
        a.base_url + event_url,
        params=params,
        json={"title": "from A"},
        headers={**headers, "If-Match": str(version)},
    )
    assert ok.status_code == 200
    stale = httpx.patch(
        b.base_url + event_url,
        params=params,
        json={"title": "from B"},
        headers={**headers, "If-Match": str(version)},
    )
    assert stale.status_code == 409
    assert stale.json()["type"] == "errors/conflict"
    got = httpx.get(b.base_url + event_url, params=params, headers=headers).json()
    assert got["title"] == "from A"


def test_concurrent_same_key_on_both_instances_makes_one_event(
    instances: tuple[Served, Served],
) -> None:
    a, b = instances
    account, calendar = _setup(a.base_url)
    path = f"/api/v1/calendars/{calendar}/events"
    params = {"account_id": account}

    async def race() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=30) as client:
            calls = [
                client.post(
                    served.base_url + path,
                    params=params,
                    json=_body("raced"),
                    headers={"X-API-KEY": KEY, "Idempotency-Key": f"race-{round_}"},
                )
                for round_ in range(5)
                for served in (a, b, a, b)
            ]
            return await asyncio.gather(*calls)

    answers = asyncio.run(race())
    ok = [r for r in answers if r.status_code == 200]
    # Every answer is the one event of its key (or a clear "still in progress" 409).
    assert all(r.status_code in (200, 409) for r in answers), [r.text for r in answers]
    by_key: dict[str, set[str]] = {}
    for r in ok:
        key = r.request.headers["idempotency-key"]
        by_key.setdefault(key, set()).add(r.json()["event_id"])
    assert all(len(ids) == 1 for ids in by_key.values())
    listed = httpx.get(
        a.base_url + path,
        params={**params, "title": "raced", "limit": "50"},
        headers={"X-API-KEY": KEY},
    )
    assert len(listed.json()["data"]) == 5


def test_outbox_delivers_each_change_once_across_instances(
    instances: tuple[Served, Served],
) -> None:
    """Both instances run an outbox worker on the shared queue: every webhook delivery
    arrives, and none twice."""
    a, b = instances
    account, calendar = _setup(a.base_url)
    headers = {"X-API-KEY": KEY}
    with running_receiver() as receiver:
        hook = httpx.post(
            a.base_url + "/api/v1/webhooks",
            json={
                "source": "calendar_event",
                "request_url": receiver.url,
                "name": "scaleout",
                "events": ["calendar_event_created", "calendar_event_updated"],
            },
            headers=headers,
        )
        assert hook.status_code == 201, hook.text
        path = f"/api/v1/calendars/{calendar}/events"
        params = {"account_id": account}
        changes = 0
        for i in range(20):
            base = (a, b)[i % 2].base_url
            r = httpx.post(base + path, params=params, json=_body(f"hook {i}"), headers=headers)
            assert r.status_code == 200
            patched = httpx.patch(
                (b, a)[i % 2].base_url + f"{path}/{r.json()['event_id']}",
                params=params,
                json={"title": f"hook {i} edited"},
                headers=headers,
            )
            assert patched.status_code == 200
            changes += 2
        got = asyncio.run(receiver.wait_for(changes, within=30))
        ids = [r.json()["delivery_id"] for r in got]
        assert len(ids) == changes
        assert len(set(ids)) == changes  # none delivered twice
        kinds = sorted(r.json()["event"] for r in got)
        assert kinds == ["calendar_event_created"] * 20 + ["calendar_event_updated"] * 20
