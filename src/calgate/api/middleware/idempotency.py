"""``Idempotency-Key`` on POST, PATCH and DELETE.

The first request with a key claims it (a *pending* row, unique per tenant and key, in the
database: it holds across instances), runs, and stores its answer; a later request with the
same key and the same request (method, path, query and JSON body) gets that answer again with
``Idempotent-Replayed: true`` and does nothing. The same key with another request is a 400
``errors/idempotency_conflict``. A request that finds the key pending waits for the answer
(polling, up to ``wait_seconds``), then answers 409 ``errors/conflict``. Answers of 5xx and
499 (the client left, the work stopped), and requests that crash or are cancelled, release the
key, so that a retry does the work; 2xx-4xx answers are kept for ``ttl_seconds``, their bodies
sealed (they may hold secrets shown once: a feed URL, a webhook secret).

Crashes: while a request runs, its key's lease (``lease_seconds``) is renewed every third of
it, so a key whose process died is free again within one lease. The event routes on LOCAL
record their answer in the transaction of their change (:func:`calgate.store.idempotency.
answerer`), and so do LOCAL calendar creates (v1 and v2) and webhook creates: such a change
is never committed without its answer. A create under a key uses an event id derived from the
key, so that a remote provider's retried create finds the event the first attempt made; where
the provider chooses the id (a Google or Outlook calendar), the request notes on its key, before
the provider's call, what lets a retry recognise what it made (:attr:`calgate.store.
idempotency.Active.note`), and a retry that took the key over from a dead attempt gets that
note.

Requests without the header pay one method check and one header scan.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import re
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl

import anyio
import orjson
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy.engine import Connection
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from calgate.api.deps import tenant_of
from calgate.api.errors import CLIENT_GONE_STATUS
from calgate.api.middleware.common import header, send_error, send_response
from calgate.api.responses import JSONResponse
from calgate.api.v2.wire import calendar_to_v2, endpoint_to_v2
from calgate.errors import CalgateError, Conflict
from calgate.runtime import Runtime
from calgate.secrets import SecretBox
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

# Routes whose answer follows from the change they make: method, kind of change, route, status,
# and the body (from the object id and what else the answer shows), recorded with the change.
_Body = Callable[[str, Mapping[str, Any]], dict[str, Any]]
_CHANGE_ANSWERS: tuple[tuple[str, str, re.Pattern[str], int, _Body], ...] = (
    (
        "POST",
        "created",
        re.compile(r"/api/v1/calendars/[^/]+/events"),
        200,
        lambda event_id, _: {"object": "CalendarEventCreated", "event_id": event_id},
    ),
    (
        "PATCH",
        "updated",
        re.compile(r"/api/v1/calendars/[^/]+/events/[^/]+"),
        200,
        lambda _, __: {"object": "CalendarEventUpdated"},
    ),
    (
        "DELETE",
        "deleted",
        re.compile(r"/api/v1/calendars/[^/]+/events/[^/]+"),
        200,
        lambda _, __: {"object": "CalendarEventDeleted"},
    ),
    (
        "POST",
        "calendar_created",
        re.compile(r"/api/v1/calendars"),
        201,
        lambda calendar_id, _: {"object": "CalendarCreated", "calendar_id": calendar_id},
    ),
    (  # v2 answers the calendar itself, as the route makes it from the created one
        "POST",
        "calendar_created",
        re.compile(r"/v2/[^/]+/calendars"),
        201,
        lambda _, extra: calendar_to_v2(extra["calendar"]),
    ),
    (
        "POST",
        "webhook_created",
        re.compile(r"/api/v1/webhooks"),
        201,
        lambda hook_id, extra: {
            "object": "WebhookCreated",
            "webhook_id": hook_id,
            "secret": extra["secret"],
        },
    ),
    (
        "POST",
        "webhook_created",
        re.compile(r"/v2/webhooks"),
        201,
        lambda hook_id, extra: {"id": hook_id, "secret": extra["secret"]},
    ),
    (  # CreateWebhookEndpoint200Response, as the route makes it (its secret included); the
        # official client writes the path with a trailing slash
        "POST",
        "webhook_created",
        re.compile(r"/v2/webhooks/endpoints/?"),
        200,
        lambda _, extra: endpoint_to_v2(extra["webhook"], extra["secret"]),
    ),
)


class Idempotency:
    def __init__(
        self,
        app: ASGIApp,
        *,
        ttl_seconds: float = 86_400,
        wait_seconds: float = 10.0,
        lease_seconds: float = 15.0,
    ) -> None:
        self.app = app
        self.ttl_us = int(ttl_seconds * 1_000_000)
        self.wait_seconds = wait_seconds
        self.lease_us = int(lease_seconds * 1_000_000)
        self._claims = 0
        self._sealers: dict[int, Fernet] = {}

    def sealer(self, runtime: Runtime) -> Fernet:
        found = self._sealers.get(id(runtime))
        if found is None:
            found = self._sealers[id(runtime)] = answer_sealer(runtime.accounts.box)
        return found

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
            await runtime.db.write(lambda c: store.purge_expired(c, now_us(), self.ttl_us))
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
        self.sealer = mw.sealer(runtime)
        # The answer given with the change (see change_answer), when there was one.
        self.recorded: tuple[int, list[tuple[bytes, bytes]], bytes] | None = None

    async def run(self) -> None:
        deadline = time.monotonic() + self.mw.wait_seconds
        while True:
            claimed = await self.claim()
            if isinstance(claimed, store.Claim):
                await self.work(claimed)
                await self.mw.purge(self.runtime)
                return
            found = claimed
            if found.fingerprint != self.fingerprint:
                await self.conflict(found)
                return
            if found.pending:
                waited = await self.wait(deadline)
                if waited is None:
                    continue  # released (the first request failed) or abandoned: claim it
                found = waited
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

    async def claim(self) -> store.Claim | store.Stored:
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

    async def work(self, claim: store.Claim) -> None:
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

        active = store.Active(
            self.tenant,
            self.key,
            self.owner,
            self.fingerprint,
            claim.since,
            now_us() + self.mw.ttl_us,
            self.change_answer,
            claim.noted,
            self.note,
        )
        token = store.current.set(active)
        beat = asyncio.ensure_future(self.heartbeat())
        try:
            await self.mw.app(self.scope, replay_body, capture)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self.release()
            raise
        finally:
            beat.cancel()
            store.current.reset(token)
        body = b"".join(chunks)
        if status >= 500 or status == CLIENT_GONE_STATUS:  # a 499: the work stopped, nothing made
            await self.release()
        elif self.recorded != (status, headers, body):
            if self.recorded is not None and self.recorded[0] == status:
                log.warning(
                    "%s: the answer recorded with the change differs from the route's answer",
                    self.request,
                )
            await self.keep(status, headers, body)
        # else: the answer was committed with the change, as it is.
        await send_response(self.send, status, body, headers)

    def change_answer(
        self, kind: str, object_id: str, extra: Mapping[str, object]
    ) -> store.Answer | None:
        """What this request will answer for its change, when its route's answer follows from
        the change (event creates, changes and deletes; LOCAL calendar creates, v1 and v2,
        and webhook creates):
        stored in the change's own transaction."""
        method, path = self.scope["method"], self.scope["path"]
        found = next(
            (
                (status, answer)
                for m, k, route, status, answer in _CHANGE_ANSWERS
                if m == method and k == kind and route.fullmatch(path)
            ),
            None,
        )
        if found is None:
            return None
        response = JSONResponse(found[1](object_id, extra), status_code=found[0])
        body = bytes(response.body)
        self.recorded = (response.status_code, list(response.raw_headers), body)
        return response.status_code, _text(response.raw_headers), self.seal(body)

    async def note(self, text: str) -> None:
        """Note ``text`` on the key, committed, for a retry after a crash."""
        noted = await self.db.write(
            lambda c: store.note(c, self.tenant, self.key, self.owner, text)
        )
        if not noted:
            raise Conflict(
                f"Idempotency-Key {self.key!r}: a retry took this key over while this request "
                "was still running; its answer is the one that counts"
            )

    def seal(self, body: bytes) -> bytes:
        return self.sealer.encrypt(body)

    async def heartbeat(self) -> None:
        """Renew the key's lease while the request runs: only a dead process lets it lapse."""
        every = max(self.mw.lease_us / 3_000_000, 0.05)
        while True:
            await anyio.sleep(every)
            try:
                await self.db.write(self.renew)
            except Exception:
                log.warning("could not renew an idempotency key's lease", exc_info=True)

    def renew(self, conn: Connection) -> bool:
        lease_until = now_us() + self.mw.lease_us
        return store.renew(conn, self.tenant, self.key, self.owner, lease_until)

    async def keep(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        kept = _text(headers)
        sealed = self.seal(body)
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
                    body=sealed,
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
        try:
            body = self.sealer.decrypt(found.body)
        except InvalidToken:
            await send_error(
                self.scope,
                self.send,
                "conflict",
                f"Idempotency-Key {self.key!r}: the stored answer cannot be read with this "
                "secret key (it was changed); use a new key",
            )
            return
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in found.headers]
        await send_response(self.send, found.status, body, [*headers, REPLAYED])

    async def conflict(self, found: store.Stored) -> None:
        same = "the same route" if found.request == self.request else found.request
        await send_error(
            self.scope,
            self.send,
            "idempotency_conflict",
            f"Idempotency-Key {self.key!r} was first used with another request ({same} with "
            "a different query or body); use a new key for a new request",
        )


def answer_sealer(box: SecretBox) -> Fernet:
    """Seals stored answers, with a key derived from calgate's secret key (every instance
    sharing the database and the key reads the others' answers)."""
    return Fernet(base64.urlsafe_b64encode(box.derive("idempotency answers")))


def _text(headers: list[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in headers]


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
