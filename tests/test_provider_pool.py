"""calgate's provider transport (calgate.providers.pool) against real loopback servers: plain
asyncio servers written here that answer byte for byte what each case needs (keep-alive,
HTTP/1.0, ``Connection: close``, chunked bodies, silence, resets), a TLS server with a
certificate made here, and the address check of ``public_only``. Radicale and the Google and
Graph test servers over sockets are in test_caldav_*.py and test_google_network.py."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import ssl
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from pathlib import Path

import anyio
import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from calgate.providers.http import make_client
from calgate.providers.pool import Pool
from calgate.security import blocked_address

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["asyncio", "uvloop"])
def anyio_backend(request: pytest.FixtureRequest) -> tuple[str, dict[str, bool]]:
    """The standard event loop, and uvloop (what `calgate serve` runs on)."""
    return "asyncio", {"use_uvloop": request.param == "uvloop"}


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


class Server:
    """A loopback server running ``handler`` per connection; counts connections and the
    connections that ended."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.ended = 0
        self.port = 0

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            await self.handler(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.ended += 1
            writer.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@asynccontextmanager
async def serving(handler: Handler, tls: ssl.SSLContext | None = None) -> AsyncIterator[Server]:
    server = Server(handler)
    listener = await asyncio.start_server(server._handle, "127.0.0.1", 0, ssl=tls)
    server.port = listener.sockets[0].getsockname()[1]
    async with listener:
        yield server
        listener.close()
    await asyncio.sleep(0.01)


def answering(*answers: bytes, close: bool = False) -> Handler:
    """Answer each request of a connection with the next of ``answers`` (the last repeats);
    ``close``: close the connection after each answer."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        served = 0
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                (
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                ),
                0,
            )
            await reader.readexactly(length)
            writer.write(answers[min(served, len(answers) - 1)])
            await writer.drain()
            served += 1
            if close:
                return

    return handle


async def test_connections_are_kept_alive_and_reused() -> None:
    async with serving(answering(OK)) as server, make_client() as client:
        for _ in range(5):
            r = await client.get(f"{server.url}/")
            assert (r.status_code, r.text) == (200, "ok")
        r = await client.post(f"{server.url}/", content=b"x" * 10_000)
        assert r.text == "ok"
    assert server.connections == 1


async def test_concurrent_requests_open_more_connections_within_the_limit() -> None:
    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            await reader.readuntil(b"\r\n\r\n")
            await asyncio.sleep(0.05)
            writer.write(OK)

    async with serving(slow) as server, make_client(max_connections=3) as client:
        answers = await asyncio.gather(*(client.get(server.url) for _ in range(9)))
        assert [r.text for r in answers] == ["ok"] * 9
    assert server.connections == 3


async def test_idle_connections_expire() -> None:
    limits = httpx.Limits(keepalive_expiry=0.1)
    async with serving(answering(OK)) as server, httpx.AsyncClient(transport=Pool(limits)) as c:
        await c.get(server.url)
        await asyncio.sleep(0.3)
        assert server.ended == 1  # closed by the pool's timer, not only when next asked
        await c.get(server.url)
    assert server.connections == 2


async def test_server_closing_an_idle_connection_is_noticed_before_reuse() -> None:
    async with serving(answering(OK, close=True)) as server, make_client() as client:
        for _ in range(3):
            assert (await client.get(server.url)).text == "ok"  # no wait between them
    assert server.connections == 3


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nto the end",
        b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nto the end",
        b"HTTP/1.0 200 OK\r\nContent-Length: 10\r\n\r\nto the end",
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\nConnection: close\r\n\r\nto the end",
    ],
)
async def test_http_1_0_and_connection_close_answers(answer: bytes) -> None:
    async with serving(answering(answer, close=True)) as server, make_client() as client:
        for _ in range(2):
            r = await client.get(server.url)
            assert (r.status_code, r.text) == (200, "to the end")
    assert server.connections == 2
    assert r.http_version == answer[:8].decode()


async def test_http_1_0_keep_alive_is_reused() -> None:
    answer = b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok"
    async with serving(answering(answer)) as server, make_client() as client:
        for _ in range(3):
            assert (await client.get(server.url)).text == "ok"
    assert server.connections == 1


async def test_head_answers_have_no_body_and_the_connection_serves_again() -> None:
    head = b'HTTP/1.1 200 OK\r\nContent-Length: 1234\r\nETag: "e"\r\n\r\n'
    async with serving(answering(head, OK)) as server, make_client() as client:
        r = await client.head(server.url)
        assert (r.status_code, r.content, r.headers["etag"]) == (200, b"", '"e"')
        assert (await client.get(server.url)).text == "ok"
    assert server.connections == 1


async def test_no_content_and_informational_answers() -> None:
    answers = (
        b"HTTP/1.1 204 No Content\r\n\r\n",
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 3\r\n\r\nnew",
    )
    async with serving(answering(*answers)) as server, make_client() as client:
        r = await client.delete(server.url)
        assert (r.status_code, r.content) == (204, b"")
        r = await client.put(server.url, content=b"{}")
        assert (r.status_code, r.text, r.reason_phrase) == (201, "new", "Created")
    assert server.connections == 1


async def test_chunked_bodies_stream_as_they_arrive() -> None:
    sent_last = asyncio.Event()
    go_on = asyncio.Event()

    async def chunked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n")
        await writer.drain()
        await go_on.wait()
        writer.write(b"4\r\nlast\r\n0\r\n\r\n")
        sent_last.set()
        await writer.drain()
        await reader.readuntil(b"\r\n\r\n")
        writer.write(OK)

    async with serving(chunked) as server, make_client() as client:
        async with client.stream("GET", server.url) as r:
            pieces = r.aiter_raw()
            assert await pieces.__anext__() == b"first"
            assert not sent_last.is_set()  # read before the server wrote the rest
            go_on.set()
            assert b"".join([p async for p in pieces]) == b"last"
        assert (await client.get(server.url)).text == "ok"
    assert server.connections == 1


async def test_a_big_body_is_not_read_ahead_of_its_reader() -> None:
    written = 0

    async def big(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal written
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (64 * 2**20))
        block = b"x" * 2**20
        for _ in range(64):
            writer.write(block)
            await writer.drain()
            written += 1

    async with (
        serving(big) as server,
        make_client() as client,
        client.stream("GET", server.url) as r,
    ):
        pieces = r.aiter_raw()
        total = len(await pieces.__anext__())
        await asyncio.sleep(0.3)  # the server writes what the sockets take, no more
        assert written < 32  # MiB: socket buffers and the transport's HIGH_WATER
        async for piece in pieces:
            total += len(piece)
        assert (written, total) == (64, 64 * 2**20)


async def test_cancelled_mid_body_closes_the_connection() -> None:
    async def endless(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\npart")
        await writer.drain()
        await reader.read()  # until calgate goes away

    async with serving(endless) as server, make_client() as client:
        with anyio.move_on_after(0.2):
            async with client.stream("GET", server.url) as r:
                async for _ in r.aiter_raw():
                    pass
        await asyncio.sleep(0.05)
        assert server.ended == 1  # calgate closed it rather than keeping it half-read
        pool = client._transport
        assert isinstance(pool, Pool)
        assert (pool._open, pool._idle_count) == (0, 0)


async def test_cancelled_before_the_answer_closes_the_connection() -> None:
    async def late(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        await asyncio.sleep(0.5)
        writer.write(OK)
        await writer.drain()
        await reader.readuntil(b"\r\n\r\n")
        writer.write(OK)

    async with serving(late) as server, make_client() as client:
        with anyio.move_on_after(0.1):
            await client.get(server.url)
        r = await client.get(server.url)  # not the first connection, whose answer is late
        assert r.text == "ok"
    assert server.connections == 2


# Timeouts and failures: httpx's exception types, as httpx's own transport raised them.


async def test_read_timeout_waiting_for_the_answer_and_inside_the_body() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf")
        await reader.read()

    async with serving(silent) as server, make_client() as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.get(server.url, timeout=httpx.Timeout(5, read=0.1))
    async with serving(answering(b"")) as server, make_client() as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.get(server.url, timeout=httpx.Timeout(5, read=0.1))


async def test_write_timeout_when_the_server_reads_nothing() -> None:
    async def deaf(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(5)

    async with serving(deaf) as server, make_client() as client:
        with pytest.raises(httpx.WriteTimeout):
            body = b"x" * 32 * 2**20  # more than the sockets' buffers take
            await client.post(server.url, content=body, timeout=httpx.Timeout(5, write=0.2))


async def test_connect_timeout_and_connect_error() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    waiting = []  # fill the backlog: the next connection attempt gets no answer
    for _ in range(4):
        s = socket.socket()
        s.setblocking(False)
        with suppress(BlockingIOError):
            s.connect(("127.0.0.1", port))
        waiting.append(s)
    try:
        async with make_client() as client:
            with pytest.raises(httpx.ConnectTimeout):
                await client.get(f"http://127.0.0.1:{port}/", timeout=httpx.Timeout(5, connect=0.2))
    finally:
        for s in [*waiting, listener]:
            s.close()
    async with make_client() as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(f"http://127.0.0.1:{port}/")  # nothing listens any more


async def test_pool_timeout_when_every_connection_is_busy() -> None:
    async with serving(answering(OK)) as server, make_client(max_connections=1) as client:
        async with client.stream("GET", server.url):
            with pytest.raises(httpx.PoolTimeout):
                await client.get(server.url, timeout=httpx.Timeout(5, pool=0.1))
        assert (await client.get(server.url)).text == "ok"  # free again once closed
    assert server.connections == 1


async def test_read_error_when_the_server_resets_the_connection() -> None:
    async def reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf")
        await writer.drain()
        await asyncio.sleep(0.05)
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()

    async with serving(reset) as server, make_client() as client:
        with pytest.raises(httpx.ReadError):
            await client.get(server.url)


@pytest.mark.parametrize(
    "answer",
    [
        b"",  # closed without an answer
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf",  # closed inside the body
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n",
        b"NOT HTTP AT ALL\r\n\r\n",
    ],
)
async def test_remote_protocol_errors(answer: bytes) -> None:
    async with serving(answering(answer, close=True)) as server, make_client() as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.get(server.url)
        pool = client._transport
        assert isinstance(pool, Pool)
        assert pool._idle_count == 0


async def test_header_injection_is_refused() -> None:
    async with serving(answering(OK)) as server, make_client() as client:
        with pytest.raises(httpx.LocalProtocolError):
            await client.get(server.url, headers={"X-A": "1\r\nX-Injected: yes"})


# Addresses and TLS.


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]", "169.254.169.254"])
async def test_public_only_refuses_loopback_and_link_local(host: str) -> None:
    async with serving(answering(OK)) as server, make_client(public_only=True) as client:
        with pytest.raises(httpx.ConnectError) as caught:
            await client.get(f"http://{host}:{server.port}/", timeout=2)
        blocked = blocked_address(caught.value)
        assert blocked is not None
        assert "CALGATE_ALLOW_LOOPBACK_URLS" in str(blocked)
    assert server.connections == 0


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return folder / "cert.pem", folder / "key.pem"


async def test_tls_checks_the_certificate_and_keeps_connections_alive(
    certificate: tuple[Path, Path],
) -> None:
    cert, key = certificate
    served = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    served.load_cert_chain(cert, key)
    trusting = ssl.create_default_context(cafile=str(cert))
    async with serving(answering(OK), tls=served) as server:
        url = f"https://localhost:{server.port}/"
        async with httpx.AsyncClient(transport=Pool(ssl_context=trusting)) as client:
            for _ in range(3):
                assert (await client.get(url)).text == "ok"
        assert server.connections == 1
        async with make_client() as client:  # certifi's roots: the certificate is unknown
            with pytest.raises(httpx.ConnectError):
                await client.get(url)
        async with httpx.AsyncClient(transport=Pool(ssl_context=trusting)) as client:
            with pytest.raises(httpx.ConnectError):  # the name is checked, not only the chain
                await client.get(f"https://127.0.0.1:{server.port}/")
