"""What the Google and Graph test servers share: faults, request log, OAuth, paging, serving.

A test server is a :class:`FakeApp`: a Starlette app whose every HTTP request is first written
to a :class:`RequestLog` and then matched against the :class:`Faults` armed by the test, before
the provider routes see it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import itertools
import json
import logging
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode

import anyio
import httpx
import uvicorn
from dateutil.rrule import rrule, rruleset
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "ConnectionDropped",
    "FakeApp",
    "Fault",
    "Faults",
    "OAuthError",
    "OAuthServer",
    "RequestLog",
    "RequestRecord",
    "oauth_routes",
    "occurrences",
    "page",
    "parse_rfc3339",
    "pkce_challenge",
    "serve",
]

T = TypeVar("T")


@dataclass
class Fault:
    """One armed failure: requests whose path starts with ``path_prefix`` (and whose method is
    ``method``, if given) are answered with ``status`` after ``delay`` seconds, or dropped.

    ``times`` is how many requests it hits (``None``: all of them); ``hits`` counts them.
    ``body`` replaces the provider's default error body; ``reason`` picks the Google reason or
    the Graph error code of the default body. A fault with only a ``delay`` slows the request
    down and then lets the server answer it normally; one with ``answer_delay`` lets the server
    act at once and holds its answer back that long (a client that dies meanwhile leaves the
    change made and unanswered).
    """

    path_prefix: str = "/"
    method: str | None = None
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    reason: str | None = None
    times: int | None = 1
    delay: float = 0.0
    drop: bool = False
    answer_delay: float = 0.0
    hits: int = 0

    @property
    def spent(self) -> bool:
        return self.times is not None and self.hits >= self.times

    def matches(self, method: str, path: str) -> bool:
        return path.startswith(self.path_prefix) and self.method in (None, method)


class Faults:
    """The faults armed on one test server, tried in the order they were added."""

    def __init__(self) -> None:
        self._items: list[Fault] = []
        self._lock = threading.Lock()
        self._releases = 0

    def release(self) -> None:
        """End the delays under way now: those requests are answered at once."""
        self._releases += 1

    async def wait(self, delay: float) -> None:
        releases, deadline = self._releases, time.monotonic() + delay
        # Polling, not an anyio.Event: release() is called from the test's thread.
        while self._releases == releases and (left := deadline - time.monotonic()) > 0:  # noqa: ASYNC110
            await anyio.sleep(min(left, 0.05))

    def add(
        self,
        path_prefix: str = "/",
        *,
        status: int | None = None,
        method: str | None = None,
        headers: Mapping[str, str] | None = None,
        body: Any = None,
        reason: str | None = None,
        times: int | None = 1,
        delay: float = 0.0,
        drop: bool = False,
        answer_delay: float = 0.0,
    ) -> Fault:
        if status is None and not delay and not drop and not answer_delay:
            raise ValueError("a fault needs a status, a delay, an answer_delay or drop=True")
        fault = Fault(
            path_prefix=path_prefix,
            method=method.upper() if method else None,
            status=status,
            headers=dict(headers or {}),
            body=body,
            reason=reason,
            times=times,
            delay=delay,
            drop=drop,
            answer_delay=answer_delay,
        )
        with self._lock:
            self._items.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __iter__(self) -> Iterator[Fault]:
        return iter(list(self._items))

    def take(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self._items:
                if not fault.spent and fault.matches(method, path):
                    fault.hits += 1
                    return fault
        return None


@dataclass
class RequestRecord:
    """One request as the test server received it; ``status`` is None when it was dropped."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    status: int | None = None
    fault: Fault | None = None

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body and "json" in self.content_type else None

    @property
    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode())) if "urlencoded" in self.content_type else {}

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


class RequestLog:
    """Every request a test server received, oldest first, and how many ran at once."""

    def __init__(self) -> None:
        self.records: list[RequestRecord] = []
        self.in_flight = 0
        self.max_in_flight = 0

    def __iter__(self) -> Iterator[RequestRecord]:
        return iter(list(self.records))

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> RequestRecord:
        return self.records[index]

    def find(self, method: str | None = None, path_prefix: str = "/") -> list[RequestRecord]:
        return [
            r for r in self.records if r.path.startswith(path_prefix) and method in (None, r.method)
        ]

    def clear(self) -> None:
        self.records.clear()
        self.max_in_flight = self.in_flight


class ConnectionDropped(httpx.RemoteProtocolError):
    """Raised by a fault with ``drop=True``. In process it reaches the httpx client as the error
    a real dropped connection gives; :func:`serve` turns it into a closed socket."""

    def __init__(self) -> None:
        super().__init__("Server disconnected without sending a response.")


class FakeApp(Starlette):
    """A Starlette app that logs every request and applies armed faults before routing it."""

    def __init__(
        self,
        *,
        routes: Sequence[BaseRoute],
        exception_handlers: Mapping[Any, Callable[..., Any]],
        faults: Faults,
        requests: RequestLog,
        fault_body: Callable[[Fault], Any],
    ) -> None:
        super().__init__(routes=routes, exception_handlers=dict(exception_handlers))
        self.faults = faults
        self.requests = requests
        self.fault_body = fault_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        body = bytearray()
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        record = RequestRecord(
            method=scope["method"],
            path=scope["path"],
            query=dict(parse_qsl(scope["query_string"].decode(), keep_blank_values=True)),
            headers={k.decode().lower(): v.decode() for k, v in scope["headers"]},
            body=bytes(body),
        )
        self.requests.records.append(record)
        self.requests.in_flight += 1
        self.requests.max_in_flight = max(self.requests.max_in_flight, self.requests.in_flight)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                record.status = message["status"]
                if record.fault is not None and record.fault.answer_delay:
                    await self.faults.wait(record.fault.answer_delay)
            await send(message)

        try:
            fault = record.fault = self.faults.take(record.method, record.path)
            if fault is not None and fault.delay:
                await self.faults.wait(fault.delay)
            if fault is not None and fault.drop:
                raise ConnectionDropped
            if fault is not None and fault.status is not None:
                content = fault.body if fault.body is not None else self.fault_body(fault)
                response = JSONResponse(content, fault.status, headers=fault.headers)
                await response(scope, replay, watch)
                return
            await super().__call__(scope, replay, watch)
        finally:
            self.requests.in_flight -= 1


@dataclass
class _Grant:
    client_id: str
    redirect_uri: str
    scope: str
    challenge: str | None
    method: str


class OAuthError(Exception):
    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error, self.description, self.status = error, description, status


class OAuthServer:
    """An OAuth 2.0 authorization server with one registered client and PKCE (S256 or plain).

    Tests get tokens without the dance through :meth:`issue_refresh_token` and
    :meth:`issue_access_token`, and make them fail with :meth:`expire_access_tokens` and
    :meth:`revoke`.
    """

    def __init__(
        self,
        *,
        client_id: str = "calgate-test-client",
        client_secret: str = "calgate-test-secret",
        scope: str = "",
        rotate_refresh_tokens: bool = False,
    ) -> None:
        self.clients: dict[str, str | None] = {client_id: client_secret}
        self.client_id, self.client_secret, self.scope = client_id, client_secret, scope
        self.rotate_refresh_tokens = rotate_refresh_tokens
        self.access_token_lifetime = 3600
        self.deny_consent = False
        self.access_tokens: dict[str, float] = {}
        self.refresh_tokens: dict[str, str] = {}
        self.codes: dict[str, _Grant] = {}
        self.grants: list[str] = []

    def issue_refresh_token(self, scope: str | None = None) -> str:
        token = "1//r-" + secrets.token_urlsafe(24)
        self.refresh_tokens[token] = self.scope if scope is None else scope
        return token

    def issue_access_token(self, lifetime: float | None = None) -> str:
        token = "ya29.a-" + secrets.token_urlsafe(24)
        life = self.access_token_lifetime if lifetime is None else lifetime
        self.access_tokens[token] = time.time() + life
        return token

    def issue_code(
        self, redirect_uri: str, challenge: str | None = None, method: str = "S256"
    ) -> str:
        """An authorization code as the consent screen would give, bound to a PKCE challenge."""
        code = "4/c-" + secrets.token_urlsafe(24)
        self.codes[code] = _Grant(self.client_id, redirect_uri, self.scope, challenge, method)
        return code

    def expire_access_tokens(self) -> None:
        self.access_tokens = dict.fromkeys(self.access_tokens, 0.0)

    def revoke(self, token: str) -> None:
        self.access_tokens.pop(token, None)
        self.refresh_tokens.pop(token, None)

    def valid(self, authorization: str | None) -> bool:
        scheme, _, token = (authorization or "").partition(" ")
        return scheme.lower() == "bearer" and self.access_tokens.get(token, 0.0) > time.time()

    def authorize(self, params: Mapping[str, str]) -> str:
        """Consent on the user's behalf; return the URL the browser is sent back to."""
        client_id, redirect_uri = params.get("client_id", ""), params.get("redirect_uri", "")
        if client_id not in self.clients or not redirect_uri:
            raise OAuthError("invalid_client", "The OAuth client was not found.", 401)
        if params.get("response_type") != "code":
            raise OAuthError("unsupported_response_type", "response_type must be code.")
        method = params.get("code_challenge_method", "plain")
        if method not in ("S256", "plain"):
            raise OAuthError("invalid_request", "Invalid code_challenge_method.")
        answer: dict[str, str] = {}
        if self.deny_consent:
            answer["error"] = "access_denied"
        else:
            code = "4/c-" + secrets.token_urlsafe(24)
            challenge = params.get("code_challenge")
            scope = params.get("scope", self.scope)
            self.codes[code] = _Grant(client_id, redirect_uri, scope, challenge, method)
            answer.update(code=code, scope=scope)
        if "state" in params:
            answer["state"] = params["state"]
        return redirect_uri + ("&" if "?" in redirect_uri else "?") + urlencode(answer)

    def token(self, form: Mapping[str, str], basic: str | None = None) -> dict[str, Any]:
        client_id, secret = form.get("client_id"), form.get("client_secret")
        if basic and basic.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(basic[6:]).decode()
            except (binascii.Error, UnicodeDecodeError) as exc:
                raise OAuthError("invalid_client", "Malformed basic credentials.", 401) from exc
            client_id, _, secret = decoded.partition(":")
        if client_id not in self.clients:
            raise OAuthError("invalid_client", "The OAuth client was not found.", 401)
        if self.clients[client_id] is not None and secret != self.clients[client_id]:
            raise OAuthError("invalid_client", "Unauthorized", 401)
        grant_type = form.get("grant_type", "")
        self.grants.append(grant_type)
        if grant_type == "refresh_token":
            old = form.get("refresh_token", "")
            if old not in self.refresh_tokens:
                raise OAuthError("invalid_grant", "Token has been expired or revoked.")
            scope = self.refresh_tokens[old]
            refresh = None
            if self.rotate_refresh_tokens:
                refresh = self.issue_refresh_token(self.refresh_tokens.pop(old))
        elif grant_type == "authorization_code":
            grant = self.codes.pop(form.get("code", ""), None)
            if grant is None or grant.client_id != client_id:
                raise OAuthError("invalid_grant", "Malformed auth code.")
            if form.get("redirect_uri") != grant.redirect_uri:
                raise OAuthError("invalid_grant", "Bad Request: redirect_uri mismatch.")
            if grant.challenge is not None:
                verifier = form.get("code_verifier")
                if verifier is None:
                    raise OAuthError("invalid_grant", "Missing code verifier.")
                if pkce_challenge(verifier, grant.method) != grant.challenge:
                    raise OAuthError("invalid_grant", "Invalid code verifier.")
            scope, refresh = grant.scope, self.issue_refresh_token(grant.scope)
        else:
            raise OAuthError("unsupported_grant_type", f"Invalid grant_type: {grant_type}")
        answer: dict[str, Any] = {
            "access_token": self.issue_access_token(),
            "expires_in": self.access_token_lifetime,
            "token_type": "Bearer",
            "scope": scope,
        }
        if refresh is not None:
            answer["refresh_token"] = refresh
        return answer


def pkce_challenge(verifier: str, method: str = "S256") -> str:
    if method == "plain":
        return verifier
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def oauth_routes(oauth: OAuthServer, authorize_path: str, token_path: str) -> list[Route]:
    """The authorization endpoint (consents at once and redirects) and the token endpoint."""

    def failure(exc: OAuthError) -> Response:
        body = {"error": exc.error, "error_description": exc.description}
        return JSONResponse(body, exc.status)

    async def authorize(request: Request) -> Response:
        try:
            return RedirectResponse(oauth.authorize(request.query_params), 302)
        except OAuthError as exc:
            return failure(exc)

    async def token(request: Request) -> Response:
        if "application/x-www-form-urlencoded" not in request.headers.get("content-type", ""):
            return failure(OAuthError("invalid_request", "Expected a form-encoded body."))
        form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        try:
            answer = oauth.token(form, request.headers.get("authorization"))
        except OAuthError as exc:
            return failure(exc)
        return JSONResponse(answer, headers={"Cache-Control": "no-store"})

    return [
        Route(authorize_path, authorize, methods=["GET"]),
        Route(token_path, token, methods=["POST"]),
    ]


def parse_rfc3339(text: str) -> datetime:
    """An RFC 3339 timestamp with its offset; ValueError without one."""
    value = datetime.fromisoformat(text.replace("z", "Z"))
    if value.tzinfo is None or "T" not in text.upper():
        raise ValueError(f"not an RFC 3339 timestamp: {text!r}")
    return value


def page(items: Sequence[T], token: str | None, size: int) -> tuple[list[T], str | None]:
    """One page of ``items`` and the opaque token of the next page, if any."""
    start = 0
    if token:
        try:
            start = int(base64.urlsafe_b64decode(token.encode()).decode().removeprefix("at:"))
        except (ValueError, binascii.Error) as exc:
            raise ValueError("invalid page token") from exc
    end = start + size
    following = base64.urlsafe_b64encode(f"at:{end}".encode()).decode()
    return list(items[start:end]), following if end < len(items) else None


def occurrences(
    rule: rrule | rruleset,
    duration: timedelta,
    after: datetime | None,
    before: datetime | None,
    limit: int = 2500,
) -> list[datetime]:
    """Starts of the occurrences overlapping [after, before), at most ``limit`` of them."""
    found = []
    for start in itertools.islice(rule, 100_000):
        if before is not None and start >= before:
            break
        if after is None or start + duration > after or (not duration and start >= after):
            found.append(start)
            if len(found) >= limit:
                break
    return found


class _Quiet(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "should return None" not in record.getMessage()


class _SocketApp:
    """Closes the socket without a word when the app raises :class:`ConnectionDropped`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> bool | None:
        try:
            await self.app(scope, receive, send)
        except ConnectionDropped:
            # uvicorn closes the connection, sending nothing, when an app returns a value.
            return True
        return None


@contextmanager
def serve(app: ASGIApp) -> Iterator[str]:
    """Run ``app`` with uvicorn on a free 127.0.0.1 port in a thread; yield its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        _SocketApp(app),
        http="h11",
        ws="none",
        lifespan="off",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    quiet = _Quiet()
    logging.getLogger("uvicorn.error").addFilter(quiet)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        faults = getattr(app, "faults", None)
        if isinstance(faults, Faults):
            faults.release()
        server.should_exit = True
        thread.join(10)
        sock.close()
        logging.getLogger("uvicorn.error").removeFilter(quiet)
