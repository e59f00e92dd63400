"""Rate limit per API key: token buckets, 429 with Retry-After, exemptions."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from calgate.api.middleware.ratelimit import MAX_BUCKETS, RateLimit
from calgate.settings import Settings
from tests.conftest import Api


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path,
        sqlite_synchronous="NORMAL",
        rate_limit_per_second=2,
        rate_limit_burst=3,
    )


@pytest.mark.anyio
async def test_past_the_burst_a_key_gets_429_with_retry_after(api: Api) -> None:
    statuses = [(await api.call("GET", api.events_url())).status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    limited = await api.call("GET", api.events_url())
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "1"
    assert "x-request-id" in limited.headers
    assert limited.json() == {
        "status": 429,
        "type": "errors/too_many_requests",
        "title": "Too many requests",
        "detail": "this API key may make 2 requests per second (bursts of 3); retry in 1 s",
        "instance": api.events_url(),
    }
    # Another key (tenant B) has its own bucket.
    other = await api.call("GET", api.events_url(api.b.calendar_id), tenant=api.b)
    assert other.status_code == 200
    # A token comes back every 1/2 s.
    await anyio.sleep(0.55)
    assert (await api.call("GET", api.events_url())).status_code == 200
    assert (await api.call("GET", api.events_url())).status_code == 429


@pytest.mark.anyio
async def test_limited_requests_do_no_work(api: Api) -> None:
    body = {"title": "x", "start": {"date": "2026-01-01"}, "end": {"date": "2026-01-02"}}
    answers = [await api.call("POST", api.events_url(), json=body) for _ in range(5)]
    assert [r.status_code for r in answers] == [200, 200, 200, 429, 429]
    listed = await api.call("GET", api.events_url())
    assert listed.status_code == 429
    await anyio.sleep(0.55)
    listed = await api.call("GET", api.events_url())
    assert len(listed.json()["data"]) == 3


@pytest.mark.anyio
async def test_health_readiness_and_metrics_are_never_limited(api: Api) -> None:
    headers = {"X-API-KEY": api.a.key}
    for _ in range(3):
        await api.call("GET", api.events_url())
    for path in ("/healthz", "/readyz", "/metrics"):
        for _ in range(10):
            assert (await api.client.get(path, headers=headers)).status_code == 200


@pytest.mark.anyio
async def test_requests_without_a_key_are_401_not_429(api: Api) -> None:
    for _ in range(6):
        r = await api.client.get(api.events_url())
        assert r.status_code == 401


def test_bucket_arithmetic() -> None:
    limiter = RateLimit(app=None, per_second=2, burst=2)  # type: ignore[arg-type]
    assert limiter.take(b"k", 100.0) == 0
    assert limiter.take(b"k", 100.0) == 0
    assert limiter.take(b"k", 100.0) == pytest.approx(0.5)
    assert limiter.take(b"k", 100.25) == pytest.approx(0.25)
    assert limiter.take(b"k", 100.5) == 0
    # A long pause refills up to the burst, no further.
    assert limiter.take(b"k", 200.0) == 0
    assert limiter.take(b"k", 200.0) == 0
    assert limiter.take(b"k", 200.0) > 0


def test_default_burst_is_two_seconds_worth() -> None:
    assert RateLimit(app=None, per_second=10).burst == 20  # type: ignore[arg-type]
    assert RateLimit(app=None, per_second=0.2).burst == 1  # type: ignore[arg-type]


def test_memory_stays_bounded_under_many_keys() -> None:
    limiter = RateLimit(app=None, per_second=1, burst=5)  # type: ignore[arg-type]
    for i in range(MAX_BUCKETS + 500):
        limiter.take(str(i).encode(), 0.0)
    assert len(limiter._buckets) <= MAX_BUCKETS
    # Buckets that refilled are forgotten first; busy ones are kept.
    limiter = RateLimit(app=None, per_second=1, burst=5)  # type: ignore[arg-type]
    for _ in range(5):
        limiter.take(b"busy", 1000.0)
    for i in range(MAX_BUCKETS - 1):
        limiter.take(str(i).encode(), 0.0)
    limiter.take(b"newcomer", 1000.0)
    assert b"busy" in limiter._buckets
    assert b"newcomer" in limiter._buckets
    assert len(limiter._buckets) == 2


def test_disabled_by_default(tmp_path: Path) -> None:
    assert Settings(data_dir=tmp_path).rate_limit_per_second == 0
