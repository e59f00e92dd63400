"""Push notifications from Google and Microsoft Graph (docs/push.md). No API key: each
notification is authenticated by its channel's secret (Google's channel token, Graph's
clientState). Every answer is quick and the same whether the notification was taken or
refused; the sync it asks for runs in the scheduler.

These three routes leave FastAPI's per-request pipeline (STYLE: speed where it is measured):
they are a plain ASGI layer inside calgate's own middleware (request id, access log and HTTP
metrics, body limits, NUL guard still apply) and in front of FastAPI's routing, which is what
a notification spent most of its time in (bench/push_bench.py, absorption: matching the
router's every route, then building a ``Request``). They take no parameters FastAPI would
check and are not in the OpenAPI document.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import parse_qs

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from calgate.api.middleware.common import send_error, send_response
from calgate.push.inbox import Inbox
from calgate.push.keeper import GOOGLE_PATH, LIFECYCLE_PATH, MICROSOFT_PATH

ACCEPTED: Final = 202
EMPTY: Final = [(b"content-length", b"0")]
TEXT: Final = b"text/plain; charset=utf-8"


@dataclass(frozen=True, slots=True)
class Template:
    """What the access log and the HTTP metrics name a request by (a route's ``path``)."""

    path: str


ROUTES: Final = {path: Template(path) for path in (GOOGLE_PATH, MICROSOFT_PATH, LIFECYCLE_PATH)}


async def _body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b""  # the client went away
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return None


def _google_headers(scope: Scope) -> dict[str, str]:
    """The ``X-Goog-*`` headers (lower-case names), all a Google notification carries."""
    return {
        name.decode("latin-1"): value.decode("latin-1")
        for name, value in scope["headers"]
        if name.startswith(b"x-goog-")
    }


def _validation_token(scope: Scope) -> str | None:
    """Graph's handshake token (``?validationToken=``), if the request is one."""
    query: bytes = scope.get("query_string", b"")
    if b"validationToken" not in query:
        return None
    found = parse_qs(query.decode("latin-1"), keep_blank_values=True).get("validationToken")
    return found[0] if found else None


class PushRoutes:
    """``POST`` on the three push paths, answered here; every other request goes on to
    ``app``."""

    def __init__(self, app: ASGIApp, *, inbox: Inbox) -> None:
        self.app = app
        self.inbox = inbox

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = ROUTES.get(scope["path"]) if scope["type"] == "http" else None
        if route is None:
            await self.app(scope, receive, send)
            return
        scope["route"] = route
        if scope["method"] != "POST":
            detail = f"{route.path} takes POST only"
            await send_error(scope, send, "method_not_allowed", detail, [(b"allow", b"POST")])
            return
        if route.path == GOOGLE_PATH:
            await self.inbox.google(_google_headers(scope))
            await send_response(send, ACCEPTED, b"", EMPTY)
            return
        token = _validation_token(scope)
        if token is not None:  # answered at once: Graph allows a few seconds
            echo = token.encode()
            headers = [(b"content-type", TEXT), (b"content-length", str(len(echo)).encode())]
            await send_response(send, 200, echo, headers)
            return
        body = _json(await _body(receive))
        if route.path == LIFECYCLE_PATH:
            await self.inbox.lifecycle(body)
        else:
            await self.inbox.microsoft(body)
        await send_response(send, ACCEPTED, b"", EMPTY)


__all__ = ["PushRoutes"]
