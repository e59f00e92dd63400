"""OUTLOOK: Graph failures (faults armed on the test server) and the errors they give.

A create carries ``transactionId``: a retry after a lost answer or a 5xx gets the event the
first attempt made, never a second one (the test server's own count says so).
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

MS = "OUTLOOK"
CALENDARS = "/v1.0/me/calendars/"
BODY = {
    "title": "x",
    "start": {"date_time": "2026-03-01T10:00:00Z"},
    "end": {"date_time": "2026-03-01T11:00:00Z"},
}


def url(fakes: Fakes, event_id: str | None = None) -> str:
    base = f"/api/v1/calendars/{fakes.graph.default_calendar}/events"
    return base if event_id is None else f"{base}/{event_id}"


def posts(fakes: Fakes) -> list[Any]:
    return fakes.graph.requests.find("POST", CALENDARS)


async def test_throttled_create_waits_retry_after(api: Api, fakes: Fakes) -> None:
    account = await connect(api, fakes, MS)
    fakes.graph.faults.add(CALENDARS, method="POST", status=429, headers={"Retry-After": "1"})
    began = time.monotonic()
    r = await api.call("POST", url(fakes), account_id=account, json=BODY)
    assert r.status_code == 200, r.text
    assert time.monotonic() - began >= 1.0
    assert [p.status for p in posts(fakes)] == [429, 201]
    assert fakes.graph.creates == 1


async def test_lasting_throttling_is_429(api: Api, fakes: Fakes) -> None:
    account = await connect(api, fakes, MS)
    fakes.graph.faults.add(
        CALENDARS, method="GET", status=429, headers={"Retry-After": "1"}, times=None
    )
    r = await api.call("GET", url(fakes), account_id=account)
    assert r.status_code == 429, r.text
    assert r.json()["type"] == "errors/too_many_requests"
    assert "Too many requests" in r.json()["detail"]
    assert r.headers["retry-after"] == "1"
    assert len(fakes.graph.requests.find("GET", CALENDARS)) == 4


async def test_access_denied_is_403(api: Api, fakes: Fakes) -> None:
    account = await connect(api, fakes, MS)
    fakes.graph.faults.add(CALENDARS, method="POST", status=403)
    r = await api.call("POST", url(fakes), account_id=account, json=BODY)
    assert r.status_code == 403, r.text
    assert r.json()["type"] == "errors/insufficient_permissions"
    assert "Access is denied" in r.json()["detail"]
    assert len(posts(fakes)) == 1


async def test_service_unavailable_on_a_read_is_retried(api: Api, fakes: Fakes) -> None:
    account = await connect(api, fakes, MS)
    fakes.graph.faults.add(CALENDARS, method="GET", status=503, times=2)
    r = await api.call("GET", url(fakes), account_id=account)
    assert r.status_code == 200, r.text
    assert [g.status for g in fakes.graph.requests.find("GET", CALENDARS)] == [503, 503, 200]


async def test_lasting_5xx_is_500_provider_error(api: Api, fakes: Fakes) -> None:
    account = await connect(api, fakes, MS)
    fakes.graph.faults.add(CALENDARS, method="GET", status=500, times=None)
    r = await api.call("GET", url(fakes), account_id=account)
    assert r.status_code == 500, r.text
    assert r.json()["type"] == "errors/provider_error"


async def test_5xx_on_create_is_retried_with_the_same_transaction(api: Api, fakes: Fakes) -> None:
    account = await connect(api, fakes, MS)
    fakes.graph.faults.add(CALENDARS, method="POST", status=504)
    r = await api.call("POST", url(fakes), account_id=account, json=BODY)
    assert r.status_code == 200, r.text
    transactions = {p.json["transactionId"] for p in posts(fakes)}
    assert len(posts(fakes)) == 2 and len(transactions) == 1
    assert fakes.graph.creates == 1


async def test_lost_answer_of_a_create_makes_no_second_event(api: Api, fakes: Fakes) -> None:
    """The POST lands, its answer is lost: the retry carries the same transactionId and Graph
    answers the event the first attempt made."""
    account = await connect(api, fakes, MS)
    assert fakes.network is not None
    fakes.network.lose("POST", CALENDARS)
    r = await api.call("POST", url(fakes), account_id=account, json=BODY)
    assert r.status_code == 200, r.text
    assert [p.status for p in posts(fakes)] == [201, 201]
    assert posts(fakes)[0].json["transactionId"] == posts(fakes)[1].json["transactionId"]
    assert fakes.graph.creates == 1
    assert [e["id"] for e in fakes.graph.stored()] == [r.json()["event_id"]]


async def test_lost_answer_of_an_exdate_deletion_is_retried(api: Api, fakes: Fakes) -> None:
    account = await connect(api, fakes, MS)
    assert fakes.network is not None
    fakes.network.lose("DELETE", CALENDARS)
    body = {
        **BODY,
        "recurrence": ["RRULE:FREQ=DAILY;COUNT=3", "EXDATE:20260302T100000Z"],
    }
    r = await api.call("POST", url(fakes), account_id=account, json=body)
    assert r.status_code == 200, r.text
    assert [d.status for d in fakes.graph.requests.find("DELETE")] == [204, 404]
    assert fakes.graph.creates == 1


async def test_unknown_calendar_is_404(api: Api, fakes: Fakes) -> None:
    account = await connect(api, fakes, MS)
    r = await api.call("POST", "/api/v1/calendars/AAMkNOPE/events", account_id=account, json=BODY)
    assert r.status_code == 404, r.text
    assert r.json()["type"] == "errors/resource_not_found"
    assert "AAMkNOPE" in r.json()["detail"]
    assert fakes.graph.creates == 0
