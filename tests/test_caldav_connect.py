"""Connecting CALDAV and ICLOUD accounts: discovery on a real Radicale, and every way it fails."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from calgate.settings import Settings
from calgate.store import tables
from tests.conftest import Api
from tests.fakes.common import serve
from tests.radicale import (  # noqa: F401 - radicale_fixture
    METHODS,
    Radicale,
    User,
    free_port,
    proxy_to,
    radicale_fixture,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "provider_timeout_seconds": 1.0,
            "cache_seconds": 0.0,
            "allow_loopback_urls": True,
        }
    )


async def connect(api: Api, **body: Any) -> httpx.Response:
    return await api.call("POST", "/api/v1/accounts", json={"provider": "CALDAV", **body})


async def account_count(api: Api) -> int:
    r = await api.call("GET", "/api/v1/accounts")
    return len(r.json()["items"])


def credentials(user: User) -> dict[str, str]:
    return {"username": user.name, "password": user.password}


@pytest.fixture
def user(radicale: Radicale) -> User:
    user = radicale.add_user()
    radicale.make_calendar(user, "work", "Work", color="#FF8800FF")
    radicale.make_calendar(user, "tasks", "Tasks", components=("VTODO",))
    radicale.make_calendar(user, "home", "Home", color="#f6bf26", components=("VEVENT", "VTODO"))
    return user


async def test_discovery_from_the_server_root(api: Api, radicale: Radicale, user: User) -> None:
    r = await connect(api, url=radicale.url + "/", name="Work DAV", **credentials(user))
    assert r.status_code == 201, r.text
    assert r.json()["object"] == "AccountCreated"
    account_id = r.json()["account_id"]
    r = await api.call("GET", f"/api/v1/accounts/{account_id}")
    account = r.json()
    assert account["type"] == "CALDAV"
    assert account["name"] == "Work DAV"
    assert account["sources"] == [{"id": f"{account_id}_CALENDAR", "status": "OK"}]
    assert account["connection_params"]["calendar"] == {
        "email": "",
        "url": radicale.url + "/",
        "username": user.name,
        "principal": f"{radicale.url}/{user.name}/",
        "home": f"{radicale.url}/{user.name}/",
        "calendar_auto_schedule": False,
        "default": "home",  # kept from the connection (issue 11: calendars made later)
    }
    assert user.password not in r.text
    r = await api.call("GET", "/api/v1/calendars", account_id=account_id)
    calendars = r.json()["data"]
    # Path order, the first writable one is the default (listed first); VTODO-only is left out.
    assert [
        (c["id"], c["name"], c["background_color"], c["is_default"], c["is_read_only"])
        for c in calendars
    ] == [
        ("home", "Home", "#F6BF26", True, False),
        ("work", "Work", "#FF8800", False, False),
    ]
    assert calendars[1]["access_role"] == "owner"
    assert [c["foreground_color"] for c in calendars] == ["#000000", "#FFFFFF"]
    assert calendars[1]["timezone"] == "UTC"
    assert calendars[1]["version"].startswith("http://radicale.org/ns/sync/")
    r = await api.call("GET", "/api/v1/calendars/work", account_id=account_id)
    assert r.json() == calendars[1]
    r = await api.call("GET", "/api/v1/calendars/tasks", account_id=account_id)
    assert r.status_code == 404
    r = await api.call("GET", f"/api/v1/accounts/{account_id}/capabilities")
    assert r.json()["invitations"] == "calgate"
    assert r.json()["calendar_management"] is True  # MKCALENDAR, PROPPATCH, DELETE
    assert r.json()["conference_create"] == []


async def test_scheduling_server_sends_invitations_itself(
    api: Api, radicale: Radicale, user: User
) -> None:
    """A server announcing RFC 6638 calendar-auto-schedule invites attendees itself: the
    account's capabilities say so, and a hidden attendee list (which its invitations would
    show) is refused."""
    with proxy_to(radicale) as (proxy, url):
        proxy.dav_header = "1, 2, 3, calendar-access, calendar-auto-schedule"
        r = await connect(api, url=url, **credentials(user))
        assert r.status_code == 201, r.text
        account_id = r.json()["account_id"]
        r = await api.call("GET", f"/api/v1/accounts/{account_id}")
        params = r.json()["connection_params"]["calendar"]
        assert params["calendar_auto_schedule"] is True
        r = await api.call("GET", f"/api/v1/accounts/{account_id}/capabilities")
        assert (r.json()["invitations"], r.json()["hidden_attendees"]) == ("provider", False)
        body = {
            "title": "x",
            "is_attendees_list_hidden": True,
            "start": {"date": "2026-01-01"},
            "end": {"date": "2026-01-02"},
        }
        r = await api.call(
            "POST", "/api/v1/calendars/work/events", account_id=account_id, json=body
        )
        assert r.status_code == 501, r.text
        assert "is_attendees_list_hidden" in r.json()["detail"]
        # RFC 6638: without notify, the attendees are the client's to invite, not the server's.
        for notify in (False, True):
            body = {
                "title": "x",
                "notify": notify,
                "attendees": [{"email": "ada@example.org"}],
                "start": {"date": "2026-01-01"},
                "end": {"date": "2026-01-02"},
            }
            r = await api.call(
                "POST", "/api/v1/calendars/work/events", account_id=account_id, json=body
            )
            assert r.status_code == 200, r.text
            raw = radicale.raw(user, f"/{user.name}/work/{r.json()['event_id']}.ics")
            [attendee] = [
                line
                for line in raw.replace("\r\n ", "").split("\r\n")
                if line.startswith("ATTENDEE")
            ]
            assert ("SCHEDULE-AGENT=CLIENT" in attendee) is not notify


async def test_password_is_sealed_at_rest(api: Api, radicale: Radicale, user: User) -> None:
    r = await connect(api, url=radicale.url, **credentials(user))
    assert r.status_code == 201, r.text
    rows = await api.runtime.db.read(
        lambda c: (
            c.execute(tables.accounts.select().where(tables.accounts.c.type == "CALDAV"))
            .mappings()
            .all()
        )
    )
    [row] = rows
    assert user.password not in row["secrets"]
    assert user.password not in row["params"]


@pytest.mark.parametrize("path", ["/{user}/", "/{user}/work/", "/somewhere/else/"])
async def test_discovery_from_other_urls(
    api: Api, radicale: Radicale, user: User, path: str
) -> None:
    """A principal URL, a calendar URL, and a path the user may not see (then the server's
    /.well-known/caldav) all lead to the same calendars."""
    r = await connect(api, url=radicale.url + path.format(user=user.name), **credentials(user))
    assert r.status_code == 201, r.text
    r = await api.call("GET", "/api/v1/calendars", account_id=r.json()["account_id"])
    assert [c["id"] for c in r.json()["data"]] == ["home", "work"]


async def test_email_and_name_given_or_derived(api: Api, radicale: Radicale) -> None:
    user = radicale.add_user(prefix="ada@example.org-")
    radicale.make_calendar(user, "cal", "Cal")
    r = await connect(api, url=radicale.url, **credentials(user))
    assert r.status_code == 201, r.text
    r = await api.call("GET", f"/api/v1/accounts/{r.json()['account_id']}")
    assert r.json()["name"] == user.name
    assert r.json()["connection_params"]["calendar"]["email"] == user.name
    r = await connect(api, url=radicale.url, email="ops@example.org", **credentials(user))
    r = await api.call("GET", f"/api/v1/accounts/{r.json()['account_id']}")
    assert r.json()["connection_params"]["calendar"]["email"] == "ops@example.org"


async def test_bad_password_is_401_and_stores_nothing(
    api: Api, radicale: Radicale, user: User
) -> None:
    before = await account_count(api)
    r = await connect(api, url=radicale.url, username=user.name, password="wrong")
    assert r.status_code == 401, r.text
    assert r.json()["type"] == "errors/invalid_credentials"
    assert "password" in r.json()["detail"]
    assert "wrong" not in r.text
    assert await account_count(api) == before


async def test_unreachable_server_is_503(api: Api, user: User) -> None:
    before = await account_count(api)
    r = await connect(api, url=f"http://127.0.0.1:{free_port()}/", **credentials(user))
    assert r.status_code == 503, r.text
    assert r.json()["type"] == "errors/network_down"
    assert await account_count(api) == before


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A loopback server that takes connections and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/"


async def test_server_that_never_answers_is_504(api: Api, user: User, silent_server: str) -> None:
    before = await account_count(api)
    started = time.monotonic()
    r = await connect(api, url=silent_server, **credentials(user))
    elapsed = time.monotonic() - started
    assert r.status_code == 504, r.text
    assert r.json()["type"] == "errors/request_timeout"
    assert "1 s" in r.json()["detail"]
    assert 0.9 < elapsed < 3
    assert await account_count(api) == before


def _web_site(status: int) -> Starlette:
    async def page(request: Request) -> Response:
        return PlainTextResponse("<html>hello</html>", status_code=status)

    return Starlette(routes=[Route("/{path:path}", page, methods=list(METHODS))])


@pytest.mark.parametrize("status", [200, 404, 405])
async def test_a_web_site_is_not_a_caldav_server(api: Api, user: User, status: int) -> None:
    before = await account_count(api)
    with serve(_web_site(status)) as url:
        r = await connect(api, url=url + "/dav/", **credentials(user))
    assert r.status_code == 400, r.text
    assert r.json()["type"] == "errors/invalid_parameters"
    assert r.json()["detail"].startswith(f"url: {url}/dav/ is not a CalDAV server")
    assert await account_count(api) == before


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"username": "u", "password": "p"}, "url"),
        ({"url": "http://127.0.0.1:1/", "password": "p"}, "username"),
        ({"url": "http://127.0.0.1:1/", "username": "u"}, "password"),
        ({"url": "ftp://dav.example.org/", "username": "u", "password": "p"}, "url"),
        ({"url": "http://u:p@dav.example.org/", "username": "u", "password": "p"}, "url"),
        ({"url": "http://127.0.0.1:1/", "username": "u", "password": 5}, "password"),
        ({"url": "http://127.0.0.1:1/", "username": "u", "password": "p", "port": 1}, "port"),
    ],
)
async def test_connect_validation(api: Api, body: dict[str, Any], needle: str) -> None:
    r = await connect(api, **body)
    assert r.status_code == 400, r.text
    assert r.json()["type"] == "errors/invalid_parameters"
    assert r.json()["detail"].startswith(needle)


class TestICloud:
    @pytest.fixture
    def settings(self, settings: Settings, radicale: Radicale) -> Settings:
        return settings.model_copy(update={"icloud_url": radicale.url + "/"})

    async def test_icloud_connects_to_the_configured_server(
        self, api: Api, radicale: Radicale, user: User
    ) -> None:
        r = await api.call(
            "POST", "/api/v1/accounts", json={"provider": "ICLOUD", **credentials(user)}
        )
        assert r.status_code == 201, r.text
        account_id = r.json()["account_id"]
        r = await api.call("GET", f"/api/v1/accounts/{account_id}")
        assert r.json()["type"] == "ICLOUD"
        assert r.json()["connection_params"]["calendar"]["url"] == radicale.url + "/"
        r = await api.call("GET", f"/api/v1/accounts/{account_id}/capabilities")
        caps = r.json()
        assert (caps["invitations"], caps["hidden_attendees"]) == ("provider", False)
        r = await api.call("GET", "/api/v1/calendars", account_id=account_id)
        assert [c["id"] for c in r.json()["data"]] == ["home", "work"]

    async def test_icloud_takes_no_url(self, api: Api, user: User) -> None:
        body = {"provider": "ICLOUD", "url": "https://dav.example.org/", **credentials(user)}
        r = await api.call("POST", "/api/v1/accounts", json=body)
        assert r.status_code == 400, r.text
        assert r.json()["detail"].startswith("url: ICLOUD accounts use the iCloud server")


class TestLoopbackRefused:
    """By default calgate calls no loopback or link-local address a client names."""

    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return settings.model_copy(update={"allow_loopback_urls": False})

    @pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]", "169.254.169.254"])
    async def test_loopback_address_is_refused(self, api: Api, user: User, host: str) -> None:
        before = await account_count(api)
        r = await connect(api, url=f"http://{host}:8080/dav/", **credentials(user))
        assert r.status_code == 400, r.text
        assert r.json()["detail"].startswith("url: ")
        assert "loopback" in r.json()["detail"]
        assert await account_count(api) == before

    async def test_name_resolving_to_loopback_is_refused(
        self, api: Api, radicale: Radicale, user: User
    ) -> None:
        name = socket.gethostname()
        try:
            address = socket.gethostbyname(name)
        except OSError:
            pytest.skip(f"this machine's name {name!r} does not resolve")
        if not address.startswith("127."):
            pytest.skip(f"this machine's name {name!r} is not a loopback name here")
        port = radicale.url.rpartition(":")[2]
        r = await connect(api, url=f"http://{name}:{port}/", **credentials(user))
        assert r.status_code == 400, r.text
        assert r.json()["detail"] == (
            f"url: {name} is or resolves to {address}, a loopback or link-local address calgate "
            "does not call unless CALGATE_ALLOW_LOOPBACK_URLS=true (development and tests)"
        )
