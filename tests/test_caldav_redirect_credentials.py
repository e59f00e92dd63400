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


@pytest.mark.parametrize("other", ["host", "port"])
async def test_no_credentials_to_another_origin(api: Api, other: str) -> None:
    with http_server(unauthorized) as (b_address, b_seen):
        b_port = b_address.rsplit(":", 1)[1]
        # Another host name (same loopback address), or the same host on another port.
        host = "localhost" if other == "host" else "127.0.0.1"
        with http_server(redirect_to(f"http://{host}:{b_port}/dav/")) as (a_address, a_seen):
            r = await connect(api, f"http://{a_address}/")
    assert a_seen and all(h["authorization"].startswith("Basic ") for h in a_seen)
    assert b_seen, "the redirect was not followed"
    assert not [h for h in b_seen if "authorization" in h]
    assert r.status_code == 400, r.text
    detail = r.json()["detail"]
    assert "redirected" in detail and "does not send the password" in detail


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
