"""Google and Outlook accounts for tests: the fakes of tests/fakes, in process or on a socket.

In process, calgate's provider HTTP client gets a transport (``Hosts``) that hands each request
to the test server of its host, through ``httpx.ASGITransport``: ``Providers(..., transport=)``
is the injection point, nothing is patched. On a socket, the test servers run under uvicorn
(:func:`tests.fakes.serve`) and the settings point at them, as a deployment would.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from calgate.runtime import Runtime
from calgate.settings import Settings
from tests.conftest import Api
from tests.fakes import GoogleState, GraphState, google_app, graph_app, serve

GOOGLE = "http://google.test"
GRAPH = "http://graph.test"


class Hosts(httpx.AsyncBaseTransport):
    """Routes each request to the ASGI app of its host."""

    def __init__(self, apps: dict[str, Any]) -> None:
        self.transports = {host: httpx.ASGITransport(app=app) for host, app in apps.items()}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        transport = self.transports.get(request.url.host)
        if transport is None:
            raise httpx.ConnectError(f"no test server for {request.url.host}", request=request)
        return await transport.handle_async_request(request)


class LoseAnswers(httpx.AsyncBaseTransport):
    """A network that loses the answers of some requests *after* the server acted on them
    (the connection drops on the way back): what makes a naive retry create twice."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.rules: list[list[Any]] = []  # [method, path prefix, answers left to lose]

    def lose(self, method: str, path_prefix: str, times: int = 1) -> None:
        self.rules.append([method, path_prefix, times])

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        for rule in self.rules:
            method, prefix, left = rule
            if left and request.method == method and request.url.path.startswith(prefix):
                rule[2] -= 1
                await response.aclose()
                raise httpx.RemoteProtocolError(
                    "Server disconnected without sending a response.", request=request
                )
        return response


@dataclass
class Fakes:
    google: GoogleState = field(default_factory=GoogleState)
    graph: GraphState = field(default_factory=GraphState)
    google_url: str = GOOGLE
    graph_url: str = GRAPH

    def settings(self, base: Settings, **extra: Any) -> Settings:
        """``base`` pointed at the test servers, with their OAuth clients."""
        g, m = self.google.oauth, self.graph.oauth
        return base.model_copy(
            update={
                "public_url": "http://calgate.test",
                "google_api_url": self.google_url,
                "google_auth_url": f"{self.google_url}/o/oauth2/v2/auth",
                "google_token_url": f"{self.google_url}/token",
                "google_client_id": g.client_id,
                "google_client_secret": SecretStr(g.client_secret),
                "graph_api_url": self.graph_url,
                "microsoft_login_url": self.graph_url,
                "microsoft_client_id": m.client_id,
                "microsoft_client_secret": SecretStr(m.client_secret),
                "provider_timeout_seconds": 10.0,
                **extra,
            }
        )

    network: LoseAnswers | None = None
    stop: Callable[[], None] = field(default=lambda: None, repr=False)

    def hosts(self) -> Hosts:
        """Both test servers in process, by host name (what a browser or another process
        would reach)."""
        return Hosts({"google.test": google_app(self.google), "graph.test": graph_app(self.graph)})

    def transport(self) -> LoseAnswers:
        """The network of calgate's providers: it can be told to lose answers."""
        self.network = LoseAnswers(self.hosts())
        return self.network

    def state(self, provider: str) -> GoogleState | GraphState:
        return self.google if provider == "GOOGLE_OAUTH" else self.graph

    @contextmanager
    def served(self) -> Iterator[Fakes]:
        """Both test servers on loopback ports; ``stop()`` shuts them down early."""
        with ExitStack() as stack:
            self.google_url = stack.enter_context(serve(google_app(self.google)))
            self.graph_url = stack.enter_context(serve(graph_app(self.graph)))
            self.stop = stack.close
            yield self


async def in_process_runtime(settings: Settings, fakes: Fakes) -> AsyncIterator[Runtime]:
    """The real runtime, its providers' HTTP client on the in-process test servers."""
    rt = Runtime.build(settings, transport=fakes.transport())
    await rt.start()
    try:
        yield rt
    finally:
        await rt.aclose()


async def connect(api: Api, fakes: Fakes, provider: str, **body: Any) -> str:
    """Connect an account of ``provider`` with a refresh token the test server issued."""
    token = fakes.state(provider).oauth.issue_refresh_token()
    r = await api.call(
        "POST", "/api/v1/accounts", json={"provider": provider, "refresh_token": token, **body}
    )
    assert r.status_code == 201, r.text
    account_id: str = r.json()["account_id"]
    return account_id


def seed_calendar(fakes: Fakes, provider: str) -> str:
    """The default calendar's id on the test server."""
    if provider == "GOOGLE_OAUTH":
        return fakes.google.email
    return fakes.graph.default_calendar


@pytest.fixture(name="fakes")
def fakes_fixture() -> Fakes:
    return Fakes()


@pytest.fixture(name="settings")
def oauth_settings(settings: Settings, fakes: Fakes) -> Settings:
    """The conftest settings pointed at the in-process test servers."""
    return fakes.settings(settings)


@pytest.fixture(name="runtime")
async def oauth_runtime(settings: Settings, fakes: Fakes) -> AsyncIterator[Runtime]:
    async for rt in in_process_runtime(settings, fakes):
        yield rt


def events_of(fakes: Fakes, provider: str) -> list[dict[str, Any]]:
    """The events the test server holds in the default calendar."""
    if provider == "GOOGLE_OAUTH":
        return fakes.google.stored()
    return fakes.graph.stored()


def body_sent(fakes: Fakes, provider: str, method: str = "POST") -> Any:
    """The JSON body of the last event write of ``method`` the test server received."""
    state = fakes.state(provider)
    prefix = "/calendar/v3/calendars/" if provider == "GOOGLE_OAUTH" else "/v1.0/me/calendars/"
    found = [r for r in state.requests.find(method, prefix) if "/events" in r.path]
    assert found, f"no {method} reached the test server"
    return found[-1].json
