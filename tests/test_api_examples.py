"""The OpenAPI document shows realistic examples: the create answer's is a real id, not
"string", and every example answer carries only fields that calgate's real answers have."""

from __future__ import annotations

import json
from typing import Any

import pytest

from calgate.api.examples import ACCOUNT_ID, EXAMPLES, OTHER_ACCOUNT_ID
from tests.conftest import Api

pytestmark = pytest.mark.anyio

EVENTS = "/api/v1/calendars/{calendar_id}/events"


def _example(spec: dict[str, Any], method: str, path: str, key: str) -> Any:
    operation = spec["paths"][path][method]
    if key == "request":
        media = operation["requestBody"]["content"]["application/json"]
    else:
        media = operation["responses"][key]["content"]["application/json"]
    if "example" in media:
        return media["example"]
    return media["schema"]["examples"][0]  # the body model's own example


def _placeholders(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [p for v in value.values() for p in _placeholders(v)]
    if isinstance(value, list):
        return [p for v in value for p in _placeholders(v)]
    return [value] if value == "string" else []


async def test_every_example_is_in_the_document_and_realistic(api: Api) -> None:
    spec = (await api.client.get("/openapi.json")).json()
    for (method, path), examples in EXAMPLES.items():
        for key in examples:
            shown = _example(spec, method, path, key)
            assert shown, (method, path, key)
            assert _placeholders(shown) == [], (method, path, key)
    assert _placeholders(_example(spec, "post", EVENTS, "request")) == []
    create = _example(spec, "post", EVENTS, "200")
    assert create["object"] == "CalendarEventCreated"
    assert len(create["event_id"]) == 32


def _same_shape(example: Any, real: Any, where: str) -> None:
    """Every field of the example exists in the real answer, with a value of the same kind."""
    if isinstance(example, dict):
        assert isinstance(real, dict), where
        assert set(example) <= set(real), f"{where}: {set(example) - set(real)} not answered"
        for key, value in example.items():
            if value is not None and real[key] is not None:
                _same_shape(value, real[key], f"{where}.{key}")
    elif isinstance(example, list) and example and real:
        _same_shape(example[0], real[0], f"{where}[0]")
    else:
        assert type(example) is type(real), f"{where}: {example!r} vs {real!r}"


async def test_example_answers_have_the_real_answers_fields(api: Api) -> None:
    spec = (await api.client.get("/openapi.json")).json()
    event_id = await api.create(_example(spec, "post", EVENTS, "request"))
    hook = await api.client.post(
        "/api/v1/webhooks",
        headers={"X-API-KEY": api.a.key},
        json=EXAMPLES[("post", "/api/v1/webhooks")]["request"]
        | {"account_ids": [api.a.account_id]},
    )
    assert hook.status_code == 201, hook.text
    webhook_id = hook.json()["webhook_id"]
    real_paths = {
        ("get", "/api/v1/accounts/{account_id}"): f"/api/v1/accounts/{api.a.account_id}",
        ("get", "/api/v1/accounts/{account_id}/capabilities"): (
            f"/api/v1/accounts/{api.a.account_id}/capabilities"
        ),
        ("get", "/api/v1/calendars"): "/api/v1/calendars",
        ("get", "/api/v1/calendars/{calendar_id}"): f"/api/v1/calendars/{api.a.calendar_id}",
        ("get", "/api/v1/calendars/{calendar_id}/events"): api.events_url(),
        ("get", "/api/v1/calendars/{calendar_id}/events/{event_id}"): (
            f"{api.events_url()}/{event_id}"
        ),
        ("get", "/api/v1/webhooks"): "/api/v1/webhooks",
        ("get", "/api/v1/webhooks/{webhook_id}"): f"/api/v1/webhooks/{webhook_id}",
        ("get", "/api/v1/accounts"): "/api/v1/accounts",
    }
    for key, url in real_paths.items():
        # account_id only where the operation takes it: reads refuse query parameters they do not
        params = spec["paths"][key[1]]["get"].get("parameters", [])
        takes = {p["name"] for p in params if p["in"] == "query"}
        ids = {"account_id": api.a.account_id} if "account_id" in takes else {}
        r = await api.client.get(url, params=ids, headers={"X-API-KEY": api.a.key})
        assert r.status_code == 200, (url, r.text)
        _same_shape(EXAMPLES[key]["200"], r.json(), f"{key[0].upper()} {key[1]}")


@pytest.mark.parametrize("route", ["free_busy", "availability"])
async def test_example_free_busy_and_availability_have_the_real_fields(
    api: Api, route: str
) -> None:
    """The documented request, with the tenant's own account, answers the documented shape."""
    example = EXAMPLES[("post", f"/api/v1/calendars/{route}")]
    other = await api.runtime.accounts.create_local(api.a.id, "Other")
    text = json.dumps(example["request"]).replace(ACCOUNT_ID, api.a.account_id)
    text = text.replace(OTHER_ACCOUNT_ID, other.id)
    await api.create(
        {
            "title": "busy",
            "start": {"date_time": "2026-03-23T08:00:00Z"},
            "end": {"date_time": "2026-03-23T09:30:00Z"},
        }
    )
    r = await api.client.post(
        f"/api/v1/calendars/{route}", headers={"X-API-KEY": api.a.key}, json=json.loads(text)
    )
    assert r.status_code == 200, r.text
    _same_shape(example["200"], r.json(), route)
