"""The HTTP/1.1 protocol `calgate serve` runs uvicorn with: uvicorn's own, except that a request
its parser refuses (a request line over 64 KB, a malformed header, bytes that are not HTTP) is
answered in the contract's JSON error shape, not with uvicorn's text/plain line.

Pass :data:`HTTP_PROTOCOL` as ``http=`` to ``uvicorn.Config`` or ``uvicorn.run``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from calgate.errors import error_type

__all__ = ["HTTP_PROTOCOL", "refusal"]

_MALFORMED = error_type("malformed_request")
_DETAIL = (
    "the request could not be read as HTTP/1.1: a request line (method, path and query) over "
    "64 KB, a malformed header, or bytes that are not HTTP"
)


def refusal(default_headers: list[tuple[bytes, bytes]]) -> bytes:
    """The whole 400 answer, headers included, for a request that could not be parsed."""
    body = orjson.dumps(
        {
            "status": _MALFORMED.status,
            "type": _MALFORMED.type,
            "title": _MALFORMED.title,
            "detail": _DETAIL,
        }
    )
    head = [b"HTTP/1.1 400 Bad Request\r\n"]
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


# The protocol uvicorn's "auto" would choose (httptools, a dependency of uvicorn[standard]),
# at module level so that `calgate serve --workers N` can hand it to its processes.
class JsonHttpToolsProtocol(_JsonRefusal, HttpToolsProtocol):
    pass


HTTP_PROTOCOL: type[asyncio.Protocol] = JsonHttpToolsProtocol
