"""The provider client's streams keep their socket (calgate.providers.sockets): an idle
connection the server closed is still noticed before the next request, which then goes out
on a new connection; live idle connections are reused."""

from __future__ import annotations

import asyncio

import pytest

from calgate.providers.http import make_client

pytestmark = pytest.mark.anyio


async def _server(close_after_one: bool) -> tuple[asyncio.Server, list[int], int]:
    connections: list[int] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            if not head:
                break
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            await writer.drain()
            if close_after_one:
                break
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, connections, port


@pytest.mark.parametrize("close_after_one", [True, False])
async def test_idle_connections_closed_by_the_server_are_noticed(close_after_one: bool) -> None:
    server, connections, port = await _server(close_after_one)
    async with server, make_client() as client:
        for _ in range(3):
            r = await client.get(f"http://127.0.0.1:{port}/")
            assert r.text == "ok"
            await asyncio.sleep(0.05)  # the server's close reaches the idle connection
    assert len(connections) == (3 if close_after_one else 1)
