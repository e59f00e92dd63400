"""One HTTP/1.1 connection to a provider: an asyncio protocol reading answers with httptools.

The event loop hands each received piece to httptools' parser (llhttp, in C), whose callbacks
fill in the answer's head and queue its body; the task that sent the request waits on one
future at a time, with a timer for the read or write timeout. No task, cancel scope or stream
wrapper is made per request. While the connection is idle, whatever the server sends (an end
of connection, stray bytes) marks it unusable, so :mod:`calgate.providers.pool` never reuses a
connection the server has given up.

A body is kept in memory only up to ``HIGH_WATER`` bytes ahead of its reader: above that, the
socket is not read until the reader catches up (a big CalDAV answer streams, read within its
bound by the caller).
"""

from __future__ import annotations

import asyncio
import select
from collections import deque
from collections.abc import Callable
from typing import cast

import httptools
import httpx

__all__ = ["HIGH_WATER", "Connection", "Origin"]

Origin = tuple[str, str, int]  # scheme, host, port
HIGH_WATER = 256 * 1024  # body bytes queued before the socket stops being read
_NO_BODY = frozenset({204, 304})


def _timed_out(waiter: asyncio.Future[bool]) -> None:
    if not waiter.done():
        waiter.set_result(True)


class Connection(asyncio.Protocol):
    """A keep-alive connection, one request at a time (no pipelining)."""

    def __init__(self, origin: Origin, on_lost: Callable[[Connection], None]) -> None:
        self.origin = origin
        self.on_lost = on_lost
        self.transport: asyncio.Transport | None = None
        self.fd = -1
        self.closed = False  # the transport is gone or going
        self.broken = False  # not reusable: stray bytes, a body left unread, an error
        self.pooled = False  # in the pool's idle list
        self.counted = False  # in the pool's connection count (once connected)
        self.idle_since = 0.0
        self.expiry: asyncio.TimerHandle | None = None
        self._parser: httptools.HttpResponseParser | None = None
        self._waiter: asyncio.Future[bool] | None = None
        self._writable: asyncio.Future[bool] | None = None
        self._reset(b"")

    def _reset(self, method: bytes) -> None:
        self._method = method
        self._error: tuple[type[httpx.TransportError], str] | None = None
        self._informational = False
        self.head_done = False
        self.done = False
        self.keep_alive = False
        self.status = 0
        self.version = b"HTTP/1.1"
        self.reason = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self._chunks: deque[bytes] = deque()
        self._queued = 0
        self._paused = False
        self._to_eof = False  # the body ends with the connection

    # asyncio.Protocol ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but have its methods.
        self.transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        self.fd = sock.fileno() if sock is not None else -1

    def data_received(self, data: bytes) -> None:
        parser = self._parser
        if parser is None or self.done:
            self.broken = True  # nothing was asked: the connection cannot be trusted
            return
        try:
            parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(httpx.RemoteProtocolError, "the server switched protocols")
        except httptools.HttpParserError as exc:
            self._fail(httpx.RemoteProtocolError, f"malformed answer ({exc})")

    def eof_received(self) -> bool:
        return False  # close the transport: connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._parser is not None and not self.done:
            if self.head_done and self._to_eof and exc is None:
                self.done = True  # HTTP/1.0 style: the body ended with the connection
            elif exc is not None:
                self._fail(httpx.ReadError, f"the connection failed ({exc})")
            elif self.head_done:
                self._fail(httpx.RemoteProtocolError, "the server closed before the whole body")
            else:
                self._fail(httpx.RemoteProtocolError, "the server closed without an answer")
        self._wake()
        writable = self._writable
        if writable is not None and not writable.done():
            writable.set_result(False)
        self.on_lost(self)

    def pause_writing(self) -> None:
        if self._writable is None or self._writable.done():
            self._writable = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(False)

    # httptools' callbacks -----------------------------------------------------------------

    def on_message_begin(self) -> None:
        if self.done:  # a second answer to one request
            self.broken = True

    def on_status(self, status: bytes) -> None:
        self.reason += status

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        assert self._parser is not None
        status = self._parser.get_status_code()
        if status < 200:  # 100 Continue and the like: the answer follows
            self._informational = True
            self.headers = []
            self.reason = b""
            return
        self.status = status
        self.head_done = True
        if self._parser.get_http_version() == "1.0":
            self.version = b"HTTP/1.0"
        if self._method == b"HEAD":
            self.done = True  # no body, whatever its headers say
            self.keep_alive = self._parser.should_keep_alive()
        elif status not in _NO_BODY:
            framed = False
            for name, value in self.headers:
                lowered = name.lower()
                if lowered == b"content-length" or (
                    lowered == b"transfer-encoding" and b"chunked" in value.lower()
                ):
                    framed = True
            self._to_eof = not framed
        self._wake()

    def on_body(self, body: bytes) -> None:
        if self.done or self._informational:
            self.broken = True
            return
        self._chunks.append(body)
        self._queued += len(body)
        if self._queued > HIGH_WATER and not self._paused and self.transport is not None:
            self._paused = True
            self.transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        if self._informational:
            self._informational = False
            return
        if self.done:
            return
        assert self._parser is not None
        self.done = True
        self.keep_alive = self._parser.should_keep_alive()
        self._wake()

    # The requesting task's side -----------------------------------------------------------

    async def send(self, request: httpx.Request, write_timeout: float | None) -> None:
        """Write ``request`` (head and body); a fresh parser waits for its answer."""
        method = request.method.encode("ascii")
        self._reset(method)
        self._parser = httptools.HttpResponseParser(self)
        parts = [method, b" ", request.url.raw_path, b" HTTP/1.1\r\n"]
        for name, value in request.headers.raw:
            parts += (name, b": ", value, b"\r\n")
            if name.lower() == b"connection" and value.lower() == b"close":
                self.broken = True
        parts.append(b"\r\n")
        head = b"".join(parts)
        lines = len(request.headers.raw) + 2
        # A CR, LF or NUL inside a name, a value or the target would split the request.
        if head.count(b"\n") != lines or head.count(b"\r") != lines or b"\0" in head:
            raise httpx.LocalProtocolError("a header or the URL holds CR, LF or NUL")
        transport = self.transport
        if transport is None or self.closed:
            raise httpx.RemoteProtocolError("the connection is closed")
        try:
            body = request.content
        except httpx.RequestNotRead:
            transport.write(head)
            await self._drain(write_timeout)
            chunked = request.headers.get("transfer-encoding", "").lower() == "chunked"
            async for chunk in request.stream:  # type: ignore[union-attr]
                if chunk:
                    transport.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
                    await self._drain(write_timeout)
            if chunked:
                transport.write(b"0\r\n\r\n")
        else:
            if len(body) > 65536:  # not copied into one string
                transport.write(head)
                transport.write(body)
            else:
                transport.write(head + body)
        await self._drain(write_timeout)

    async def _drain(self, timeout: float | None) -> None:  # noqa: ASYNC109 - httpx's timeouts
        writable = self._writable
        if writable is None or writable.done():
            return
        if self.closed:
            raise httpx.WriteError("the connection is closed")
        loop = asyncio.get_running_loop()
        timer = None if timeout is None else loop.call_later(timeout, _timed_out, writable)
        try:
            if await writable:
                raise httpx.WriteTimeout("the request could not be written in time")
        finally:
            if timer is not None:
                timer.cancel()
        if self.closed:
            raise httpx.WriteError("the connection closed while the request was written")

    async def head(self, read_timeout: float | None) -> None:
        """Wait until the answer's status and headers are in."""
        while not self.head_done:
            await self._wait(read_timeout)

    async def read(self, read_timeout: float | None) -> bytes:
        """The next piece of the body, ``b""`` at its end."""
        while True:
            chunks = self._chunks
            if chunks:
                data = chunks.popleft() if len(chunks) == 1 else b"".join(chunks)
                chunks.clear()
                self._queued = 0
                if self._paused and self.transport is not None and not self.closed:
                    self._paused = False
                    self.transport.resume_reading()
                return data
            if self.done:
                return b""
            await self._wait(read_timeout)

    async def _wait(self, timeout: float | None) -> None:  # noqa: ASYNC109 - httpx's timeouts
        if self._error is not None:
            kind, message = self._error
            raise kind(message)
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[bool] = loop.create_future()
        self._waiter = waiter
        timer = None if timeout is None else loop.call_later(timeout, _timed_out, waiter)
        try:
            timed_out = await waiter
        finally:
            self._waiter = None
            if timer is not None:
                timer.cancel()
        if timed_out:
            raise httpx.ReadTimeout("no answer in time")

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(False)

    def _fail(self, kind: type[httpx.TransportError], message: str) -> None:
        if self._error is None:
            self._error = (kind, message)
        self.broken = True
        self._wake()

    # Reuse and closing ---------------------------------------------------------------------

    def reusable(self) -> bool:
        """Whether the answer was read whole on a connection both sides keep open."""
        return self.done and self.keep_alive and not (self.broken or self.closed)

    def idle(self) -> None:
        self._parser = None
        self._chunks.clear()

    def alive(self) -> bool:
        """An idle connection the server has not closed nor written to (also when the loop
        has not yet seen it: the socket is asked with one ``poll``)."""
        if self.closed or self.broken:
            return False
        if self.fd < 0:
            return True
        poller = select.poll()
        poller.register(self.fd, select.POLLIN)
        return not poller.poll(0)

    def abort(self) -> None:
        """Drop the connection at once (an answer not read whole, a failure)."""
        self.broken = True
        if not self.closed and self.transport is not None:
            self.closed = True
            self.transport.abort()

    def close(self) -> None:
        """Close an idle connection."""
        if not self.closed and self.transport is not None:
            self.closed = True
            self.transport.close()
