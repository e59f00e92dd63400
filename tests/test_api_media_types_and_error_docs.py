"""A JSON route refuses another media type with a 415 in the contract's shape, and the OpenAPI
document lists for each route only the error types calgate can answer there."""

from __future__ import annotations

import json
from typing import Any

import pytest

from calgate.errors import CATALOGUE
from tests.conftest import Api

pytestmark = pytest.mark.anyio

BODY = (
    '{"title":"t","start":{"date_time":"2026-01-20T10:00:00","time_zone":"Europe/Paris"},'
    '"end":{"date_time":"2026-01-20T11:00:00","time_zone":"Europe/Paris"}}'
)


@pytest.mark.parametrize(
    "content_type",
    ["application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x"],
)
async def test_event_post_in_another_media_type_is_a_415(api: Api, content_type: str) -> None:
    r = await api.call(
        "POST", api.events_url(), content=BODY, headers={"content-type": content_type}
    )
    assert r.status_code == 415, r.text
    error = r.json()
    assert error["type"] == "errors/unsupported_media_type"
    assert error["status"] == 415 and error["title"] == "Unsupported media type"
    assert "application/json" in error["detail"]
    assert content_type.split(";")[0] in error["detail"]


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/json; charset=utf-8", None]
)
async def test_json_and_no_content_type_are_taken(api: Api, content_type: str | None) -> None:
    headers = {"content-type": content_type} if content_type else {}
    r = await api.call("POST", api.events_url(), content=BODY, headers=headers)
    assert r.status_code == 200, r.text


async def test_patch_in_form_encoding_is_a_415(api: Api) -> None:
    event_id = await api.create(json.loads(BODY))
    r = await api.call(
        "PATCH",
        f"{api.events_url()}/{event_id}",
        content="title=x",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 415, r.text


MAIL_AND_MESSAGING = {
    "errors/multiple_sessions",
    "errors/wrong_account",
    "errors/invalid_proxy_credentials",
    "errors/invalid_imap_configuration",
    "errors/invalid_smtp_configuration",
    "errors/invalid_checkpoint_solution",
    "errors/checkpoint_error",
    "errors/no_client_session",
    "errors/no_channel",
    "errors/no_handler",
}


def _listed(operation: dict[str, Any], status: str) -> set[str]:
    description = operation.get("responses", {}).get(status, {}).get("description", "")
    return {e.type for e in CATALOGUE if f"`{e.type}`" in description}


async def test_calendar_routes_list_only_errors_they_can_answer(api: Api) -> None:
    spec = (await api.client.get("/openapi.json")).json()
    operations = [
        (f"{method.upper()} {path}", op)
        for path, item in spec["paths"].items()
        if path.startswith("/api/v1/calendars")
        for method, op in item.items()
    ]
    assert len(operations) >= 8
    for name, op in operations:
        for status in ("401", "403", "503"):
            assert not _listed(op, status) & MAIL_AND_MESSAGING, (name, status)
        assert {"errors/missing_credentials", "errors/invalid_credentials"} <= _listed(op, "401")
        assert "errors/network_down" in _listed(op, "503"), name
        assert "errors/expired_link" not in _listed(op, "401"), name
    create = spec["paths"]["/api/v1/calendars/{calendar_id}/events"]["post"]
    assert _listed(create, "415") == {"errors/unsupported_media_type"}
