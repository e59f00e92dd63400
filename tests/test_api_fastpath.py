"""The hot event routes answered before FastAPI's routing (``calgate.api.fastpath``): the same
bytes as FastAPI's own routes (``fast_routes`` off), errors included, and anything unusual left
to FastAPI."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from calgate.api.app import create_app
from calgate.api.fastpath import EventRoutes
from calgate.settings import Settings
from tests.conftest import SEED_BODY, Api

pytestmark = pytest.mark.anyio

ID = re.compile(rb'"event_id":"[^"]+"')


@pytest.fixture
async def fastapi_only(api: Api, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The same runtime served without the fast path: FastAPI answers every route."""
    app = create_app(settings.model_copy(update={"fast_routes": False}), api.runtime)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://calgate.test") as client:
        yield client


async def same(
    api: Api,
    other: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    query: list[tuple[str, str]] | None = None,
    headers: dict[str, str] | None = None,
    content: bytes | None = None,
    mask_id: bool = False,
) -> httpx.Response:
    """Send one request to both apps; the answers must be the same bytes (status, headers in
    order, body). ``mask_id``: a create's answers differ in the new event's id only."""
    sent = {"X-Request-ID": "fastpath-test", **(headers or {})}
    if "X-API-KEY" not in sent:
        sent["X-API-KEY"] = api.a.key
    sent = {k: v for k, v in sent.items() if v}  # "" leaves the header out
    answers = [
        await client.request(method, url, params=query, headers=sent, content=content)
        for client in (api.client, other)
    ]
    fast, slow = answers
    bodies = [ID.sub(b'"event_id":"-"', a.content) if mask_id else a.content for a in answers]
    assert (fast.status_code, fast.headers.raw, bodies[0]) == (
        slow.status_code,
        slow.headers.raw,
        bodies[1],
    )
    return fast


def body(**changes: Any) -> bytes:
    return httpx.Request("POST", "/", json={**SEED_BODY, **changes}).content


async def test_get_and_errors_are_the_same_bytes(api: Api, fastapi_only: httpx.AsyncClient) -> None:
    event_id = await api.create(SEED_BODY)
    url = f"{api.events_url()}/{event_id}"
    own = [("account_id", api.a.account_id)]
    r = await same(api, fastapi_only, "GET", url, query=own)
    assert r.status_code == 200 and r.json()["id"] == event_id
    for query, headers, status in [
        (own, {"X-API-KEY": ""}, 401),  # no key
        (own, {"X-API-KEY": "nope"}, 401),  # unknown key
        ([], None, 400),  # no account_id
        ([("account_id", "")], None, 400),
        ([("account_id", "x" * 81)], None, 400),
        ([*own, ("limit", "5")], None, 400),  # not a parameter of a GET
        ([*own, *own], None, 200),  # repeated: FastAPI's reading decides
        ([("account_id", "no-such-account")], None, 404),
        ([("account_id", api.b.account_id)], None, 404),  # another tenant's account
    ]:
        r = await same(api, fastapi_only, "GET", url, query=query, headers=headers)
        assert r.status_code == status, (query, r.text)
    r = await same(api, fastapi_only, "GET", f"{api.events_url()}/no-such-event", query=own)
    assert r.status_code == 404
    r = await same(api, fastapi_only, "GET", f"{api.events_url('nope')}/{event_id}", query=own)
    assert r.status_code == 404
    await same(api, fastapi_only, "HEAD", url, query=own)
    await same(api, fastapi_only, "GET", f"{url}/", query=own)  # a redirect, from FastAPI


async def test_lists_filters_and_cursors_are_the_same_bytes(
    api: Api, fastapi_only: httpx.AsyncClient
) -> None:
    for i in range(6):
        await api.create(
            {
                **SEED_BODY,
                "title": f"Review {i}",
                "transparency": "transparent" if i % 2 else "opaque",
                "start": {"date_time": f"2026-01-{20 + i}T09:00:00", "time_zone": "UTC"},
                "end": {"date_time": f"2026-01-{20 + i}T10:00:00", "time_zone": "UTC"},
                **({} if i % 3 else {"recurrence": None}),
            }
        )
    own = [("account_id", api.a.account_id)]
    window = [("start", "2026-01-01T00:00:00Z"), ("end", "2026-03-01T00:00:00Z")]
    queries = [
        own,
        [*own, ("limit", "2")],
        [*own, *window, ("expand_recurring", "true"), ("limit", "7")],
        [*own, ("busy", "true"), ("title", "Review"), ("attendees", "ada@example.org")],
        [*own, ("event_type", "default"), ("is_cancelled", "false"), ("offset", "2")],
        [*own, ("updated_after", "2020-01-01T00:00:00Z"), ("location", "Room")],
    ]
    pages = 0
    for query in queries:
        r = await same(api, fastapi_only, "GET", api.events_url(), query=query)
        assert r.status_code == 200, r.text
        while r.json()["next_cursor"]:  # every page of the list, both ways
            after = [*[p for p in query if p[0] != "offset"], ("cursor", r.json()["next_cursor"])]
            r = await same(api, fastapi_only, "GET", api.events_url(), query=after)
            assert r.status_code == 200, r.text
            pages += 1
    assert pages >= 3
    for query, status in [
        ([*own, ("ofset", "2")], 400),  # unknown parameter
        ([*own, ("limit", "0")], 400),
        ([*own, ("limit", "abc")], 400),
        ([*own, ("limit", "251")], 400),
        ([*own, ("title", "x" * 1025)], 400),
        ([*own, ("cursor", "not-a-cursor")], 400),
        ([*own, ("cursor", "x"), ("offset", "1")], 400),
        ([*own, ("start", "2026-02-01T00:00:00Z"), ("end", "2026-01-01T00:00:00Z")], 400),
        ([*own, ("start", "yesterday")], 400),
        ([*own, ("busy", "maybe")], 400),
        ([*own, ("title", "")], 200),
        ([*own, ("limit", "1"), ("limit", "3")], 200),
        ([("account_id", api.b.account_id)], 404),
    ]:
        r = await same(api, fastapi_only, "GET", api.events_url(), query=query)
        assert r.status_code == status, (query, r.text)
    r = await same(api, fastapi_only, "GET", api.events_url(), query=own, headers={"X-API-KEY": ""})
    assert r.status_code == 401


async def test_creates_and_their_errors_are_the_same_bytes(
    api: Api, fastapi_only: httpx.AsyncClient
) -> None:
    own = [("account_id", api.a.account_id)]
    json = {"Content-Type": "application/json"}
    url = api.events_url()
    r = await same(
        api, fastapi_only, "POST", url, query=own, headers=json, content=body(), mask_id=True
    )
    assert r.status_code == 200, r.text
    in_body = body(account_id=api.a.account_id, calendar_id=api.a.calendar_id)
    r = await same(api, fastapi_only, "POST", url, headers=json, content=in_body, mask_id=True)
    assert r.status_code == 200, r.text
    for query, headers, content, status in [
        (own, {"X-API-KEY": ""}, body(), 401),
        (own, json, b"", 400),  # no body
        (own, json, b"{not json", 400),
        (own, json, body(colour="red"), 400),  # unknown field
        (own, json, body(title="x" * 2000), 400),
        (own, {"Content-Type": "text/plain"}, body(), 415),
        ([], json, body(), 400),  # no account_id anywhere
        ([("account_id", "")], json, body(), 400),
        (own, json, body(account_id="another"), 400),  # the body and the query disagree
        (own, json, body(calendar_id="another"), 400),
        (own, json, body(is_all_day=True), 400),
        ([("account_id", api.b.account_id)], json, body(), 404),
        ([*own, *own], json, body(), 200),
    ]:
        r = await same(
            api,
            fastapi_only,
            "POST",
            url,
            query=query,
            headers=headers,
            content=content,
            mask_id=True,
        )
        assert r.status_code == status, (query, content[:40], r.text)
    gone = api.events_url("no-such-calendar")
    r = await same(api, fastapi_only, "POST", gone, query=own, headers=json, content=body())
    assert r.status_code == 404


async def test_an_idempotent_create_is_replayed_by_either(
    api: Api, fastapi_only: httpx.AsyncClient
) -> None:
    headers = {"Content-Type": "application/json", "Idempotency-Key": "fastpath-1"}
    own = [("account_id", api.a.account_id)]
    first = await api.client.post(
        api.events_url(), params=own, headers={"X-API-KEY": api.a.key, **headers}, content=body()
    )
    again = await fastapi_only.post(
        api.events_url(), params=own, headers={"X-API-KEY": api.a.key, **headers}, content=body()
    )
    assert first.status_code == again.status_code == 200
    assert first.content == again.content
    assert again.headers["idempotent-replayed"] == "true"


# Which requests the fast path takes: FastAPI is replaced by an app that says it was reached.


async def fastapi(scope: Scope, receive: Receive, send: Send) -> None:
    """Answers 299 with the body it read: what reached FastAPI, and with which body."""
    read = await Request(scope, receive).body()
    await Response(read, status_code=299)(scope, receive, send)


@pytest.fixture
async def bare(api: Api, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, api.runtime)
    layer = EventRoutes(fastapi, runtime=api.runtime, routes=app.router.routes)
    transport = httpx.ASGITransport(app=layer)
    async with httpx.AsyncClient(transport=transport, base_url="http://calgate.test") as client:
        yield client


async def test_the_common_case_is_answered_before_fastapi(
    api: Api, bare: httpx.AsyncClient
) -> None:
    event_id = await api.create(SEED_BODY)
    key = {"X-API-KEY": api.a.key}
    own = {"account_id": api.a.account_id}
    url = api.events_url()
    taken = [
        await bare.get(f"{url}/{event_id}", params=own, headers=key),
        await bare.get(f"{url}/unknown", params=own, headers=key),
        await bare.get(url, params={**own, "limit": "2", "title": "Quarterly"}, headers=key),
        await bare.get(url, params={**own, "limit": "0"}, headers=key),  # event_query's 400
        await bare.post(url, params=own, headers=key, content=body()),
        await bare.post(url, params=own, headers=key, content=body(calendar_id="x")),
    ]
    assert [r.status_code for r in taken] == [200, 404, 200, 400, 200, 400]
    left = [
        (await bare.get(f"{url}/{event_id}", params=own), b""),
        (await bare.get(f"{url}/{event_id}", params={**own, "x": "1"}, headers=key), b""),
        (await bare.get(url, params={**own, "title": "x" * 1025}, headers=key), b""),
        (await bare.get(url, params={"account_id": ""}, headers=key), b""),
        (await bare.get(url, headers=key), b""),
        (await bare.post(url, params=own, headers=key, content=b"{"), b"{"),
        (await bare.post(url, params=own, headers=key, content=b" "), b" "),
        (await bare.post(url, params=own, headers=key, content=body(x=1)), body(x=1)),
        (await bare.post(url, params=own, headers={**key, "Content-Type": "text/plain"}), b""),
        (await bare.patch(f"{url}/{event_id}", params=own, headers=key, content=b"{}"), b"{}"),
    ]
    assert [(r.status_code, r.content) for r, _ in left] == [(299, sent) for _, sent in left]
