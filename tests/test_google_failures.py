"""GOOGLE_OAUTH: provider failures (faults armed on the test server) and the errors they give.

The table of providers.md: rate limits are retried within the request's budget honouring
Retry-After, then 429 with Retry-After; 5xx retried when safe, then 500 provider_error; 403
permission → 403; 404 calendar → 404. A create is never made twice by a retry.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.conftest import Api
from tests.oauth_env import (  # noqa: F401 - fixtures
    Fakes,
    connect,
    fakes_fixture,
    oauth_runtime,
    oauth_settings,
)

pytestmark = pytest.mark.anyio

G = "GOOGLE_OAUTH"
EVENTS = "/calendar/v3/calendars/"
BODY = {
    "title": "x",
    "start": {"date_time": "2026-03-01T10:00:00Z"},
    "end": {"date_time": "2026-03-01T11:00:00Z"},
}


def url(fakes: Fakes, event_id: str | None = None) -> str:
    base = f"/api/v1/calendars/{fakes.google.email}/events"
    return base if event_id is None else f"{base}/{event_id}"


def inserts(fakes: Fakes) -> list[Any]:
    return fakes.google.requests.find("POST", EVENTS)


async def test_429_is_retried_after_retry_after(api: Api, fakes: Fakes) -> None:
    account = await connect(api, fakes, G)
    fakes.google.faults.add(EVENTS, method="POST", status=429, headers={"Retry-After": "1"})
    began = time.monotonic()
    r = await api.call("POST", url(fakes), account_id=account, json=BODY)
    assert r.status_code == 200, r.text
    assert time.monotonic() - began >= 1.0
    assert [i.status for i in inserts(fakes)] == [429, 200]
    assert fakes.google.inserts == 1


async def test_lasting_429_answers_429_with_retry_after(api: Api, fakes: Fakes) -> None:
    account = await connect(api, fakes, G)
    fakes.google.faults.add(
        EVENTS, method="POST", status=429, headers={"Retry-After": "0"}, times=None
    )
    r = await api.call("POST", url(fakes), account_id=account, json=BODY)
    assert r.status_code == 429, r.text
    assert r.json()["type"] == "errors/too_many_requests"
    assert r.headers["retry-after"] == "1"
    assert len(inserts(fakes)) == 4  # the first try and provider_retries (3) more
    assert fakes.google.inserts == 0


async def test_retry_after_past_the_deadline_is_not_waited(api: Api, fakes: Fakes) -> None:
    account = await connect(api, fakes, G)
    fakes.google.faults.add(EVENTS, method="GET", status=429, headers={"Retry-After": "120"})
    began = time.monotonic()
    r = await api.call("GET", url(fakes), account_id=account)
    assert r.status_code == 429, r.text
    assert r.headers["retry-after"] == "120"
    assert time.monotonic() - began < 5
    assert len(fakes.google.requests.find("GET", EVENTS)) == 1


async def test_403_rate_limit_is_retried(api: Api, fakes: Fakes) -> None:
    account = await connect(api, fakes, G)
    for reason in ("rateLimitExceeded", "userRateLimitExceeded"):
        fakes.google.faults.add(EVENTS, method="GET", status=403, reason=reason)
    r = await api.call("GET", url(fakes), account_id=account)
    assert r.status_code == 200, r.text
    assert [g.status for g in fakes.google.requests.find("GET", EVENTS)] == [403, 403, 200]


async def test_403_permission_is_403(api: Api, fakes: Fakes) -> None:
    account = await connect(api, fakes, G)
    fakes.google.faults.add(EVENTS, method="POST", status=403, reason="insufficientPermissions")
    r = await api.call("POST", url(fakes), account_id=account, json=BODY)
    assert r.status_code == 403, r.text
    assert r.json()["type"] == "errors/insufficient_permissions"
    assert "insufficient authentication scopes" in r.json()["detail"]
    assert len(inserts(fakes)) == 1  # not retried


async def test_403_quota_exceeded_is_429(api: Api, fakes: Fakes) -> None:
    account = await connect(api, fakes, G)
    fakes.google.faults.add(EVENTS, method="GET", status=403, reason="quotaExceeded")
    r = await api.call("GET", url(fakes), account_id=account)
    assert r.status_code == 429, r.text
    assert r.json()["type"] == "errors/too_many_requests"
    assert "usage limits" in r.json()["detail"]
    assert r.headers["retry-after"] == "3600"


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_5xx_on_a_read_is_retried(api: Api, fakes: Fakes, status: int) -> None:
    account = await connect(api, fakes, G)
    fakes.google.faults.add(EVENTS, method="GET", status=status, times=2)
    r = await api.call("GET", url(fakes), account_id=account)
    assert r.status_code == 200, r.text
    assert [g.status for g in fakes.google.requests.find("GET", EVENTS)] == [status, status, 200]


async def test_lasting_5xx_is_500_provider_error(api: Api, fakes: Fakes) -> None:
    account = await connect(api, fakes, G)
    fakes.google.faults.add(EVENTS, method="GET", status=500, times=None)
    r = await api.call("GET", url(fakes), account_id=account)
    assert r.status_code == 500, r.text
    assert r.json()["type"] == "errors/provider_error"
    assert "Backend Error" in r.json()["detail"]
    assert len(fakes.google.requests.find("GET", EVENTS)) == 4


async def test_5xx_on_create_is_retried_with_the_same_id(api: Api, fakes: Fakes) -> None:
    account = await connect(api, fakes, G)
    fakes.google.faults.add(EVENTS, method="POST", status=503)
    r = await api.call("POST", url(fakes), account_id=account, json=BODY)
    assert r.status_code == 200, r.text
    sent = [i.json["id"] for i in inserts(fakes)]
    assert sent == [r.json()["event_id"]] * 2
    assert fakes.google.inserts == 1


async def test_lost_answer_of_a_create_makes_no_second_event(api: Api, fakes: Fakes) -> None:
    """The insert lands, its answer is lost: the retry meets 409 and fetches that event."""
    account = await connect(api, fakes, G)
    assert fakes.network is not None
    fakes.network.lose("POST", EVENTS)
    r = await api.call("POST", url(fakes), account_id=account, json=BODY)
    assert r.status_code == 200, r.text
    event_id = r.json()["event_id"]
    assert [i.status for i in inserts(fakes)] == [200, 409]
    assert fakes.google.inserts == 1
    assert [e["id"] for e in fakes.google.stored()] == [event_id]
    fetched = fakes.google.requests.find("GET", f"{EVENTS}{fakes.google.email}/events/")
    assert [g.path.rsplit("/", 1)[1] for g in fetched] == [event_id]
    r = await api.call("GET", url(fakes, event_id), account_id=account)
    assert r.status_code == 200 and r.json()["title"] == "x"


async def test_lost_answer_of_a_delete_is_still_a_delete(api: Api, fakes: Fakes) -> None:
    account = await connect(api, fakes, G)
    event_id = (await api.call("POST", url(fakes), account_id=account, json=BODY)).json()[
        "event_id"
    ]
    assert fakes.network is not None
    fakes.network.lose("DELETE", EVENTS)
    r = await api.call("DELETE", url(fakes, event_id), account_id=account)
    assert r.status_code == 200, r.text
    assert [d.status for d in fakes.google.requests.find("DELETE")] == [204, 410]
    assert fakes.google.stored() == []


async def test_lost_answers_of_a_read_end_in_503(api: Api, fakes: Fakes) -> None:
    account = await connect(api, fakes, G)
    assert fakes.network is not None
    fakes.network.lose("GET", EVENTS, times=10)
    r = await api.call("GET", url(fakes), account_id=account)
    assert r.status_code == 503, r.text
    assert r.json()["type"] == "errors/network_down"
    assert len(fakes.google.requests.find("GET", EVENTS)) == 4


async def test_unknown_calendar_is_404(api: Api, fakes: Fakes) -> None:
    account = await connect(api, fakes, G)
    r = await api.call("GET", "/api/v1/calendars/nobody@example.org/events", account_id=account)
    assert r.status_code == 404, r.text
    assert r.json()["type"] == "errors/resource_not_found"
    assert "nobody@example.org" in r.json()["detail"]
