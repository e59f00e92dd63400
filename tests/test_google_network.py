"""Google and Outlook over real sockets: the test servers under uvicorn, calgate's own HTTP client
on the network (no transport injected). Deadlines, dropped connections, refused connections and
Graph's limit of 4 calls at once per mailbox need a socket."""

from __future__ import annotations

import time
from collections.abc import Iterator

import anyio
import pytest

from calgate.settings import Settings
from tests.conftest import Api
from tests.oauth_env import Fakes, connect, seed_calendar

pytestmark = pytest.mark.anyio

BODY = {
    "title": "x",
    "start": {"date_time": "2026-03-01T10:00:00Z"},
    "end": {"date_time": "2026-03-01T11:00:00Z"},
}
PROVIDERS = ["GOOGLE_OAUTH", "OUTLOOK"]
PREFIX = {"GOOGLE_OAUTH": "/calendar/v3/calendars/", "OUTLOOK": "/v1.0/me/calendars/"}


@pytest.fixture(name="fakes")
def served_fakes() -> Iterator[Fakes]:
    with Fakes().served() as fakes:
        yield fakes


@pytest.fixture(name="settings")
def socket_settings(settings: Settings, fakes: Fakes) -> Settings:
    return fakes.settings(settings, provider_timeout_seconds=1.5)


def url(fakes: Fakes, provider: str) -> str:
    return f"/api/v1/calendars/{seed_calendar(fakes, provider)}/events"


def creates(fakes: Fakes, provider: str) -> int:
    return fakes.google.inserts if provider == "GOOGLE_OAUTH" else fakes.graph.creates


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_round_trip_over_the_network(api: Api, fakes: Fakes, provider: str) -> None:
    account = await connect(api, fakes, provider)
    r = await api.call("POST", url(fakes, provider), account_id=account, json=BODY)
    assert r.status_code == 200, r.text
    event_id = r.json()["event_id"]
    r = await api.call("GET", f"{url(fakes, provider)}/{event_id}", account_id=account)
    assert r.status_code == 200, r.text
    assert r.json()["start"] == {"date_time": "2026-03-01T10:00:00+00:00", "time_zone": "UTC"}


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_no_answer_within_the_deadline_is_504(api: Api, fakes: Fakes, provider: str) -> None:
    account = await connect(api, fakes, provider)
    fakes.state(provider).faults.add(PREFIX[provider], method="GET", delay=30)
    began = time.monotonic()
    r = await api.call("GET", url(fakes, provider), account_id=account)
    took = time.monotonic() - began
    fakes.state(provider).faults.release()
    assert r.status_code == 504, r.text
    assert r.json()["type"] == "errors/request_timeout"
    assert "1.5 s" in r.json()["detail"]
    assert 1.4 < took < 5


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_dropped_connection_on_a_read_is_retried(
    api: Api, fakes: Fakes, provider: str
) -> None:
    account = await connect(api, fakes, provider)
    state = fakes.state(provider)
    state.faults.add(PREFIX[provider], method="GET", drop=True)
    r = await api.call("GET", url(fakes, provider), account_id=account)
    assert r.status_code == 200, r.text
    assert [g.status for g in state.requests.find("GET", PREFIX[provider])] == [None, 200]


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_dropped_connections_end_in_503(api: Api, fakes: Fakes, provider: str) -> None:
    account = await connect(api, fakes, provider)
    fakes.state(provider).faults.add(PREFIX[provider], method="GET", drop=True, times=None)
    r = await api.call("GET", url(fakes, provider), account_id=account)
    assert r.status_code == 503, r.text
    assert r.json()["type"] == "errors/network_down"


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_dropped_create_is_retried_once_made(api: Api, fakes: Fakes, provider: str) -> None:
    account = await connect(api, fakes, provider)
    state = fakes.state(provider)
    state.faults.add(PREFIX[provider], method="POST", drop=True)
    r = await api.call("POST", url(fakes, provider), account_id=account, json=BODY)
    assert r.status_code == 200, r.text
    assert len(state.requests.find("POST", PREFIX[provider])) == 2
    assert creates(fakes, provider) == 1


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_refused_connection_is_503(api: Api, fakes: Fakes, provider: str) -> None:
    account = await connect(api, fakes, provider)
    fakes.stop()  # the provider is gone: its port refuses connections
    r = await api.call("GET", url(fakes, provider), account_id=account)
    assert r.status_code == 503, r.text
    assert r.json()["type"] == "errors/network_down"
    assert "connection refused" in r.json()["detail"]


async def test_at_most_four_calls_at_once_per_mailbox(api: Api, fakes: Fakes) -> None:
    account = await connect(api, fakes, "OUTLOOK")
    fakes.graph.faults.add("/v1.0/me/calendars/", method="GET", delay=0.3, times=None)
    fakes.graph.requests.clear()
    statuses: list[int] = []

    async def one() -> None:
        r = await api.call("GET", url(fakes, "OUTLOOK"), account_id=account)
        statuses.append(r.status_code)

    async with anyio.create_task_group() as tg:
        for _ in range(8):
            tg.start_soon(one)
    assert statuses == [200] * 8
    assert fakes.graph.requests.max_in_flight == 4
