"""A real Radicale CalDAV server for tests: a subprocess on a free loopback port, and a proxy
that injects faults in front of it.

The server keeps its collections and its ``htpasswd`` file (plain passwords) in a temporary
directory, with ``owner_only`` rights. One server runs per test session; each test gets users
of its own (:meth:`Radicale.add_user`), with a calendar made by ``MKCALENDAR``
(:meth:`Radicale.make_calendar`), so tests never see each other's data.
"""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import anyio.to_thread
import httpx
import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send

from tests.fakes.common import ConnectionDropped, FakeApp, Faults, RequestLog, serve

CONFIG = """\
[server]
hosts = 127.0.0.1:{port}

[auth]
type = htpasswd
htpasswd_filename = {users}
htpasswd_encryption = plain
delay = 0

[rights]
type = owner_only

[storage]
filesystem_folder = {storage}

[web]
type = none

[logging]
level = warning
mask_passwords = True
"""

MKCALENDAR = """<?xml version="1.0" encoding="utf-8"?>
<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"
    xmlns:I="http://apple.com/ns/ical/">
  <D:set><D:prop>
    <D:displayname>{name}</D:displayname>
    <I:calendar-color>{color}</I:calendar-color>
    <C:supported-calendar-component-set>{components}</C:supported-calendar-component-set>
  </D:prop></D:set>
</C:mkcalendar>
"""

_users = itertools.count(1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class User:
    name: str
    password: str


@dataclass
class Radicale:
    """A running server: its root URL and the files it works on."""

    url: str
    directory: Path
    process: subprocess.Popen[bytes]
    log_path: Path
    users: list[User] = field(default_factory=list)

    @property
    def users_file(self) -> Path:
        return self.directory / "users"

    def add_user(self, prefix: str = "user", password: str | None = None) -> User:
        """A new user (Radicale reads the htpasswd file again on each login)."""
        user = User(f"{prefix}{next(_users)}", password or f"pw-{os.urandom(6).hex()}")
        with self.users_file.open("a") as f:
            f.write(f"{user.name}:{user.password}\n")
        self.users.append(user)
        return user

    def client(self, user: User) -> httpx.Client:
        return httpx.Client(base_url=self.url, auth=(user.name, user.password), timeout=10)

    def make_calendar(
        self,
        user: User,
        slug: str,
        name: str,
        *,
        color: str = "#FF8800FF",
        components: tuple[str, ...] = ("VEVENT",),
    ) -> str:
        """MKCALENDAR ``/{user}/{slug}/``; returns its path."""
        comps = "".join(f'<C:comp name="{c}"/>' for c in components)
        body = MKCALENDAR.format(name=name, color=color, components=comps)
        path = f"/{user.name}/{slug}/"
        with self.client(user) as c:
            # The principal collection is created on the user's first request.
            c.request("PROPFIND", f"/{user.name}/", headers={"Depth": "0"})
            r = c.request("MKCALENDAR", path, content=body.encode())
            assert r.status_code == 201, r.text
        return path

    def raw(self, user: User, path: str) -> str:
        """The text a resource holds on the server."""
        with self.client(user) as c:
            r = c.get(path)
            assert r.status_code == 200, r.text
            return r.text

    def text(self) -> str:
        return self.log_path.read_text()


@contextmanager
def radicale_server(directory: Path, *, keep_alive: bool = False) -> Iterator[Radicale]:
    """Start Radicale with its config, users and storage in ``directory``; stop it after.

    ``keep_alive``: Radicale's WSGI application served by waitress (as Radicale's
    documentation suggests for production, behind a WSGI server), which answers HTTP/1.1 and
    keeps connections open, as hosted CalDAV servers do; Radicale's built-in server answers
    HTTP/1.0 and closes each connection."""
    port = free_port()
    storage = directory / "collections"
    storage.mkdir(parents=True, exist_ok=True)
    users = directory / "users"
    users.touch()
    config = directory / "radicale.conf"
    config.write_text(CONFIG.format(port=port, users=users, storage=storage))
    log_path = directory / "radicale.log"
    log = log_path.open("wb")
    if keep_alive:
        command = [
            *(sys.executable, "-m", "waitress", f"--listen=127.0.0.1:{port}", "--threads=4"),
            "radicale:application",
        ]
        env = {**os.environ, "RADICALE_CONFIG": str(config)}
    else:
        command = [sys.executable, "-m", "radicale", "--config", str(config)]
        env = None
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    server = Radicale(f"http://127.0.0.1:{port}", directory, process, log_path)
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"radicale exited: {server.text()}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"radicale did not start: {server.text()}") from None
                time.sleep(0.05)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture(scope="session", name="radicale")
def radicale_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Radicale]:
    """The session's server (import ``radicale_fixture`` into a test module to use it)."""
    with radicale_server(tmp_path_factory.mktemp("radicale")) as server:
        yield server


# A proxy in front of the server, to inject what a real network and server do at times ---------


class RadicaleProxy:
    """Forwards every request to Radicale, after the faults armed on it (see
    :class:`tests.fakes.common.Faults`): statuses, delays, connections dropped before the
    request reaches Radicale. Two more kinds of trouble:

    - ``drop_after(method)``: the next such request reaches Radicale (it acts on it), then the
      connection is closed without an answer, as when a network fails mid-call;
    - ``before(method, action)``: ``action()`` runs just before the next such request is
      forwarded (another client writing in between calgate's read and its write).
    """

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.faults = Faults()
        self.requests = RequestLog()
        self._drop: list[str] = []
        self.dav_header: str | None = None  # replaces the DAV header of Radicale's answers
        self._before: list[tuple[str, Callable[[], None]]] = []
        self.inner = FakeApp(
            routes=[Route("/{path:path}", self._forward, methods=list(METHODS))],
            exception_handlers={},
            faults=self.faults,
            requests=self.requests,
            fault_body=lambda fault: {"error": "injected", "status": fault.status},
        )

    def drop_after(self, method: str) -> None:
        self._drop.append(method)

    def before(self, method: str, action: Callable[[], None]) -> None:
        self._before.append((method, action))

    def count(self, method: str) -> int:
        return len(self.requests.find(method))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope.get("method")
        if scope["type"] == "http" and method in self._drop:
            self._drop.remove(method)

            async def swallow(message: Message) -> None:
                return None

            await self.inner(scope, receive, swallow)
            raise ConnectionDropped
        await self.inner(scope, receive, send)

    async def _forward(self, request: Request) -> Response:
        for index, (method, action) in enumerate(self._before):
            if method == request.method:
                del self._before[index]
                await anyio.to_thread.run_sync(action)
                break
        headers = {
            k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")
        }
        async with httpx.AsyncClient(base_url=self.upstream, timeout=30) as client:
            answer = await client.request(
                request.method,
                request.url.path,
                params=request.query_params,
                headers=headers,
                content=await request.body(),
            )
        kept = {
            k: v
            for k, v in answer.headers.items()
            if k.lower() not in ("content-length", "content-encoding", "transfer-encoding")
        }
        if self.dav_header is not None and "dav" in answer.headers:
            kept["dav"] = self.dav_header
        return Response(answer.content, answer.status_code, headers=kept)


METHODS = ("GET", "HEAD", "PUT", "DELETE", "PROPFIND", "REPORT", "OPTIONS", "MKCALENDAR")


@contextmanager
def proxy_to(server: Radicale) -> Iterator[tuple[RadicaleProxy, str]]:
    """A :class:`RadicaleProxy` to ``server`` on a free port: ``(proxy, its URL)``."""
    proxy = RadicaleProxy(server.url)
    with serve(proxy) as url:
        yield proxy, url
