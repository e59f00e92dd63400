"""Hosted auth: the link, the provider's consent (the test server's authorize endpoint), the
callback with PKCE and a sealed state, and the account it creates."""

from __future__ import annotations

import base64
import hashlib
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from calgate.providers.oauth import seal_state
from tests.conftest import Api
from tests.oauth_env import (  # noqa: F401 - fixtures
    Fakes,
    fakes_fixture,
    oauth_runtime,
    oauth_settings,
)
from tests.pagekit import parse
from tests.receiver import running_receiver

pytestmark = pytest.mark.anyio

CALLBACK = "http://calgate.test/api/v1/hosted/accounts/callback"
HOSTS = {"GOOGLE_OAUTH": "http://google.test", "OUTLOOK": "http://graph.test"}
AUTHORIZE = {"GOOGLE_OAUTH": "/o/oauth2/v2/auth", "OUTLOOK": "/common/oauth2/v2.0/authorize"}


async def link(api: Api, **body: Any) -> str:
    r = await api.call("POST", "/api/v1/hosted/accounts/link", json=body)
    assert r.status_code == 200, r.text
    assert r.json()["object"] == "HostedAuthURL"
    url: str = r.json()["url"]
    return url


async def consent(fakes: Fakes, url: str) -> str:
    """The user consents at the provider, which sends the browser back: its redirect URL."""
    async with httpx.AsyncClient(transport=fakes.hosts()) as browser:
        r = await browser.get(url)
    assert r.status_code == 302, r.text
    location: str = r.headers["location"]
    return location


async def come_back(api: Api, location: str) -> httpx.Response:
    """The browser arriving at calgate's callback (no API key)."""
    parts = urlsplit(location)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == CALLBACK
    return await api.client.get(f"{parts.path}?{parts.query}")


@pytest.mark.parametrize("provider", ["GOOGLE_OAUTH", "OUTLOOK"])
async def test_hosted_flow_creates_the_account(api: Api, fakes: Fakes, provider: str) -> None:
    url = await link(api, provider=provider, name="Ada's calendar")
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == HOSTS[provider] + AUTHORIZE[provider]
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    state = fakes.state(provider)
    assert query["client_id"] == state.oauth.client_id
    assert query["redirect_uri"] == CALLBACK
    assert query["response_type"] == "code"
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43
    assert query["scope"] == (
        "https://www.googleapis.com/auth/calendar"
        if provider == "GOOGLE_OAUTH"
        else "offline_access Calendars.ReadWrite User.Read"
    )
    if provider == "GOOGLE_OAUTH":
        assert (query["access_type"], query["prompt"]) == ("offline", "consent")
    r = await come_back(api, await consent(fakes, url))
    assert r.status_code == 201, r.text
    assert "account is connected" in r.text
    token_calls = [t for t in state.requests.find("POST") if t.form.get("grant_type")]
    form = token_calls[-1].form
    assert form["grant_type"] == "authorization_code"
    assert form["redirect_uri"] == CALLBACK
    digest = hashlib.sha256(form["code_verifier"].encode()).digest()
    assert base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == query["code_challenge"]
    r = await api.call("GET", "/api/v1/accounts")
    mine = [a for a in r.json()["items"] if a["type"] == provider]
    assert [(a["name"], a["connection_params"]["calendar"]["email"]) for a in mine] == [
        ("Ada's calendar", "user@example.com")
    ]
    r = await api.call("GET", "/api/v1/calendars", account_id=mine[0]["id"])
    assert r.status_code == 200, r.text


async def test_success_redirect_gets_the_account_id(api: Api, fakes: Fakes) -> None:
    url = await link(
        api,
        providers=["GOOGLE"],
        type="create",
        api_url="https://ignored.example",
        success_redirect_url="https://app.example.org/done?from=calgate",
        failure_redirect_url="https://app.example.org/failed",
    )
    r = await come_back(api, await consent(fakes, url))
    assert r.status_code == 303, r.text
    target = urlsplit(r.headers["location"])
    assert (target.netloc, target.path) == ("app.example.org", "/done")
    account_id = parse_qs(target.query)["account_id"][0]
    assert parse_qs(target.query)["from"] == ["calgate"]
    r = await api.call("GET", f"/api/v1/accounts/{account_id}")
    assert r.json()["type"] == "GOOGLE_OAUTH"


async def test_notify_url_hears_of_the_new_account(api: Api, fakes: Fakes) -> None:
    with running_receiver() as receiver:
        # The receiver is on loopback, which links refuse unless the setting allows it.
        r = await api.call(
            "POST",
            "/api/v1/hosted/accounts/link",
            json={"provider": "OUTLOOK", "name": "crm-user-9", "notify_url": receiver.url},
        )
        assert r.status_code == 400, r.text
        assert "CALGATE_ALLOW_LOOPBACK_URLS" in r.json()["detail"]
        api.runtime.settings.allow_loopback_urls = True
        url = await link(api, provider="OUTLOOK", name="crm-user-9", notify_url=receiver.url)
        r = await come_back(api, await consent(fakes, url))
        assert r.status_code == 201, r.text
        [account] = [a for a in await accounts(api) if a["type"] == "OUTLOOK"]
        assert [q.json() for q in receiver.requests] == [
            {"status": "CREATION_SUCCESS", "account_id": account["id"], "name": "crm-user-9"}
        ]


async def test_page_link_leads_to_the_consent_screen_too(api: Api, fakes: Fakes) -> None:
    """A link offering several kinds opens calgate's page; its Outlook button goes on to the
    consent screen with the link's name and redirects kept."""
    url = await link(
        api,
        providers=["OUTLOOK", "CALDAV"],
        name="Grace",
        success_redirect_url="https://app.example.org/done",
    )
    page = await api.client.get(urlsplit(url).path)
    assert page.status_code == 200, page.text
    start = parse(page).link("/oauth/OUTLOOK$")
    r = await api.client.get(start)
    assert r.status_code == 303
    consent_url = r.headers["location"]
    assert consent_url.startswith(HOSTS["OUTLOOK"] + AUTHORIZE["OUTLOOK"])
    r = await come_back(api, await consent(fakes, consent_url))
    assert r.status_code == 303, r.text
    assert r.headers["location"].startswith("https://app.example.org/done?account_id=")
    assert [a["name"] for a in await accounts(api) if a["type"] == "OUTLOOK"] == ["Grace"]
    # A kind the link does not offer has no consent screen.
    r = await api.client.get(start.replace("OUTLOOK", "GOOGLE_OAUTH"))
    assert r.status_code == 400
    assert "does not offer" in r.text


async def accounts(api: Api) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (await api.call("GET", "/api/v1/accounts")).json()["items"]
    return items


async def test_refused_consent_goes_to_the_failure_url(api: Api, fakes: Fakes) -> None:
    fakes.graph.oauth.deny_consent = True
    url = await link(api, provider="OUTLOOK", failure_redirect_url="https://app.example.org/ko")
    r = await come_back(api, await consent(fakes, url))
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "https://app.example.org/ko?error=invalid_credentials"
    r = await api.call("GET", "/api/v1/accounts")
    assert [a["type"] for a in r.json()["items"]] == ["LOCAL"]


async def test_refused_consent_without_failure_url_is_401(api: Api, fakes: Fakes) -> None:
    fakes.google.oauth.deny_consent = True
    url = await link(api, provider="GOOGLE_OAUTH")
    r = await come_back(api, await consent(fakes, url))
    assert r.status_code == 401, r.text
    assert r.json()["type"] == "errors/invalid_credentials"
    assert "access_denied" in r.json()["detail"]


async def test_replayed_code_is_refused(api: Api, fakes: Fakes) -> None:
    location = await consent(fakes, await link(api, provider="GOOGLE_OAUTH"))
    assert (await come_back(api, location)).status_code == 201
    r = await come_back(api, location)
    assert r.status_code == 401, r.text
    assert r.json()["type"] == "errors/invalid_credentials"


async def test_altered_state_is_refused(api: Api, fakes: Fakes) -> None:
    location = await consent(fakes, await link(api, provider="GOOGLE_OAUTH"))
    parts = urlsplit(location)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    state = query["state"]
    forged = state[:-8] + ("A" if state[-8] != "A" else "B") + state[-7:]
    for bad in (forged, "", "x" * 5000):
        r = await api.client.get(parts.path, params={"code": query["code"], "state": bad})
        assert r.status_code == 400, r.text
        assert r.json()["type"] == "errors/invalid_parameters"
        assert "state" in r.json()["detail"]
    r = await api.call("GET", "/api/v1/accounts")
    assert [a["type"] for a in r.json()["items"]] == ["LOCAL"]
    assert fakes.google.oauth.grants == []  # no code was exchanged


async def test_expired_state_is_refused(api: Api, fakes: Fakes) -> None:
    flow = {"tenant": api.a.id, "type": "GOOGLE_OAUTH", "verifier": "v" * 64}
    state = seal_state(api.runtime.accounts.box, flow, ttl=-1)
    r = await api.client.get(
        "/api/v1/hosted/accounts/callback", params={"code": "4/c-x", "state": state}
    )
    assert r.status_code == 401, r.text
    assert r.json()["type"] == "errors/expired_link"
    assert fakes.google.oauth.grants == []


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        ({"provider": "EXCHANGE"}, 400, "provider"),
        ({"providers": ["GOOGLE", "*"]}, 400, "providers"),
        ({}, 400, "providers"),
        ({"provider": "OUTLOOK", "notify_url": "javascript:alert(1)"}, 400, "notify_url"),
        ({"provider": "OUTLOOK", "type": "reconnect"}, 400, "reconnect_account"),
        ({"provider": "OUTLOOK", "expiresOn": "2020-01-01T00:00:00Z"}, 400, "expiresOn"),
        ({"provider": "OUTLOOK", "success_redirect_url": "javascript:alert(1)"}, 400, "success"),
        ({"provider": "OUTLOOK", "colour": "red"}, 400, "colour"),
    ],
)
async def test_bad_link_requests(api: Api, body: dict[str, Any], status: int, needle: str) -> None:
    r = await api.call("POST", "/api/v1/hosted/accounts/link", json=body)
    assert r.status_code == status, r.text
    assert needle in r.json()["detail"]


async def test_link_needs_an_api_key_and_the_callback_does_not(api: Api) -> None:
    r = await api.client.post("/api/v1/hosted/accounts/link", json={"provider": "OUTLOOK"})
    assert r.status_code == 401
    assert r.json()["type"] == "errors/missing_credentials"
    spec = (await api.client.get("/openapi.json")).json()
    assert spec["paths"]["/api/v1/hosted/accounts/callback"]["get"]["security"] == []
    assert spec["paths"]["/api/v1/hosted/accounts/link"]["post"]["security"] == [{"ApiKey": []}]
