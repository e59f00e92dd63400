"""Failed requests release their Idempotency-Key; two instances on one database agree.

The failure cases drive the real middleware in front of a small app whose endpoints fail on
demand (calgate's own routes do not fail at will); the key rows are in the real database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from fastapi import FastAPI

from calgate.api.app import create_app
from calgate.api.middleware import Idempotency, Observability
from calgate.api.responses import JSONResponse
from calgate.runtime import Runtime
from calgate.settings import Settings
from tests.conftest import Api

pytestmark = pytest.mark.anyio


@pytest.fixture
async def flaky(api: Api) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, int]]]:
    runs = {"503": 0, "boom": 0, "409": 0}
    app = FastAPI()
    app.state.runtime = api.runtime

    @app.post("/fails-once")
    async def fails_once() -> JSONResponse:
        runs["503"] += 1
        if runs["503"] == 1:
            return JSONResponse({"type": "errors/service_unavailable"}, status_code=503)
        return JSONResponse({"done": runs["503"]})

    @app.post("/raises-once")
    async def raises_once() -> JSONResponse:
        runs["boom"] += 1
        if runs["boom"] == 1:
            raise RuntimeError("boom")
        return JSONResponse({"done": runs["boom"]})

    @app.post("/conflict")
    async def conflict() -> JSONResponse:
        runs["409"] += 1
        return JSONResponse({"run": runs["409"]}, status_code=409)

    app.add_middleware(Idempotency, wait_seconds=0.2)
    app.add_middleware(Observability, metrics=False, access_log=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://calgate.test") as client:
        client.headers["X-API-KEY"] = api.a.key
        yield client, runs


async def test_a_5xx_releases_the_key_so_a_retry_does_the_work(
    flaky: tuple[httpx.AsyncClient, dict[str, int]],
) -> None:
    client, runs = flaky
    first = await client.post("/fails-once", json={}, headers={"Idempotency-Key": "r1"})
    assert first.status_code == 503
    retry = await client.post("/fails-once", json={}, headers={"Idempotency-Key": "r1"})
    assert retry.status_code == 200
    assert retry.json() == {"done": 2}
    assert "idempotent-replayed" not in retry.headers
    third = await client.post("/fails-once", json={}, headers={"Idempotency-Key": "r1"})
    assert third.json() == {"done": 2}
    assert third.headers["idempotent-replayed"] == "true"
    assert runs["503"] == 2


async def test_a_crashing_request_releases_the_key(
    flaky: tuple[httpx.AsyncClient, dict[str, int]],
) -> None:
    client, runs = flaky
    first = await client.post("/raises-once", json={}, headers={"Idempotency-Key": "r2"})
    assert first.status_code == 500
    assert first.json()["type"] == "errors/unexpected_error"
    retry = await client.post("/raises-once", json={}, headers={"Idempotency-Key": "r2"})
    assert retry.json() == {"done": 2}
    assert runs["boom"] == 2


async def test_a_4xx_is_kept(flaky: tuple[httpx.AsyncClient, dict[str, int]]) -> None:
    client, runs = flaky
    for _ in range(3):
        r = await client.post("/conflict", json={}, headers={"Idempotency-Key": "r3"})
        assert r.status_code == 409
        assert r.json() == {"run": 1}
    assert runs["409"] == 1


@pytest.fixture
async def two_instances(api: Api, settings: Settings) -> AsyncIterator[list[httpx.AsyncClient]]:
    """A second calgate on the same database (its own runtime: pool, writer, caches)."""
    other = Runtime.build(settings)
    await other.start()
    clients = []
    try:
        async with (
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=create_app(settings, api.runtime)),
                base_url="http://one.test",
            ) as one,
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=create_app(settings, other)),
                base_url="http://two.test",
            ) as two,
        ):
            clients = [one, two]
            yield clients
    finally:
        await other.aclose()


async def test_two_instances_on_one_database_make_one_event(
    api: Api, two_instances: list[httpx.AsyncClient]
) -> None:
    body: dict[str, Any] = {
        "title": "Across",
        "start": {"date": "2026-04-01"},
        "end": {"date": "2026-04-02"},
    }
    answers: list[httpx.Response] = []

    async def send(client: httpx.AsyncClient) -> None:
        answers.append(
            await client.post(
                api.events_url(),
                params={"account_id": api.a.account_id},
                json=body,
                headers={"X-API-KEY": api.a.key, "Idempotency-Key": "across"},
            )
        )

    async with anyio.create_task_group() as tg:
        for i in range(10):
            tg.start_soon(send, two_instances[i % 2])
    assert [r.status_code for r in answers] == [200] * 10
    assert len({r.json()["event_id"] for r in answers}) == 1
    listed = await api.call("GET", api.events_url())
    assert [e["title"] for e in listed.json()["data"]] == ["Across"]


def test_settings_reach_the_middleware(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        idempotency_ttl_seconds=60,
        idempotency_wait_seconds=3,
        idempotency_lease_seconds=30,
    )
    app = create_app(settings)
    found = [m for m in app.user_middleware if m.cls is Idempotency]
    assert len(found) == 1
    assert found[0].kwargs == {"ttl_seconds": 60, "wait_seconds": 3, "lease_seconds": 30}
