"""Regression: the OpenAPI document called `account_id` optional on every calendar route,
though each one answers 400 without it. It is now declared required (and a call without an API
key is still a 401 before any parameter is looked at)."""

from __future__ import annotations

import pytest

from tests.conftest import Api
from tests.routekit import Operation, app_parts, operations

pytestmark = pytest.mark.anyio

WITH_ACCOUNT = [
    op
    for op in operations("/api/v1/calendars")
    if any(p["name"] == "account_id" for p in op.doc.get("parameters", []))
]


def test_calendar_routes_take_an_account_id() -> None:
    assert len(WITH_ACCOUNT) >= 8


@pytest.mark.parametrize("op", WITH_ACCOUNT, ids=[op.id for op in WITH_ACCOUNT])
def test_account_id_is_documented_as_required(op: Operation) -> None:
    (param,) = [p for p in op.doc["parameters"] if p["name"] == "account_id"]
    assert param["in"] == "query"
    if not param.get("required"):
        # Unipile clients may give it in the JSON body instead (issue 11): optional here, and
        # the document says where else it goes.
        assert op.takes_body and "body" in param["description"], param
        assert param["schema"]["anyOf"][0].get("minLength") == 1
        return
    assert param.get("required") is True, param
    assert param["schema"].get("minLength") == 1


async def test_without_it_a_400_naming_it_and_without_a_key_a_401(api: Api) -> None:
    url = api.events_url()
    headers = {"X-API-KEY": api.a.key}
    for params in ({}, {"account_id": ""}):
        r = await api.client.get(url, params=params, headers=headers)
        assert r.status_code == 400, r.text
        assert r.json()["type"] == "errors/invalid_parameters"
        assert r.json()["detail"].startswith("account_id"), r.text
    r = await api.client.get(url)
    assert r.status_code == 401, r.text
    assert r.json()["type"] == "errors/missing_credentials"
    assert app_parts()[1]["paths"]  # the document was built
