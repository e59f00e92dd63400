"""Regression: without an OAuth client in the settings, the hosted link answered "give client_id
and client_secret in the body", fields its body refuses. It now names the settings to set."""

from __future__ import annotations

import pytest

from calgate.settings import Settings
from tests.conftest import Api

pytestmark = pytest.mark.anyio
LINK = "/api/v1/hosted/accounts/link"


@pytest.mark.parametrize("provider", ["GOOGLE_OAUTH", "OUTLOOK"])
async def test_no_client_names_the_settings_not_body_fields(api: Api, provider: str) -> None:
    r = await api.call("POST", LINK, json={"provider": provider})
    assert r.status_code == 400, r.text
    detail = r.json()["detail"]
    assert detail.startswith("provider:"), detail
    assert "body" not in detail, detail
    named = [word.strip(",;.()") for word in detail.split() if word.startswith("CALGATE_")]
    assert len(named) == 2, detail
    for variable in named:
        assert variable.removeprefix("CALGATE_").lower() in Settings.model_fields, variable
    # The fields the old answer suggested are indeed refused by this body.
    r = await api.call("POST", LINK, json={"provider": provider, "client_id": "x"})
    assert r.status_code == 400 and r.json()["detail"].startswith("client_id: unknown field")
