"""Issue 13, item 8, on the remote providers (Google and Graph test servers): a create under an
Idempotency-Key whose process died after the provider made the event, retried with its key,
finds that event (Google: the event id derived from the key; Graph: the same transactionId)
instead of making a second one; and a slow request keeps its key (its lease is renewed), so a
concurrent retry waits for its answer instead of doing the work again."""

from __future__ import annotations

from typing import Any

import anyio
import httpx
import pytest

from calgate.settings import Settings
from calgate.store import tables as t
from calgate.store.db import now_us
from tests.conftest import Api
from tests.oauth_env import (  # noqa: F401 - fixtures
    Fakes,
    connect,
    events_of,
    fakes_fixture,
    oauth_runtime,
    seed_calendar,
)

pytestmark = pytest.mark.anyio

PROVIDERS = ["GOOGLE_OAUTH", "OUTLOOK"]
BODY: dict[str, Any] = {
    "title": "once",
    "start": {"date_time": "2026-03-01T10:00:00Z"},
    "end": {"date_time": "2026-03-01T11:00:00Z"},
}
LEASE = 1.2


@pytest.fixture(name="settings")
def lease_settings(settings: Settings, fakes: Fakes) -> Settings:
    return fakes.settings(settings, idempotency_lease_seconds=LEASE, idempotency_wait_seconds=10.0)


async def post(api: Api, account: str, calendar: str, key: str) -> httpx.Response:
    return await api.call(
        "POST",
        f"/api/v1/calendars/{calendar}/events",
        account_id=account,
        json=BODY,
        headers={"Idempotency-Key": key},
    )


async def abandon(api: Api, key: str) -> None:
    """Leave ``key`` as a SIGKILL right after the provider's answer would: still "in
    progress", its owner gone (lease lapsed), no answer stored."""
    await api.runtime.db.write(
        lambda c: c.execute(
            t.idempotency_keys.update()
            .where(t.idempotency_keys.c.key == key)
            .values(status=None, owner="dead", body=b"", expires_at=now_us() - 1)
        )
    )


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_create_retried_after_a_crash_finds_the_event(
    api: Api, fakes: Fakes, provider: str
) -> None:
    account = await connect(api, fakes, provider)
    calendar = seed_calendar(fakes, provider)
    first = await post(api, account, calendar, "k-crash")
    assert first.status_code == 200, first.text
    await abandon(api, "k-crash")
    again = await post(api, account, calendar, "k-crash")
    assert again.status_code == 200, again.text
    assert again.json()["event_id"] == first.json()["event_id"]
    assert len(events_of(fakes, provider)) == 1


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_slow_request_keeps_its_key_past_the_lease(
    api: Api, fakes: Fakes, provider: str
) -> None:
    account = await connect(api, fakes, provider)
    calendar = seed_calendar(fakes, provider)
    slow = 4 * LEASE
    fakes.state(provider).faults.add("/", method="POST", delay=slow)
    answers: list[httpx.Response] = []

    async def first() -> None:
        answers.append(await post(api, account, calendar, "k-slow"))

    async with anyio.create_task_group() as tg:
        tg.start_soon(first)
        await anyio.sleep(2 * LEASE)  # the first is still at the provider, past one lease
        second = await post(api, account, calendar, "k-slow")
    assert answers[0].status_code == 200, answers[0].text
    assert second.status_code == 200, second.text
    assert second.headers.get("idempotent-replayed") == "true"
    assert second.json() == answers[0].json()
    assert len(events_of(fakes, provider)) == 1
