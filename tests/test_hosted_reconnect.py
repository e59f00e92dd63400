"""Hosted auth's ``type: "reconnect"`` (Unipile's ``reconnect_account``): an account whose
credentials were refused is connected again through the provider's consent, keeping its id,
calendars and webhooks; its status goes back to OK (an ``account_status`` webhook says so),
``notify_url`` hears ``RECONNECTED``, and its push channels are made again at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select

from calgate.settings import Settings
from calgate.store import accounts as account_store
from calgate.store.db import now_us
from calgate.store.push import push_channels
from tests.conftest import Api
from tests.oauth_env import (  # noqa: F401 - fixtures
    Fakes,
    connect,
    fakes_fixture,
    oauth_runtime,
)
from tests.receiver import Receiver, running_receiver
from tests.synckit import receiver_fixture, sync_settings, worker_fixture
from tests.test_hosted import come_back, consent, link

pytestmark = pytest.mark.anyio
__all__ = ["receiver_fixture", "worker_fixture"]


@pytest.fixture(name="settings")
def reconnect_settings(database_url: str, tmp_path: Path, fakes: Fakes) -> Settings:
    """Webhooks and notify_url on loopback receivers, the outbox worker quick."""
    return fakes.settings(sync_settings(database_url, tmp_path))


PROVIDERS = ["GOOGLE_OAUTH", "OUTLOOK"]


async def _status(api: Api, account_id: str) -> str:
    record = await api.runtime.db.read(lambda c: account_store.get_account(c, account_id, None))
    assert record is not None
    return record.status


async def _calendar(api: Api, account_id: str) -> str:
    r = await api.call("GET", "/api/v1/calendars", account_id=account_id)
    assert r.status_code == 200, r.text
    return str(r.json()["data"][0]["id"])


async def _refused(api: Api, fakes: Fakes, provider: str, account_id: str, calendar: str) -> None:
    """The user revokes calgate's access: the next call marks the account CREDENTIALS."""
    oauth = fakes.state(provider).oauth
    for token in list(oauth.refresh_tokens):
        oauth.revoke(token)
    oauth.expire_access_tokens()
    r = await api.call("GET", f"/api/v1/calendars/{calendar}/events", account_id=account_id)
    assert r.status_code == 401, r.text
    assert await _status(api, account_id) == "CREDENTIALS"


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.usefixtures("worker")
async def test_reconnect_keeps_the_account_and_its_webhooks(
    api: Api, fakes: Fakes, receiver: Receiver, provider: str
) -> None:
    account_id = await connect(api, fakes, provider)
    calendar = await _calendar(api, account_id)
    with running_receiver() as notified:
        hook = {"source": "account_status", "request_url": receiver.url, "name": "status"}
        r = await api.call("POST", "/api/v1/webhooks", json=hook)
        assert r.status_code == 201, r.text
        # A failing push channel of the account, waiting out its retry delay.
        hour = 3600 * 1_000_000
        row: dict[str, Any] = {"account_id": account_id, "calendar_id": calendar}
        row |= {"tenant_id": api.a.id, "kind": provider, "renew_at": now_us() + hour}
        row |= {"failures": 6, "last_error": "errors/expired_credentials: refused"}
        row |= {"created_at": now_us(), "updated_at": now_us()}
        await api.runtime.db.write(lambda c: c.execute(insert(push_channels).values(**row)))
        await _refused(api, fakes, provider, account_id, calendar)

        url = await link(
            api,
            type="reconnect",
            reconnect_account=account_id,
            providers="*",
            name="crm-user-7",
            notify_url=notified.url,
        )
        r = await come_back(api, await consent(fakes, url))
        assert r.status_code == 201, r.text
        assert f"id {account_id}" in r.text

        assert await _status(api, account_id) == "OK"
        r = await api.call("GET", "/api/v1/accounts")
        assert [a["id"] for a in r.json()["items"] if a["type"] == provider] == [account_id]
        assert await _calendar(api, account_id) == calendar
        r = await api.call("GET", f"/api/v1/calendars/{calendar}/events", account_id=account_id)
        assert r.status_code == 200, r.text
        assert [q.json() for q in notified.requests] == [
            {"status": "RECONNECTED", "account_id": account_id, "name": "crm-user-7"}
        ]
        got = await receiver.wait_for(2)
        said = [q.json()["AccountStatus"]["message"] for q in got]
        assert said == ["CREDENTIALS", "OK"], said
        [channel] = await api.runtime.db.read(
            lambda c: c.execute(select(push_channels.c.renew_at, push_channels.c.failures)).all()
        )
        assert channel.failures == 0 and channel.renew_at <= now_us()


async def test_another_user_cannot_take_the_account_over(api: Api, fakes: Fakes) -> None:
    account_id = await connect(api, fakes, "OUTLOOK")
    calendar = await _calendar(api, account_id)
    await _refused(api, fakes, "OUTLOOK", account_id, calendar)
    url = await link(api, type="reconnect", reconnect_account=account_id)
    fakes.graph.user |= {"mail": "mallory@example.com", "userPrincipalName": "mallory@example.com"}
    r = await come_back(api, await consent(fakes, url))
    assert r.status_code == 403, r.text
    assert r.json()["type"] == "errors/account_mismatch"
    assert "mallory@example.com" in r.json()["detail"]
    assert await _status(api, account_id) == "CREDENTIALS"


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        ({"type": "reconnect", "provider": "OUTLOOK"}, 400, "reconnect_account"),
        ({"type": "create", "provider": "OUTLOOK", "reconnect_account": "x"}, 400, "only with"),
        ({"type": "reconnect", "reconnect_account": "nope"}, 404, "nope"),
        ({"type": "reconnect", "reconnect_account": "{a}"}, 400, "LOCAL"),
        ({"type": "reconnect", "reconnect_account": "{g}", "provider": "OUTLOOK"}, 400, "GOOGLE"),
    ],
)
async def test_bad_reconnect_links(
    api: Api, fakes: Fakes, body: dict[str, Any], status: int, needle: str
) -> None:
    google = await connect(api, fakes, "GOOGLE_OAUTH")
    ids = {"{a}": api.a.account_id, "{g}": google}
    body = {k: ids.get(v, v) if isinstance(v, str) else v for k, v in body.items()}
    r = await api.call("POST", "/api/v1/hosted/accounts/link", json=body)
    assert r.status_code == status, r.text
    assert needle in r.json()["detail"]
