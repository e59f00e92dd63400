"""A CalDAV server that redirects to another host, port or scheme never receives the account's
Basic credentials there (issue 13, item 16): two real HTTP servers on loopback, the first
redirecting every request to the second, which records what it was sent."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from calgate.settings import Settings
from tests.conftest import Api
from tests.radicale import Radicale, radicale_fixture  # noqa: F401
from tests.test_caldav_big_answers import WINDOW, big_proxy, connected

pytestmark = pytest.mark.anyio


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"allow_loopback_urls": True, "provider_timeout_seconds": 5.0}
    )


@contextmanager
def http_server(answer: Any) -> Iterator[tuple[str, list[dict[str, str]]]]:
    """A loopback server calling ``answer(handler)`` for every request; yields its base URL
    and the headers of the requests it got."""
    seen: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def handle_one(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            seen.append({k.lower(): v for k, v in self.headers.items()})
            answer(self)

        do_PROPFIND = do_GET = do_REPORT = handle_one

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def unauthorized(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(401)
    handler.send_header("WWW-Authenticate", 'Basic realm="other"')
    handler.send_header("Content-Length", "0")
    handler.end_headers()


def redirect_to(location: str) -> Any:
    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(307)
        handler.send_header("Location", location)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return answer


async def connect(api: Api, url: str) -> Any:
    body = {"provider": "CALDAV", "url": url, "username": "ada", "password": "s3cret-pw"}
    return await api.call("POST", "/api/v1/accounts", json=body)


def open_dav(handler: BaseHTTPRequestHandler) -> None:
    """A server that asks for no password and names a principal and a home on itself."""
    body = (
        '<?xml version="1.0"?><D:multistatus xmlns:D="DAV:" '
        'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:response>'
        f"<D:href>{handler.path}</D:href><D:propstat><D:prop>"
        "<D:current-user-principal><D:href>/principal/</D:href></D:current-user-principal>"
        "<C:calendar-home-set><D:href>/home/</D:href></C:calendar-home-set>"
        "<D:resourcetype><D:collection/></D:resourcetype>"
        "</D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>"
        "</D:multistatus>"
    ).encode()
    handler.send_response(207)
    handler.send_header("Content-Type", "application/xml")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


@pytest.mark.parametrize("other", ["host", "port"])
async def test_connecting_refuses_a_redirect_to_another_origin(api: Api, other: str) -> None:
    with http_server(open_dav) as (b_address, b_seen):
        b_port = b_address.rsplit(":", 1)[1]
        # Another host name (same loopback address), or the same host on another port.
        host = "localhost" if other == "host" else "127.0.0.1"
        with http_server(redirect_to(f"http://{host}:{b_port}/dav/")) as (a_address, a_seen):
            r = await connect(api, f"http://{a_address}/")
    assert a_seen and all(h["authorization"].startswith("Basic ") for h in a_seen)
    assert b_seen == []
    assert r.status_code == 400, r.text
    detail = r.json()["detail"]
    assert f"redirected to http://{host}:{b_port}, another server" in detail
    assert "does not send the password" in detail


@pytest.mark.parametrize("answer", [unauthorized, open_dav], ids=["asks", "open"])
async def test_connected_account_sends_no_credentials_after_a_redirect(
    api: Api, radicale: Radicale, answer: Any
) -> None:
    """The server of a connected account starts redirecting to another one: that one gets no
    password, whether it asks for one (a clear error) or answers without."""
    with big_proxy(radicale.url) as proxy, http_server(answer) as (b_address, b_seen):
        target, _ = await connected(api, radicale, proxy)
        b_port = b_address.rsplit(":", 1)[1]
        proxy.redirect = f"http://localhost:{b_port}"
        r = await target.call("GET", target.events(), params=WINDOW)
    assert b_seen, "the redirect was not followed"
    assert not [h for h in b_seen if "authorization" in h]
    if answer is unauthorized:
        assert r.status_code == 500, r.text
        assert r.json()["detail"].startswith(
            f"url: the CalDAV server redirected to http://localhost:{b_port}, another server"
        )


async def test_same_origin_redirect_keeps_credentials(api: Api, radicale: Radicale) -> None:
    """Radicale redirects /.well-known/caldav to / on itself: credentials still go along."""
    user = radicale.add_user()
    radicale.make_calendar(user, "work", "Work")
    body = {
        "provider": "CALDAV",
        "url": f"{radicale.url}/.well-known/caldav",
        "username": user.name,
        "password": user.password,
    }
    r = await api.call("POST", "/api/v1/accounts", json=body)
    assert r.status_code == 201, r.text
