"""The HTTP/1.1 protocol `calgate serve` runs uvicorn with: uvicorn's own, except that

- a request its parser refuses (a request line over 64 KB, a malformed header, bytes that are
  not HTTP) is answered in the contract's JSON error shape, not with uvicorn's text/plain line;
- a request whose headers do not all arrive within ``body_timeout_seconds`` of its first byte
  gets 408 ``errors/request_timeout`` and the connection is closed (uvicorn waits forever; the
  body's own bound is :class:`calgate.api.limits.BodyLimit`'s).

Pass :data:`HTTP_PROTOCOL` as ``http=`` to ``uvicorn.Config`` or ``uvicorn.run``.
"""

from __future__ import annotations

import asyncio
import platform
from http import HTTPStatus
from importlib.metadata import version
from typing import Any

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from calgate.errors import ErrorType, error_type

__all__ = ["HTTP_PROTOCOL", "engine", "loop_name", "refusal"]

_MALFORMED = error_type("malformed_request")
_TIMED_OUT = error_type("request_timeout", 408)
_DETAIL = (
    "the request could not be read as HTTP/1.1: a request line (method, path and query) over "
    "64 KB, a malformed header, or bytes that are not HTTP"
)


def refusal(
    default_headers: list[tuple[bytes, bytes]],
    error: ErrorType = _MALFORMED,
    detail: str = _DETAIL,
) -> bytes:
    """The whole answer, headers included, for a request that could not be read."""
    body = orjson.dumps(
        {"status": error.status, "type": error.type, "title": error.title, "detail": detail}
    )
    head = [f"HTTP/1.1 {error.status} {HTTPStatus(error.status).phrase}\r\n".encode()]
    head += [name + b": " + value + b"\r\n" for name, value in default_headers]
    head += [
        b"content-type: application/json\r\n",
        b"content-length: " + str(len(body)).encode() + b"\r\n",
        b"connection: close\r\n\r\n",
    ]
    return b"".join(head) + body


class _JsonRefusal:
    """Replaces uvicorn's ``send_400_response`` (the same method in both of its protocols)."""

    transport: asyncio.Transport
    server_state: Any

    def send_400_response(self, msg: str) -> None:
        self.transport.write(refusal(list(self.server_state.default_headers)))
        self.transport.close()


def _head_timeout(app: Any) -> float | None:
    """``body_timeout_seconds`` of the calgate app behind uvicorn's middleware, if any."""
    for _ in range(8):
        runtime = getattr(getattr(app, "state", None), "runtime", None)
        if runtime is not None:
            return float(runtime.settings.body_timeout_seconds)
        app = getattr(app, "app", None)
    return None


# The protocol uvicorn's "auto" would choose (httptools, a dependency of uvicorn[standard]),
# at module level so that `calgate serve --workers N` can hand it to its processes.
class JsonHttpToolsProtocol(_JsonRefusal, HttpToolsProtocol):
    _head_timer: asyncio.TimerHandle | None = None

    def on_message_begin(self) -> None:
        super().on_message_begin()
        timeout = _head_timeout(self.app)
        if timeout is not None:
            self._head_timer = self.loop.call_later(timeout, self._head_timed_out, timeout)

    def on_headers_complete(self) -> None:
        self._cancel_head_timer()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self, timeout: float) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        detail = (
            f"the request headers did not arrive within {timeout:g} s "
            "(setting body_timeout_seconds)"
        )
        answer = refusal(list(self.server_state.default_headers), _TIMED_OUT, detail)
        self.transport.write(answer)
        self.transport.close()


HTTP_PROTOCOL: type[asyncio.Protocol] = JsonHttpToolsProtocol


def loop_name(loop: asyncio.AbstractEventLoop) -> str:
    """``loop``'s implementation with its version, as calgate's commands print it."""
    if type(loop).__module__.partition(".")[0] == "uvloop":
        return f"event loop uvloop {version('uvloop')}"
    return f"event loop asyncio (Python {platform.python_version()})"


def engine(loop: asyncio.AbstractEventLoop) -> str:
    """What serves, as `calgate serve` prints it: ``loop``'s implementation and the HTTP
    parser of :data:`HTTP_PROTOCOL`, each with its version."""
    parser = "httptools" if issubclass(HTTP_PROTOCOL, HttpToolsProtocol) else "h11"
    return f"{loop_name(loop)}, HTTP parser {parser} {version(parser)}"
