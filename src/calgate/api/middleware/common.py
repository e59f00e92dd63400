"""What the middleware share: reading a header, the key per-key limits apply to, and answering an
error in the contract's shape."""

from __future__ import annotations

import orjson
from starlette.types import Scope, Send

from calgate.api.problem import problem
from calgate.errors import error_type


def header(scope: Scope, name: bytes) -> bytes | None:
    """The first value of header ``name`` (lower case), or None."""
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


UNLIMITED = frozenset({"/healthz", "/readyz", "/metrics"})
"""Paths no per-key limit applies to."""


def limited_key(scope: Scope) -> bytes | None:
    """The ``X-API-KEY`` of a request that per-key limits (the rate limit, the fair share)
    apply to: an HTTP request sending a key, to another path than health, readiness and
    metrics. None otherwise (requests without a key are left to the app: 401)."""
    if scope["type"] != "http" or scope["path"] in UNLIMITED:
        return None
    return header(scope, b"x-api-key")


async def send_response(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def send_error(
    scope: Scope,
    send: Send,
    name: str,
    detail: str,
    headers: list[tuple[bytes, bytes]] | None = None,
    status: int | None = None,
) -> None:
    """Answer ``errors/<name>`` in the shape of :func:`problem` (``status`` picks the entry of
    a type the catalogue has under several statuses)."""
    error = error_type(name, status)
    body = orjson.dumps(problem(error, detail, scope.get("path", "")))
    await send_response(
        send,
        error.status,
        body,
        [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            *(headers or []),
        ],
    )
