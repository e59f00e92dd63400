"""The push routes as HTTP (they are answered before FastAPI's routing, docs/push.md): what a
sender gets back for each kind of request, and that the request id, the access log's route and
the HTTP metrics still cover them. End to end push is in tests/test_push.py."""

from __future__ import annotations

import pytest

from calgate import metrics
from tests.conftest import Api

pytestmark = pytest.mark.anyio
PATHS = ["/api/v1/push/google", "/api/v1/push/microsoft", "/api/v1/push/microsoft/lifecycle"]


def _counted(route: str, status: str) -> float:
    value = metrics.REGISTRY.get_sample_value(
        "calgate_http_requests_total", {"method": "POST", "route": route, "status": status}
    )
    return value or 0.0


@pytest.mark.parametrize("path", PATHS)
async def test_only_post_is_taken(api: Api, path: str) -> None:
    r = await api.client.get(path)
    assert r.status_code == 405
    assert r.headers["allow"] == "POST"
    assert r.json()["type"] == "errors/method_not_allowed"


@pytest.mark.parametrize("path", PATHS)
async def test_an_unknown_channel_is_answered_202_with_a_request_id(api: Api, path: str) -> None:
    before = _counted(path, "202")
    if path.endswith("google"):
        headers = {"X-Goog-Channel-ID": "nope", "X-Goog-Channel-Token": "t"}
        headers |= {"X-Goog-Resource-State": "exists", "X-Request-ID": "push-1"}
        r = await api.client.post(path, headers=headers)
    else:
        note = {"subscriptionId": "nope", "clientState": "t", "changeType": "created"}
        r = await api.client.post(path, json={"value": [note]}, headers={"X-Request-ID": "push-1"})
    assert (r.status_code, r.content) == (202, b"")
    assert r.headers["x-request-id"] == "push-1"
    assert _counted(path, "202") == before + 1  # under its route, not as unmatched


@pytest.mark.parametrize("path", PATHS[1:])
async def test_graph_validation_echoes_the_token_as_text(api: Api, path: str) -> None:
    token = "Validation: Testing client application reachability <&>"
    r = await api.client.post(path, params={"validationToken": token})
    assert (r.status_code, r.text) == (200, token)
    assert r.headers["content-type"] == "text/plain; charset=utf-8"


@pytest.mark.parametrize("body", [b"", b"not json", b"[1, 2]", b'{"value": "x"}'])
async def test_graph_bodies_that_are_not_notifications_are_answered_and_ignored(
    api: Api, body: bytes
) -> None:
    r = await api.client.post("/api/v1/push/microsoft", content=body)
    assert (r.status_code, r.content) == (202, b"")


async def test_a_nul_in_the_body_is_refused_before_the_route(api: Api) -> None:
    r = await api.client.post("/api/v1/push/microsoft", content=b'{"value": ["\\u0000"]}')
    assert r.status_code == 400
