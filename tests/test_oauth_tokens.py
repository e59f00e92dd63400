"""Access tokens of Google and Outlook accounts: refreshed before expiry and once after a 401;
one refresh at a time; a refused refresh marks the account CREDENTIALS (401 expired_credentials).
"""

from __future__ import annotations

import anyio
import httpx
import pytest

from calgate.store import accounts as store
from tests.conftest import Api
from tests.oauth_env import (  # noqa: F401 - fixtures
    Fakes,
    connect,
    fakes_fixture,
    oauth_runtime,
    oauth_settings,
    seed_calendar,
)

pytestmark = pytest.mark.anyio

PROVIDERS = ["GOOGLE_OAUTH", "OUTLOOK"]
TOKEN_PATH = {"GOOGLE_OAUTH": "/token", "OUTLOOK": "/common/oauth2/v2.0/token"}
API_PREFIX = {"GOOGLE_OAUTH": "/calendar/v3/", "OUTLOOK": "/v1.0/me/"}


def events(fakes: Fakes, provider: str) -> str:
    return f"/api/v1/calendars/{seed_calendar(fakes, provider)}/events"


def trail(fakes: Fakes, provider: str) -> list[tuple[str, int | None]]:
    """What the test server saw since the account was connected: token calls and API calls."""
    state = fakes.state(provider)
    return [
        ("token" if r.path == TOKEN_PATH[provider] else "api", r.status)
        for r in state.requests
        if r.path == TOKEN_PATH[provider] or r.path.startswith(API_PREFIX[provider])
    ]


async def status_of(api: Api, account_id: str) -> str:
    record = await api.runtime.db.read(lambda c: store.get_account(c, account_id, None))
    assert record is not None
    return record.status


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_expired_token_is_refreshed_once_after_a_401(
    api: Api, fakes: Fakes, provider: str
) -> None:
    account = await connect(api, fakes, provider)
    state = fakes.state(provider)
    state.requests.clear()
    state.oauth.expire_access_tokens()
    r = await api.call("GET", events(fakes, provider), account_id=account)
    assert r.status_code == 200, r.text
    assert trail(fakes, provider) == [("api", 401), ("token", 200), ("api", 200)]
    # The new token is saved, sealed, for the next requests.
    record = await api.runtime.db.read(lambda c: store.get_account(c, account, None))
    assert record is not None
    saved = api.runtime.accounts.box.open(record.secrets)["access_token"]
    assert state.oauth.valid(f"Bearer {saved}")


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_token_about_to_expire_is_refreshed_first(
    api: Api, fakes: Fakes, provider: str
) -> None:
    state = fakes.state(provider)
    state.oauth.access_token_lifetime = 60  # under calgate's 120 s margin
    account = await connect(api, fakes, provider)
    state.oauth.access_token_lifetime = 3600
    state.requests.clear()
    r = await api.call("GET", events(fakes, provider), account_id=account)
    assert r.status_code == 200, r.text
    assert trail(fakes, provider) == [("token", 200), ("api", 200)]
    r = await api.call("GET", events(fakes, provider), account_id=account)
    assert trail(fakes, provider)[2:] == [("api", 200)]


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_refused_refresh_marks_the_account(api: Api, fakes: Fakes, provider: str) -> None:
    account = await connect(api, fakes, provider)
    state = fakes.state(provider)
    for token in list(state.oauth.refresh_tokens):
        state.oauth.revoke(token)
    state.oauth.expire_access_tokens()
    state.requests.clear()
    r = await api.call("GET", events(fakes, provider), account_id=account)
    assert r.status_code == 401, r.text
    assert r.json()["type"] == "errors/expired_credentials"
    assert "connect the account again" in r.json()["detail"]
    assert await status_of(api, account) == "CREDENTIALS"
    # Every next call answers at once, without asking the provider.
    seen = len(state.requests)
    for method in ("GET", "POST"):
        body = {"title": "x", "start": {"date": "2026-01-01"}, "end": {"date": "2026-01-02"}}
        r = await api.call(method, events(fakes, provider), account_id=account, json=body)
        assert r.status_code == 401, r.text
        assert r.json()["type"] == "errors/expired_credentials"
    assert len(state.requests) == seen
    # The account route shows the new status at once (no stale cache in between).
    r = await api.call("GET", f"/api/v1/accounts/{account}")
    assert r.json()["sources"][0]["status"] == "CREDENTIALS"


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_401_after_a_refresh_marks_the_account(api: Api, fakes: Fakes, provider: str) -> None:
    account = await connect(api, fakes, provider)
    state = fakes.state(provider)
    state.requests.clear()
    state.faults.add(API_PREFIX[provider], status=401, times=None)
    r = await api.call("GET", events(fakes, provider), account_id=account)
    assert r.status_code == 401, r.text
    assert r.json()["type"] == "errors/expired_credentials"
    assert trail(fakes, provider) == [("api", 401), ("token", 200), ("api", 401)]
    assert await status_of(api, account) == "CREDENTIALS"


async def test_rotated_refresh_tokens_are_kept(api: Api, fakes: Fakes) -> None:
    """Microsoft answers each refresh with a new refresh token and forgets the old one."""
    account = await connect(api, fakes, "OUTLOOK")
    oauth = fakes.graph.oauth
    for _ in range(3):
        oauth.expire_access_tokens()
        r = await api.call("GET", events(fakes, "OUTLOOK"), account_id=account)
        assert r.status_code == 200, r.text
        record = await api.runtime.db.read(lambda c: store.get_account(c, account, None))
        assert record is not None
        saved = api.runtime.accounts.box.open(record.secrets)["refresh_token"]
        assert list(oauth.refresh_tokens) == [saved]
    assert oauth.grants == ["refresh_token"] * 4  # connect, then three refreshes


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_concurrent_requests_share_one_refresh(api: Api, fakes: Fakes, provider: str) -> None:
    account = await connect(api, fakes, provider)
    state = fakes.state(provider)
    state.oauth.expire_access_tokens()
    grants = len(state.oauth.grants)
    statuses: list[int] = []

    async def one() -> None:
        r = await api.call("GET", events(fakes, provider), account_id=account)
        statuses.append(r.status_code)

    async with anyio.create_task_group() as tg:
        for _ in range(10):
            tg.start_soon(one)
    assert statuses == [200] * 10
    assert len(state.oauth.grants) == grants + 1


async def test_refresh_token_rotated_by_another_process(api: Api, fakes: Fakes) -> None:
    """Another calgate process refreshed (and so rotated) the token and saved it: this one's
    refresh with the old token is refused, so it reads the stored one and goes on."""
    account = await connect(api, fakes, "OUTLOOK")
    oauth = fakes.graph.oauth
    record = await api.runtime.db.read(lambda c: store.get_account(c, account, None))
    assert record is not None
    secrets = api.runtime.accounts.box.open(record.secrets)
    async with httpx.AsyncClient(transport=fakes.hosts(), base_url="http://graph.test") as c:
        r = await c.post(
            "/common/oauth2/v2.0/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": secrets["refresh_token"],
                "client_id": oauth.client_id,
                "client_secret": oauth.client_secret,
            },
        )
    assert r.status_code == 200, r.text
    other = r.json()
    ctx = api.runtime.accounts.context_of(record)
    await api.runtime.accounts.update_secrets(
        ctx, {**secrets, "refresh_token": other["refresh_token"], "access_token": "stale"}
    )
    oauth.expire_access_tokens()
    r = await api.call("GET", events(fakes, "OUTLOOK"), account_id=account)
    assert r.status_code == 200, r.text
    assert await status_of(api, account) == "OK"
