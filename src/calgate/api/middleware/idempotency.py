"""``Idempotency-Key`` on POST, PATCH and DELETE.

The first request with a key claims it (a *pending* row, unique per tenant and key, in the
database: it holds across instances), runs, and stores its answer; a later request with the
same key and the same request (method, path, query and JSON body) gets that answer again with
``Idempotent-Replayed: true`` and does nothing. The same key with another request is a 400
``errors/idempotency_conflict``. A request that finds the key pending waits for the answer
(polling, up to ``wait_seconds``), then answers 409 ``errors/conflict``. Answers of 5xx (and
requests that crash or are cancelled) release the key, so that a retry does the work; 2xx-4xx
answers are kept for ``ttl_seconds``.

Requests without the header pay one method check and one header scan.
"""

from __future__ import annotations

import hashlib
import logging
import time
from urllib.parse import parse_qsl

import anyio
import orjson
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from calgate.api.deps import tenant_of
from calgate.api.middleware.common import header, send_error, send_response
from calgate.errors import CalgateError
from calgate.runtime import Runtime
from calgate.store import idempotency as store
from calgate.store.db import now_us
from calgate.store.ids import new_id

log = logging.getLogger("calgate.idempotency")

METHODS = frozenset({"POST", "PATCH", "DELETE"})
MAX_KEY = 255
REPLAYED = (b"idempotent-replayed", b"true")
PURGE_EVERY = 1000
_POLL_FIRST = 0.01
_POLL_MAX = 0.25


class Idempotency:
    def __init__(
        self,
        app: ASGIApp,
        *,
        ttl_seconds: float = 86_400,
        wait_seconds: float = 10.0,
        lease_seconds: float = 300.0,
    ) -> None:
        self.app = app
        self.ttl_us = int(ttl_seconds * 1_000_000)
        self.wait_seconds = wait_seconds
        self.lease_us = int(lease_seconds * 1_000_000)
        self._claims = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in METHODS:
            await self.app(scope, receive, send)
            return
        raw = header(scope, b"idempotency-key")
        if raw is None:
            await self.app(scope, receive, send)
            return
        try:
            runtime, tenant = await tenant_of(Request(scope))
        except CalgateError:
            # Not authenticated: the app answers that itself, the same way it always does.
            await self.app(scope, receive, send)
            return
        key = raw.decode("latin-1").strip()
        if not key or len(key) > MAX_KEY or not key.isascii() or not key.isprintable():
            await send_error(
                scope,
                send,
                "invalid_parameters",
                f"Idempotency-Key: expected 1 to {MAX_KEY} printable ASCII characters",
            )
            return
        body = await _read_body(receive)
        await _Call(self, scope, receive, send, runtime, tenant, key, body).run()

    async def purge(self, runtime: Runtime) -> None:
        self._claims += 1
        if self._claims % PURGE_EVERY:
            return
        try:
            await runtime.db.write(lambda c: store.purge_expired(c, now_us()))
        except Exception:
            log.warning("could not purge expired idempotency keys", exc_info=True)


class _Call:
    """One request that carries an Idempotency-Key."""

    def __init__(
        self,
        mw: Idempotency,
        scope: Scope,
        receive: Receive,
        send: Send,
        runtime: Runtime,
        tenant: str,
        key: str,
        body: bytes,
    ) -> None:
        self.mw = mw
        self.scope = scope
        self.receive = receive
        self.send = send
        self.db = runtime.db
        self.runtime = runtime
        self.tenant = tenant
        self.key = key
        self.body = body
        self.request = f"{scope['method']} {scope['path']}"
        self.fingerprint = fingerprint(scope, body)
        self.owner = new_id()

    async def run(self) -> None:
        deadline = time.monotonic() + self.mw.wait_seconds
        while True:
            found = await self.claim()
            if found is None:
                await self.work()
                await self.mw.purge(self.runtime)
                return
            if found.fingerprint != self.fingerprint:
                await self.conflict(found)
                return
            if found.pending:
                found = await self.wait(deadline)
                if found is None:
                    continue  # released (the first request failed) or abandoned: claim it
                if found.pending:
                    await send_error(
                        self.scope,
                        self.send,
                        "conflict",
                        f"Idempotency-Key {self.key!r}: a request with this key is still in "
                        "progress; retry later",
                        [(b"retry-after", b"1")],
                    )
                    return
                if found.fingerprint != self.fingerprint:
                    await self.conflict(found)
                    return
            await self.replay(found)
            return

    async def claim(self) -> store.Stored | None:
        now = now_us()
        return await self.db.write(
            lambda c: store.claim(
                c,
                self.tenant,
                self.key,
                fingerprint=self.fingerprint,
                request=self.request,
                owner=self.owner,
                now=now,
                lease_until=now + self.mw.lease_us,
            )
        )

    async def wait(self, deadline: float) -> store.Stored | None:
        """Poll until the key's answer is stored, the key is released, or the deadline."""
        delay = _POLL_FIRST
        while True:
            await anyio.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(delay * 2, _POLL_MAX)
            found = await self.db.read(lambda c: store.get(c, self.tenant, self.key, now_us()))
            if found is None or not found.pending or time.monotonic() >= deadline:
                return found

    async def work(self) -> None:
        status = 500
        headers: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []
        sent = False

        async def replay_body() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": self.body, "more_body": False}
            return await self.receive()

        async def capture(message: Message) -> None:
            nonlocal status, headers
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        try:
            await self.mw.app(self.scope, replay_body, capture)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self.release()
            raise
        body = b"".join(chunks)
        if status >= 500:
            await self.release()
        else:
            await self.keep(status, headers, body)
        await send_response(self.send, status, body, headers)

    async def keep(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        kept = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in headers]
        expires_at = now_us() + self.mw.ttl_us
        try:
            await self.db.write(
                lambda c: store.finish(
                    c,
                    self.tenant,
                    self.key,
                    owner=self.owner,
                    status=status,
                    headers=kept,
                    body=body,
                    expires_at=expires_at,
                )
            )
        except Exception:
            # The work is done and answered; a retry within the lease sees the key pending.
            log.warning("could not store the answer of an idempotent request", exc_info=True)

    async def release(self) -> None:
        try:
            await self.db.write(lambda c: store.release(c, self.tenant, self.key, self.owner))
        except Exception:
            log.warning("could not release an idempotency key", exc_info=True)

    async def replay(self, found: store.Stored) -> None:
        assert found.status is not None
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in found.headers]
        await send_response(self.send, found.status, found.body, [*headers, REPLAYED])

    async def conflict(self, found: store.Stored) -> None:
        same = "the same route" if found.request == self.request else found.request
        await send_error(
            self.scope,
            self.send,
            "idempotency_conflict",
            f"Idempotency-Key {self.key!r} was first used with another request ({same} with "
            "a different query or body); use a new key for a new request",
        )


def fingerprint(scope: Scope, body: bytes) -> str:
    """SHA-256 of the method, path, query (in any order) and body (JSON in canonical form)."""
    query = sorted(parse_qsl(scope.get("query_string", b"").decode("latin-1"), True))
    try:
        canonical = orjson.dumps(orjson.loads(body), option=orjson.OPT_SORT_KEYS) if body else b""
    except orjson.JSONDecodeError:
        canonical = body
    digest = hashlib.sha256()
    for part in (scope["method"].encode(), scope["path"].encode(), orjson.dumps(query)):
        digest.update(part)
        digest.update(b"\x00")
    digest.update(canonical)
    return digest.hexdigest()


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)
