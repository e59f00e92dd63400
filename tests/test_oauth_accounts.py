"""Connecting Google and Outlook accounts with a refresh token (`POST /api/v1/accounts`)."""

from __future__ import annotations

import logging

import pytest
from pydantic import SecretStr

from calgate.settings import Settings
from calgate.store import accounts as store
from calgate.store.accounts import AccountRecord
from tests.conftest import Api
from tests.oauth_env import (  # noqa: F401 - fixtures
    Fakes,
    connect,
    fakes_fixture,
    oauth_runtime,
    oauth_settings,
)

pytestmark = pytest.mark.anyio

PROVIDERS = ["GOOGLE_OAUTH", "OUTLOOK"]
TOKEN_PATH = {"GOOGLE_OAUTH": "/token", "OUTLOOK": "/common/oauth2/v2.0/token"}


async def stored(api: Api, account_id: str) -> AccountRecord:
    record = await api.runtime.db.read(lambda c: store.get_account(c, account_id, None))
    assert record is not None
    return record


async def accounts_count(api: Api) -> int:
    r = await api.call("GET", "/api/v1/accounts")
    return len(r.json()["items"])


@pytest.mark.parametrize(
    ("provider", "name", "timezone"),
    [("GOOGLE_OAUTH", "user@example.com", "Europe/Paris"), ("OUTLOOK", "Test User", "UTC")],
)
async def test_connect_with_a_refresh_token(
    api: Api, fakes: Fakes, provider: str, name: str, timezone: str
) -> None:
    state = fakes.state(provider)
    refresh_token = state.oauth.issue_refresh_token()
    body = {"provider": provider, "refresh_token": refresh_token}
    r = await api.call("POST", "/api/v1/accounts", json=body)
    assert r.status_code == 201, r.text
    assert set(r.json()) == {"object", "account_id"}
    account_id = r.json()["account_id"]
    r = await api.call("GET", f"/api/v1/accounts/{account_id}")
    assert r.json()["type"] == provider
    assert r.json()["name"] == name
    assert r.json()["sources"] == [{"id": f"{account_id}_CALENDAR", "status": "OK"}]
    assert r.json()["connection_params"] == {
        "calendar": {"email": "user@example.com", "timezone": timezone}
    }
    # The token request proved the refresh token with calgate's client.
    token_call = state.requests.find("POST", TOKEN_PATH[provider])[-1]
    scope = {"scope": "offline_access Calendars.ReadWrite User.Read"}
    assert token_call.form == {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "client_id": state.oauth.client_id,
        "client_secret": state.oauth.client_secret,
        **(scope if provider == "OUTLOOK" else {}),
    }
    # Tokens are sealed at rest and never shown.
    record = await stored(api, account_id)
    opened = api.runtime.accounts.box.open(record.secrets)
    assert opened["refresh_token"] in (refresh_token, *state.oauth.refresh_tokens)
    assert opened["access_token"] in state.oauth.access_tokens
    for secret in (opened["refresh_token"], opened["access_token"]):
        assert secret not in record.secrets
        assert secret not in (await api.call("GET", "/api/v1/accounts")).text
    r = await api.call("GET", "/api/v1/calendars", account_id=account_id)
    assert r.status_code == 200, r.text
    assert [c["is_default"] for c in r.json()["data"]] == [True]


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_refused_refresh_token_is_401_and_stores_nothing(
    api: Api, fakes: Fakes, provider: str
) -> None:
    before = await accounts_count(api)
    body = {"provider": provider, "refresh_token": "1//not-a-token"}
    r = await api.call("POST", "/api/v1/accounts", json=body)
    assert r.status_code == 401, r.text
    assert r.json()["type"] == "errors/invalid_credentials"
    assert "refresh_token" in r.json()["detail"] and "invalid_grant" in r.json()["detail"]
    assert "1//not-a-token" not in r.text
    assert await accounts_count(api) == before


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_refused_client_is_401(api: Api, fakes: Fakes, provider: str) -> None:
    token = fakes.state(provider).oauth.issue_refresh_token()
    body = {
        "provider": provider,
        "refresh_token": token,
        "client_id": "calgate-test-client",
        "client_secret": "wrong",
    }
    r = await api.call("POST", "/api/v1/accounts", json=body)
    assert r.status_code == 401, r.text
    assert r.json()["type"] == "errors/invalid_credentials"
    assert "client" in r.json()["detail"]
    assert "wrong" not in r.text


@pytest.mark.parametrize(
    ("provider", "profile"),
    [("GOOGLE_OAUTH", "/calendar/v3/users/me/calendarList/"), ("OUTLOOK", "/v1.0/me")],
)
async def test_token_without_calendar_permission_is_401(
    api: Api, fakes: Fakes, provider: str, profile: str
) -> None:
    before = await accounts_count(api)
    state = fakes.state(provider)
    state.faults.add(profile, status=403, reason="insufficientPermissions")
    body = {"provider": provider, "refresh_token": state.oauth.issue_refresh_token()}
    r = await api.call("POST", "/api/v1/accounts", json=body)
    assert r.status_code == 401, r.text
    assert r.json()["type"] == "errors/insufficient_privileges"
    assert "permission" in r.json()["detail"]
    assert await accounts_count(api) == before


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_own_client_in_the_body_is_kept_for_refreshes(
    api: Api, fakes: Fakes, provider: str
) -> None:
    state = fakes.state(provider)
    state.oauth.clients["team-client"] = "team-secret"
    token = state.oauth.issue_refresh_token()
    body = {
        "provider": provider,
        "refresh_token": token,
        "client_id": "team-client",
        "client_secret": "team-secret",
    }
    r = await api.call("POST", "/api/v1/accounts", json=body)
    assert r.status_code == 201, r.text
    account_id = r.json()["account_id"]
    state.oauth.expire_access_tokens()
    r = await api.call("GET", "/api/v1/calendars", account_id=account_id)
    assert r.status_code == 200, r.text
    forms = [t.form for t in state.requests.find("POST", TOKEN_PATH[provider])]
    assert [(f["client_id"], f["client_secret"]) for f in forms] == [
        ("team-client", "team-secret")
    ] * 2
    r = await api.call("GET", f"/api/v1/accounts/{account_id}")
    assert "team-secret" not in r.text


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        ({}, 400, "refresh_token"),
        ({"refresh_token": "  "}, 400, "refresh_token"),
        ({"refresh_token": 42}, 400, "refresh_token"),
        ({"refresh_token": "x", "password": "y"}, 400, "password"),
        ({"refresh_token": "x", "client_secret": "y"}, 400, "client_id"),
    ],
)
async def test_bad_bodies_are_400(
    api: Api, fakes: Fakes, body: dict[str, object], status: int, needle: str
) -> None:
    for provider in PROVIDERS:
        r = await api.call("POST", "/api/v1/accounts", json={"provider": provider, **body})
        assert r.status_code == status, r.text
        assert r.json()["type"] == "errors/invalid_parameters"
        assert needle in r.json()["detail"]
    assert len(fakes.google.requests) == len(fakes.graph.requests) == 0


class TestWithoutClients:
    @pytest.fixture(name="settings")
    def bare_settings(self, settings: Settings) -> Settings:
        return settings.model_copy(
            update={
                "google_client_id": None,
                "google_client_secret": None,
                "microsoft_client_id": "",
                "microsoft_client_secret": SecretStr(""),
            }
        )

    async def test_no_client_configured_is_400(self, api: Api, fakes: Fakes) -> None:
        for provider in PROVIDERS:
            body = {"provider": provider, "refresh_token": "x"}
            r = await api.call("POST", "/api/v1/accounts", json=body)
            assert r.status_code == 400, r.text
            assert "client_id" in r.json()["detail"]
            assert "settings" in r.json()["detail"]
        assert len(fakes.google.requests) == len(fakes.graph.requests) == 0


async def test_no_token_reaches_the_logs(
    api: Api, fakes: Fakes, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    account = await connect(api, fakes, "OUTLOOK")
    fakes.graph.oauth.expire_access_tokens()
    r = await api.call("GET", "/api/v1/calendars", account_id=account)
    assert r.status_code == 200
    for token in list(fakes.graph.oauth.refresh_tokens):
        fakes.graph.oauth.revoke(token)
    fakes.graph.oauth.expire_access_tokens()
    r = await api.call("GET", "/api/v1/calendars", account_id=account)
    assert r.status_code == 401
    assert "refreshed the access token" in caplog.text
    secrets = [
        *fakes.graph.oauth.access_tokens,
        fakes.graph.oauth.client_secret,
        *(r.form.get("refresh_token", "") for r in fakes.graph.requests.find("POST")),
    ]
    for secret in filter(None, secrets):
        assert secret not in caplog.text
