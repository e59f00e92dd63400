"""A real HTTP server on loopback that receives webhook deliveries.

It records every request (headers and raw body), answers from a script (``plan``: status codes
for the next requests, then ``default``), can be slow (``delay``) and can be stopped and started
again on the same port (a receiver that is down refuses connections).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import anyio

from tests.serve import free_port


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A sender killed mid-request (tests do that) breaks the connection: not an error here.
        return None


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int  # what the receiver answered

    def json(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.body)
        return data


@dataclass
class Receiver:
    port: int
    plan: list[int] = field(default_factory=list)
    default: int = 200
    delay: float = 0.0
    requests: list[Request] = field(default_factory=list)
    arrived: int = 0  # requests whose body came in, answered or not yet
    lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if len(body) < length:
                    return  # the sender went away mid-request: nothing was delivered
                with receiver.lock:
                    receiver.arrived += 1
                if receiver.delay:
                    time.sleep(receiver.delay)
                with receiver.lock:
                    status = receiver.plan.pop(0) if receiver.plan else receiver.default
                    receiver.requests.append(
                        Request(self.path, dict(self.headers.items()), body, status)
                    )
                payload = b'{"ok":true}' if status < 300 else b"receiver says no"
                self.send_response(status)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        server = QuietServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def received(self) -> list[Request]:
        with self.lock:
            return list(self.requests)

    def accepted(self) -> list[Request]:
        return [r for r in self.received() if 200 <= r.status < 300]

    async def wait_for(self, count: int, within: float = 10.0, *, ok: bool = True) -> list[Request]:
        """The requests (accepted ones when ``ok``) once there are at least ``count``."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            got = self.accepted() if ok else self.received()
            if len(got) >= count:
                return got
            await anyio.sleep(0.02)
        got = self.accepted() if ok else self.received()
        raise AssertionError(f"expected {count} requests, got {len(got)}")

    async def wait_arrived(self, count: int, within: float = 10.0) -> None:
        """Once at least ``count`` requests came in, answered or not yet."""
        with anyio.fail_after(within):
            while True:
                with self.lock:
                    if self.arrived >= count:
                        return
                await anyio.sleep(0.02)


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    """A receiver listening on a free loopback port."""
    r = Receiver(port=free_port())
    r.start()
    try:
        yield r
    finally:
        r.stop()
