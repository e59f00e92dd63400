"""CalDAV failures mapped to calgate's error types, with a real Radicale behind a fault proxy:
expired passwords, a server down or silent, 5xx and 429 retries, dropped connections (no
duplicate event), and writers racing calgate (409)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from calgate.settings import Settings
from tests.conftest import Api
from tests.contract.suite import Target, timed
from tests.radicale import (
    Radicale,
    RadicaleProxy,
    User,
    proxy_to,
    radicale_fixture,  # noqa: F401
    radicale_server,
)

pytestmark = pytest.mark.anyio

BODY = {"title": "x", **timed("2026-03-01T10:00:00Z", "2026-03-01T11:00:00Z")}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "provider_timeout_seconds": 2.0,
            "provider_retries": 2,
            "cache_seconds": 0.0,
            "allow_loopback_urls": True,
        }
    )


@dataclass
class Proxied:
    target: Target
    proxy: RadicaleProxy
    radicale: Radicale
    user: User

    def names(self) -> list[str]:
        with self.radicale.client(self.user) as client:
            r = client.request("PROPFIND", f"/{self.user.name}/work/", headers={"Depth": "1"})
        return sorted(
            part.split("</href>")[0].rpartition("/")[2]
            for part in r.text.split("<href>")[1:]
            if part.split("</href>")[0].endswith(".ics")
        )


async def connect(api: Api, url: str, user: User) -> Target:
    body = {"provider": "CALDAV", "url": url, "username": user.name, "password": user.password}
    r = await api.call("POST", "/api/v1/accounts", json=body)
    assert r.status_code == 201, r.text
    return await Target.connect(api, r.json()["account_id"], "work")


@pytest.fixture
def proxy(radicale: Radicale) -> Iterator[tuple[RadicaleProxy, str]]:
    with proxy_to(radicale) as found:
        yield found


@pytest.fixture
async def proxied(api: Api, radicale: Radicale, proxy: tuple[RadicaleProxy, str]) -> Proxied:
    user = radicale.add_user()
    radicale.make_calendar(user, "work", "Work")
    target = await connect(api, proxy[1] + "/", user)
    proxy[0].requests.clear()
    return Proxied(target, proxy[0], radicale, user)


def set_password(radicale: Radicale, user: User, password: str) -> None:
    text = radicale.users_file.read_text()
    radicale.users_file.write_text(
        text.replace(f"{user.name}:{user.password}\n", f"{user.name}:{password}\n")
    )


# credentials -------------------------------------------------------------------------------


async def test_changed_password_expires_the_account(api: Api, proxied: Proxied) -> None:
    target = proxied.target
    event_id = await target.create(BODY)
    set_password(proxied.radicale, proxied.user, "changed")
    r = await target.call("GET", target.event(event_id))
    assert r.status_code == 401, r.text
    assert r.json()["type"] == "errors/expired_credentials"
    r = await api.call("GET", f"/api/v1/accounts/{target.account_id}")
    assert r.json()["sources"][0]["status"] == "CREDENTIALS"
    calls = len(proxied.proxy.requests)
    r = await target.call("GET", target.events())
    assert r.status_code == 401
    assert r.json()["type"] == "errors/expired_credentials"
    assert len(proxied.proxy.requests) == calls  # answered without asking the server


async def test_forbidden_is_403_and_creates_nothing(proxied: Proxied) -> None:
    proxied.proxy.faults.add("/", method="PUT", status=403, times=None)
    r = await proxied.target.call("POST", proxied.target.events(), json=BODY)
    assert r.status_code == 403, r.text
    assert r.json()["type"] == "errors/insufficient_permissions"
    assert proxied.proxy.count("PUT") == 1
    assert proxied.names() == []


# the server down, silent, failing ----------------------------------------------------------


async def test_server_down_is_503(api: Api, tmp_path: Path) -> None:
    with radicale_server(tmp_path / "short-lived") as server:
        user = server.add_user()
        server.make_calendar(user, "work", "Work")
        target = await connect(api, server.url, user)
    for method, url, body in (
        ("GET", "/api/v1/calendars", None),
        ("GET", target.events(), None),
        ("POST", target.events(), BODY),
    ):
        r = await target.call(method, url, json=body)
        assert r.status_code == 503, r.text
        assert r.json()["type"] == "errors/network_down"
        assert "could not be reached" in r.json()["detail"]


async def test_silent_server_is_504_within_the_deadline(proxied: Proxied) -> None:
    proxied.proxy.faults.add("/", method="REPORT", delay=30, times=None)
    started = time.monotonic()
    r = await proxied.target.call("GET", proxied.target.events())
    elapsed = time.monotonic() - started
    assert r.status_code == 504, r.text
    assert r.json()["type"] == "errors/request_timeout"
    assert "within 2 s" in r.json()["detail"]
    assert 1.9 < elapsed < 3.5


async def test_5xx_is_retried(proxied: Proxied) -> None:
    event_id = await proxied.target.create(BODY)
    proxied.proxy.faults.add("/", method="REPORT", status=500, times=2)
    [found] = await proxied.target.list()
    assert found["id"] == event_id
    assert proxied.proxy.count("REPORT") == 3


async def test_5xx_that_persists_is_500_provider_error(proxied: Proxied) -> None:
    proxied.proxy.faults.add("/", method="GET", status=502, times=None)
    r = await proxied.target.call("GET", proxied.target.event("anything"))
    assert r.status_code == 500, r.text
    assert r.json()["type"] == "errors/provider_error"
    assert "502" in r.json()["detail"]
    assert proxied.proxy.count("GET") == 3  # the first call and provider_retries=2


async def test_503_with_retry_after_is_waited_for(proxied: Proxied) -> None:
    event_id = await proxied.target.create(BODY)
    proxied.proxy.faults.add("/", method="GET", status=503, headers={"Retry-After": "1"})
    started = time.monotonic()
    event = await proxied.target.get(event_id)
    assert event["id"] == event_id
    assert time.monotonic() - started >= 1.0
    assert proxied.proxy.count("GET") == 2


async def test_429_beyond_the_deadline_is_429_with_retry_after(proxied: Proxied) -> None:
    proxied.proxy.faults.add("/", status=429, headers={"Retry-After": "120"}, times=None)
    r = await proxied.target.call("GET", proxied.target.events())
    assert r.status_code == 429, r.text
    assert r.json()["type"] == "errors/too_many_requests"
    assert r.headers["Retry-After"] == "120"


# retried writes never write twice ----------------------------------------------------------


async def test_create_whose_answer_is_lost_is_not_duplicated(proxied: Proxied) -> None:
    proxied.proxy.drop_after("PUT")  # the PUT lands, its answer never comes back
    event_id = await proxied.target.create(BODY)
    assert proxied.proxy.count("PUT") == 2  # the retry met 412: the first one had landed
    assert proxied.names() == [f"{event_id}.ics"]
    assert (await proxied.target.get(event_id))["title"] == "x"


async def test_create_dropped_before_the_server_is_sent_again(proxied: Proxied) -> None:
    proxied.proxy.faults.add("/", method="PUT", drop=True)
    event_id = await proxied.target.create(BODY)
    assert proxied.proxy.count("PUT") == 2
    assert proxied.names() == [f"{event_id}.ics"]


async def test_patch_whose_answer_is_lost_succeeds_once(proxied: Proxied) -> None:
    target = proxied.target
    event_id = await target.create(BODY)
    proxied.proxy.drop_after("PUT")
    r = await target.patch(event_id, {"title": "renamed"})
    assert r.status_code == 200, r.text
    assert proxied.proxy.count("PUT") == 3
    assert (await target.get(event_id))["title"] == "renamed"


# racing writers ----------------------------------------------------------------------------


def other_writer(proxied: Proxied, event_id: str) -> None:
    """Another client changes the event on the server (straight to Radicale)."""
    path = f"/{proxied.user.name}/work/{event_id}.ics"
    with proxied.radicale.client(proxied.user) as client:
        text = client.get(path).text.replace("SUMMARY:x", "SUMMARY:theirs")
        r = client.put(path, content=text.encode(), headers={"Content-Type": "text/calendar"})
        assert r.status_code == 204, r.text


@pytest.mark.parametrize(
    ("method", "body"), [("PATCH", {"title": "mine"}), ("DELETE", None)], ids=["patch", "delete"]
)
async def test_write_racing_another_client_is_409(
    proxied: Proxied, method: str, body: dict[str, str] | None
) -> None:
    target = proxied.target
    event_id = await target.create(BODY)
    server_method = "PUT" if method == "PATCH" else "DELETE"
    proxied.proxy.before(server_method, lambda: other_writer(proxied, event_id))
    r = await target.call(method, target.event(event_id), json=body)
    assert r.status_code == 409, r.text
    assert r.json()["type"] == "errors/conflict"
    assert "read it again" in r.json()["detail"]
    assert (await target.get(event_id))["title"] == "theirs"


async def test_no_httpx_error_escapes(proxied: Proxied) -> None:
    """A connection dropped on every try is a 503, not an exception through the app."""
    proxied.proxy.faults.add("/", method="REPORT", drop=True, times=None)
    r = await proxied.target.call("GET", proxied.target.events())
    assert r.status_code == 503, r.text
    assert r.json()["type"] == "errors/network_down"
    assert "closed before an answer" in r.json()["detail"]
