"""The provider HTTP transport: keep-alive connections per origin, on plain asyncio.

:class:`Pool` is the ``httpx.AsyncBaseTransport`` under every provider call
(:func:`calgate.providers.http.make_client`). It keeps the limits httpx's own transport had
(at most ``max_connections`` open, ``max_keepalive_connections`` idle, each idle connection
closed after ``keepalive_expiry``), asks an idle connection whether its server closed it before
reusing it, and speaks HTTP/1.1 through :class:`~calgate.providers.connection.Connection`.
Timeouts come from the request's ``timeout`` extension and fail with httpx's own exceptions
(``ConnectTimeout``, ``ReadTimeout``, ``WriteTimeout``, ``PoolTimeout``, ``ConnectError``,
``ReadError``, ``RemoteProtocolError``), as httpx's transport failed.

An answer's body streams (``aiter_raw``); a connection goes back to the pool only once its
answer was read whole. An answer closed or cancelled half-read closes its connection.

``public_only``: each host is resolved once, refused when any of its addresses is loopback,
link-local, unspecified or multicast (:func:`calgate.security.is_blocked_address`), and the
connection is made to the addresses checked; the peer address of the connection made is
checked again. A name answering a public address to the check and a loopback one afterwards
(DNS rebinding) gets nowhere. TLS still names the host (SNI, certificate check). Proxy
variables of the environment are not used, as with httpx when a transport is given.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
import time
from collections import deque
from collections.abc import AsyncIterator

import httpx

from calgate.providers.connection import Connection, Origin
from calgate.security import BlockedAddress, is_blocked_address

__all__ = ["Pool"]

_PORTS = {"http": 80, "https": 443}


class Pool(httpx.AsyncBaseTransport):
    """Keep-alive HTTP/1.1 connections to any number of origins, within ``limits``."""

    def __init__(
        self,
        limits: httpx.Limits | None = None,
        *,
        public_only: bool = False,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        limits = limits or httpx.Limits()
        self.max_connections = limits.max_connections
        self.max_idle = limits.max_keepalive_connections
        self.expiry = limits.keepalive_expiry
        self.public_only = public_only
        self._ssl = ssl_context
        self._idle: dict[Origin, list[Connection]] = {}
        self._open = 0  # connections open or being opened
        self._idle_count = 0
        self._waiting: deque[asyncio.Future[None]] = deque()
        self._closed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        scheme = url.scheme
        if scheme not in _PORTS:
            raise httpx.UnsupportedProtocol(f"calgate calls http and https URLs, not {scheme!r}")
        host = url.raw_host.decode("ascii")
        if not host:
            raise httpx.UnsupportedProtocol("the URL has no host")
        timeouts = request.extensions.get("timeout") or {}
        origin = (scheme, host, url.port or _PORTS[scheme])
        connection = await self._acquire(origin, timeouts.get("pool"), timeouts.get("connect"))
        read = timeouts.get("read")
        try:
            await connection.send(request, timeouts.get("write"))
            await connection.head(read)
        except BaseException:
            self._drop(connection)
            raise
        return httpx.Response(
            connection.status,
            headers=connection.headers,
            stream=_Body(self, connection, read),
            extensions={
                "http_version": connection.version,
                "reason_phrase": connection.reason.strip(),
            },
        )

    async def aclose(self) -> None:
        self._closed = True
        idle = [connection for listed in self._idle.values() for connection in listed]
        for connection in idle:
            self._drop(connection)
        self._idle.clear()
        if idle:
            await asyncio.sleep(0)  # the sockets close in the loop's next round

    # Taking and giving back connections ---------------------------------------------------

    async def _acquire(
        self,
        origin: Origin,
        pool_timeout: float | None,
        connect_timeout: float | None,
    ) -> Connection:
        if self._closed:
            raise httpx.ConnectError("the provider client is closed")
        started = time.monotonic()
        while True:
            idle = self._idle.get(origin)
            while idle:
                connection = self._unpool(idle.pop())
                if connection.alive() and not self._expired(connection):
                    return connection
                self._drop(connection)
            if self.max_connections is None or self._open < self.max_connections:
                break
            if self._idle_count:  # make room: close an idle connection to another origin
                self._drop(self._unpool(next(c for v in self._idle.values() for c in v)))
                continue
            left = None if pool_timeout is None else pool_timeout - (time.monotonic() - started)
            await self._wait_for_room(left)
        self._open += 1
        try:
            connection = await self._connect(origin, connect_timeout)
        except BaseException:
            self._open -= 1
            self._wake_one()
            raise
        return connection

    async def _wait_for_room(self, left: float | None) -> None:
        if left is not None and left <= 0:
            raise httpx.PoolTimeout("no connection free in time")
        waiter = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        try:
            async with asyncio.timeout(left):
                await waiter
        except TimeoutError:
            raise httpx.PoolTimeout("no connection free in time") from None
        finally:
            if waiter in self._waiting:
                self._waiting.remove(waiter)

    def _wake_one(self) -> None:
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def _expired(self, connection: Connection) -> bool:
        expiry = self.expiry
        return expiry is not None and time.monotonic() - connection.idle_since >= expiry

    def _unpool(self, connection: Connection) -> Connection:
        """``connection``, out of the idle list it was taken from."""
        connection.pooled = False
        self._idle_count -= 1
        if connection.expiry is not None:
            connection.expiry.cancel()
            connection.expiry = None
        return connection

    def release(self, connection: Connection) -> None:
        """Give ``connection`` back after its answer: idle if it can serve again, else closed."""
        if (
            not connection.reusable()
            or self._closed
            or (self.max_idle is not None and self._idle_count >= self.max_idle)
        ):
            self._drop(connection)
            return
        connection.idle()
        connection.idle_since = time.monotonic()
        connection.pooled = True
        self._idle.setdefault(connection.origin, []).append(connection)
        self._idle_count += 1
        if self.expiry is not None:
            loop = asyncio.get_running_loop()
            connection.expiry = loop.call_later(self.expiry, self._expire, connection)
        self._wake_one()

    def _expire(self, connection: Connection) -> None:
        if connection.pooled:
            self._idle[connection.origin].remove(connection)
            connection.expiry = None
            self._unpool(connection)
            self._drop(connection)

    def _drop(self, connection: Connection) -> None:
        """Close ``connection`` (at once if it was busy) and forget it."""
        if connection.pooled:
            self._idle[connection.origin].remove(connection)
            self._unpool(connection)
        if connection.done and connection.reusable():
            connection.close()
        else:
            connection.abort()
        self._forget(connection)

    def _forget(self, connection: Connection) -> None:
        if connection.pooled:  # closed by the server while idle
            self._idle[connection.origin].remove(connection)
            self._unpool(connection)
        if connection.counted:
            connection.counted = False
            self._open -= 1
            self._wake_one()

    # Connecting ---------------------------------------------------------------------------

    async def _connect(self, origin: Origin, timeout: float | None) -> Connection:  # noqa: ASYNC109
        scheme, host, port = origin
        tls = self._tls() if scheme == "https" else None
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                addresses = await self._addresses(host, port)
                failure: Exception = httpx.ConnectError(f"{host} has no address")
                for address in addresses:
                    try:
                        _, connection = await loop.create_connection(
                            lambda: Connection(origin, self._forget),
                            address,
                            port,
                            ssl=tls,
                            server_hostname=host if tls is not None else None,
                        )
                    except OSError as exc:  # ssl.SSLError included
                        failure = httpx.ConnectError(f"{host}: {exc}")
                        continue
                    self._check_peer(host, connection)
                    connection.counted = True  # from now on, its end is counted by _forget
                    return connection
                raise failure
        except TimeoutError:
            raise httpx.ConnectTimeout(f"no connection to {host} in time") from None

    async def _addresses(self, host: str, port: int) -> list[str]:
        """The addresses of ``host``, resolved once; with ``public_only``, each one checked."""
        try:
            ipaddress.ip_address(host)
        except ValueError:
            pass
        else:
            addresses = [host]
            self._check(host, addresses)
            return addresses
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise httpx.ConnectError(f"{host} cannot be resolved ({exc})") from None
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        self._check(host, addresses)
        return addresses

    def _check(self, host: str, addresses: list[str]) -> None:
        if not self.public_only:
            return
        for address in addresses:
            bare = address.split("%", 1)[0]
            if is_blocked_address(bare):
                blocked = BlockedAddress(host, bare)
                raise httpx.ConnectError(str(blocked)) from blocked

    def _check_peer(self, host: str, connection: Connection) -> None:
        """The address connected to, checked again (the guarantee does not rest on the
        resolver alone)."""
        if not self.public_only or connection.transport is None:
            return
        peer = connection.transport.get_extra_info("peername")
        address = str(peer[0]).split("%", 1)[0] if peer else ""
        if not address or is_blocked_address(address):
            connection.abort()
            blocked = BlockedAddress(host, address or "an unknown address")
            raise httpx.ConnectError(str(blocked)) from blocked

    def _tls(self) -> ssl.SSLContext:
        if self._ssl is None:
            # What httpx's transport used: certifi's roots, or SSL_CERT_FILE / SSL_CERT_DIR.
            self._ssl = httpx.create_ssl_context()
            self._ssl.set_alpn_protocols(["http/1.1"])
        return self._ssl


class _Body(httpx.AsyncByteStream):
    """An answer's body as it arrives; its connection goes back to the pool at its end."""

    def __init__(self, pool: Pool, connection: Connection, read: float | None) -> None:
        self._pool = pool
        self._connection: Connection | None = connection
        self._read = read

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self

    async def __anext__(self) -> bytes:
        connection = self._connection
        if connection is None:
            raise StopAsyncIteration
        try:
            data = await connection.read(self._read)
        except BaseException:  # a failure, a timeout, a cancellation: the connection goes
            self._connection = None
            self._pool._drop(connection)
            raise
        if not data:
            self._connection = None
            self._pool.release(connection)
            raise StopAsyncIteration
        return data

    async def aclose(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        if connection.reusable():  # closed unread, but the whole answer is in
            self._pool.release(connection)
        else:
            self._pool._drop(connection)
