"""Errors under /v2/ in API v2's shape (its "Error responses" reference: ``{"object": "Error",
"type", "status", "title", "detail", "req_id"}``, types written thrower/info, ``api/…`` for
calgate's own and ``provider/…`` for a provider's); v1 keeps its shape beside them, for the same
mistakes."""

from __future__ import annotations

from typing import Any

import pytest

from calgate.errors import CATALOGUE, v2_type
from tests.conftest import Api

pytestmark = pytest.mark.anyio

V2_FIELDS = {"object", "type", "status", "title", "detail", "req_id"}


def v2_error(r: Any, status: int, kind: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()
    assert set(body) == V2_FIELDS, body
    assert body["object"] == "Error" and body["type"] == kind and body["status"] == status
    assert body["req_id"] == r.headers["x-request-id"]
    return body


async def test_v2_errors_in_v2_shape_v1_unchanged(api: Api) -> None:
    key = {"X-API-KEY": api.a.key}
    v2 = f"/v2/{api.a.account_id}/calendars/{api.a.calendar_id}/events"
    # calgate's own refusals: api/…
    v2_error(await api.client.get(v2), 401, "api/missing_credentials")
    body = v2_error(
        await api.client.get(v2, params={"limt": "2"}, headers=key), 400, "api/invalid_parameters"
    )
    assert body["detail"].startswith("limt")
    v2_error(await api.client.get(f"{v2}/nope", headers=key), 404, "api/resource_not_found")
    v2_error(
        await api.client.post(v2, json={"title": 3}, headers=key), 400, "api/invalid_parameters"
    )
    v2_error(await api.client.put(v2, json={}, headers=key), 405, "api/method_not_allowed")
    v2_error(await api.client.get("/v2/nowhere/at/all", headers=key), 404, "api/resource_not_found")
    # the middleware's own answers (here the body limit, before any route) as well
    big = b'{"title": "' + b"x" * (2 << 20) + b'"}'
    headers = {**key, "content-type": "application/json"}
    v2_error(await api.client.post(v2, content=big, headers=headers), 400, "api/content_too_large")
    given = {**key, "X-Request-ID": "trace-me-42"}
    r = await api.client.get(f"{v2}/nope", headers=given)
    body = v2_error(r, 404, "api/resource_not_found")
    assert body["req_id"] == "trace-me-42"
    # v1, the same mistake: v1's shape
    v1 = f"/api/v1/calendars/{api.a.calendar_id}/events/nope"
    r = await api.client.get(v1, params={"account_id": api.a.account_id}, headers=key)
    assert r.status_code == 404
    assert set(r.json()) == {"status", "type", "title", "detail", "instance"}
    assert r.json()["type"] == "errors/resource_not_found"


def test_v2_type_names_the_thrower() -> None:
    names = {(e.status, e.type): v2_type(e) for e in CATALOGUE}
    assert names[400, "errors/invalid_parameters"] == "api/invalid_parameters"
    assert names[500, "errors/provider_error"] == "provider/provider_error"
    assert names[503, "errors/network_down"] == "provider/network_down"
    assert names[504, "errors/request_timeout"] == "provider/request_timeout"
    assert names[408, "errors/request_timeout"] == "api/request_timeout"
    assert names[503, "errors/service_unavailable"] == "api/service_unavailable"


async def test_v2_openapi_documents_v2_errors(api: Api) -> None:
    spec = (await api.client.get("/openapi.json")).json()
    v2 = spec["paths"]["/v2/{account_id}/calendars/{calendar_id}/events"]["get"]["responses"]
    schema = v2["404"]["content"]["application/json"]["schema"]
    assert set(schema["properties"]) == V2_FIELDS
    assert "`api/resource_not_found`" in v2["404"]["description"]
    v1 = spec["paths"]["/api/v1/calendars/{calendar_id}/events"]["get"]["responses"]
    assert "instance" in v1["404"]["content"]["application/json"]["schema"]["properties"]
