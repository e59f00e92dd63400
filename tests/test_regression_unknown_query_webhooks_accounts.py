"""Issue 13 leftover: v1 webhook and account reads ignored a misspelt query parameter
(`GET /api/v1/webhooks?limt=5` listed 100 webhooks). Every read refuses a parameter it does not
take with a 400 naming it, as event and calendar reads do, and the OpenAPI document lists
exactly the parameters each one takes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api

pytestmark = pytest.mark.anyio

HOOK: dict[str, Any] = {
    "source": "calendar_event",
    "request_url": "https://hooks.example.org/calgate",
    "name": "sync",
}
READS = [
    ("/api/v1/webhooks", "limt"),
    ("/api/v1/webhooks", "account_id"),  # taken by event reads, not by this one
    ("/api/v1/webhooks/{hook}", "fields"),
    ("/api/v1/webhooks/{hook}/deliveries", "statuss"),
    ("/api/v1/webhooks/{hook}/deliveries", "ofset"),
    ("/api/v1/accounts", "limt"),
    ("/api/v1/accounts", "account_id"),
    ("/api/v1/accounts/{account}", "expand"),
    ("/api/v1/accounts/{account}/capabilities", "provider"),
]


async def _hook(api: Api) -> str:
    r = await api.call("POST", "/api/v1/webhooks", json=HOOK)
    assert r.status_code == 201, r.text
    hook: str = r.json()["webhook_id"]
    return hook


@pytest.mark.parametrize(("url", "typo"), READS)
async def test_a_misspelt_query_parameter_is_refused_by_name(api: Api, url: str, typo: str) -> None:
    url = url.format(hook=await _hook(api), account=api.a.account_id)
    r = await api.call("GET", url, params={typo: "5"})
    assert r.status_code == 400, r.text
    assert r.json()["type"] == "errors/invalid_parameters"
    assert r.json()["detail"] == f"{typo}: unknown query parameter"
    r = await api.client.get(url, params={typo: "5"})  # without a key: 401 first
    assert r.status_code == 401, r.text


async def test_the_parameters_they_take_still_work(api: Api) -> None:
    hook = await _hook(api)
    await _hook(api)
    r = await api.call("GET", "/api/v1/webhooks", params={"limit": "1"})
    assert r.status_code == 200, r.text
    assert len(r.json()["items"]) == 1
    r = await api.call(
        "GET", "/api/v1/webhooks", params={"limit": "1", "cursor": r.json()["cursor"]}
    )
    assert r.status_code == 200, r.text
    assert len(r.json()["items"]) == 1
    deliveries = f"/api/v1/webhooks/{hook}/deliveries"
    r = await api.call("GET", deliveries, params={"status": "pending", "limit": "5"})
    assert r.status_code == 200, r.text
    r = await api.call("GET", "/api/v1/accounts", params={"limit": "1", "offset": "0"})
    assert r.status_code == 200, r.text
    assert len(r.json()["items"]) == 1


async def test_the_openapi_document_lists_exactly_what_they_take(api: Api) -> None:
    paths = (await api.client.get("/openapi.json")).json()["paths"]
    expected = {
        "/api/v1/webhooks": {"cursor", "limit"},
        "/api/v1/webhooks/{webhook_id}": {"webhook_id"},
        "/api/v1/webhooks/{webhook_id}/deliveries": {"webhook_id", "status", "cursor", "limit"},
        "/api/v1/accounts": {"cursor", "offset", "limit"},
        "/api/v1/accounts/{account_id}": {"account_id"},
        "/api/v1/accounts/{account_id}/capabilities": {"account_id"},
    }
    for path, names in expected.items():
        parameters = paths[path]["get"].get("parameters", [])
        assert {p["name"] for p in parameters} == names, path
        assert all(p["in"] != "query" or not p.get("required") for p in parameters), path
