"""Talking to one CalDAV server: Basic auth, a deadline per calgate call, retries, error mapping.

Every call of one calgate operation (a discovery, a create, a patch...) shares one
:class:`~calgate.providers.http.Deadline`. A call is sent again, with backoff, after a 5xx,
a timeout of the connection or a dropped connection when it is safe to repeat (``safe``: reads,
and writes made conditional with ``If-None-Match``/``If-Match``); a 429 or 503 with
``Retry-After`` waits as long as asked when that fits in the deadline. Redirects are followed for
the same method and body (``/.well-known/caldav`` answers with one), never from https to http,
and without the credentials when they lead to another origin (host, port or scheme).
Every host called (the one given, those the server's hrefs and redirects name) is refused
when it is or resolves to a loopback or link-local address, unless allowed: the client the
provider builds (``make_client(public_only=True)``) checks the address it connects to.

Failures become calgate errors here (providers.md, "How provider failures map"): no deadline
left → 504 ``request_timeout``; no connection → 503 ``network_down``; 401 → the account's
source status is set to CREDENTIALS and 401 ``expired_credentials`` (``invalid_credentials``
while connecting); 403 → 403 ``insufficient_permissions`` (400 when the body names a failed
CalDAV precondition such as ``supported-calendar-component``); 5xx → 500 ``provider_error``.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import logging
import time
import weakref
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar
from urllib.parse import urljoin, urlsplit

import anyio
import httpx

from calgate import metrics, offload
from calgate.errors import (
    CalgateError,
    InvalidParameters,
    NetworkDown,
    ProviderError,
    RequestTimeout,
    Unauthorized,
)
from calgate.providers.caldav import xml
from calgate.providers.http import Deadline, Policy, error_for, retry_after
from calgate.security import blocked_address

log = logging.getLogger("calgate.providers.caldav")

MAX_REDIRECTS: Final = 5
# Answers from this size on are read (XML, iCalendar) in a worker thread, a few at a time,
# and only that many are buffered at once in a process: a call whose answer passes this size
# waits for a turn before reading on (see Turn).
OFF_LOOP_BYTES: Final = 64 * 1024
OFF_LOOP_AT_ONCE: Final = 2
T = TypeVar("T")
SERVER: Final = "the CalDAV server"


@dataclass(frozen=True, slots=True)
class Credentials:
    username: str
    password: str

    @property
    def header(self) -> str:
        raw = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(raw).decode("ascii")


class Turn:
    """One of the process's ``OFF_LOOP_AT_ONCE`` turns for a big answer (``OFF_LOOP_BYTES`` and
    more): taken when the answer being read passes that size, given back when it is dropped
    (a failed read, a redirect, an error answer) or, for an answer asked with ``keep_turn``,
    once :func:`read_apart` has read it (or the answer is garbage-collected unread). So at most
    that many big answers are in memory at once, each under ``provider_max_answer_bytes``."""

    __slots__ = ("held", "limiter", "loop")

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.limiter = _limiter(self.loop)
        self.held = False

    async def take(self) -> None:
        await self.limiter.acquire_on_behalf_of(self)
        self.held = True

    def release(self) -> None:
        if not self.held:
            return
        self.held = False
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            self.limiter.release_on_behalf_of(self)
        elif not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.limiter.release_on_behalf_of, self)


@dataclass(frozen=True, slots=True, weakref_slot=True)
class Answer:
    status: int
    headers: httpx.Headers
    content: bytes
    url: str  # after redirects
    attempts: int  # how many times the request was sent (2+: a retry happened)
    turn: Turn | None = field(default=None, compare=False, repr=False)

    @property
    def etag(self) -> str:
        return str(self.headers.get("etag", ""))


OnUnauthorized = Callable[[], Awaitable[None]]


class Dav:
    """The calls of one calgate operation on behalf of one account."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        policy: Policy,
        credentials: Credentials,
        *,
        connecting: bool = False,
        on_unauthorized: OnUnauthorized | None = None,
        allow_loopback: bool = False,
    ) -> None:
        self.client = client
        self.policy = policy
        self.credentials = credentials
        self.connecting = connecting
        self.on_unauthorized = on_unauthorized
        # Enforced by the client when it connects (make_client(public_only=...)).
        self.allow_loopback = allow_loopback
        self.deadline = Deadline(policy.timeout)
        # Origins reached only through a redirect from another one: no password there, also
        # on later calls of this operation (to the hrefs such a server names).
        self.withheld: set[tuple[str, str, int]] = set()

    async def request(
        self,
        method: str,
        url: str,
        *,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        safe: bool = True,
        expect: Collection[int] = (),
        what: str = "",
        keep_turn: bool = False,
    ) -> Answer:
        """Send one call; returns 2xx answers and those whose status is in ``expect``.

        With ``keep_turn``, a big 2xx answer keeps its :class:`Turn` until :func:`read_apart` has
        read it; otherwise (and for an error answer, never read) the turn is given back once the
        answer has been received."""
        sent = {"Authorization": self.credentials.header, "Accept": "*/*", **(headers or {})}
        origin = _origin(url)
        withheld = ""  # the origin a redirect led to, where the password is not sent
        if origin in self.withheld:
            del sent["Authorization"]
            withheld = "{}://{}:{}".format(*origin)
        attempt = 0
        redirects = 0
        while True:
            attempt += 1
            started = time.perf_counter()
            try:
                status, answer_headers, content, turn = await self._once(method, url, body, sent)
            except (TimeoutError, httpx.TimeoutException):
                self._observe(what or method, started, "timeout")
                log.info("CalDAV %s %s: no answer in time", method, _path(url))
                wait = self._backoff(attempt)
                if safe and attempt <= self.policy.retries and self.deadline.left() > wait:
                    await anyio.sleep(wait)
                    continue
                raise self._timed_out(what) from None
            except httpx.TransportError as error:
                self._observe(what or method, started, "network")
                blocked = blocked_address(error)
                if blocked is not None:
                    kind = InvalidParameters if self.connecting else ProviderError
                    raise kind(f"url: {blocked}") from None
                log.info("CalDAV %s %s: %s", method, _path(url), type(error).__name__)
                wait = self._backoff(attempt)
                if safe and attempt <= self.policy.retries and self.deadline.left() > wait:
                    await anyio.sleep(wait)
                    continue
                raise NetworkDown(
                    f"{SERVER} could not be reached{_about(what)}: {_reason(error)}"
                ) from None
            except (httpx.HTTPError, httpx.InvalidURL) as error:  # decoding, URL: not transient
                raise ProviderError(f"{SERVER} call failed{_about(what)}: {error}") from None
            self._observe(what or method, started, metrics.outcome_of(status))
            if turn is not None and not (keep_turn and status < 300):
                turn.release()
                turn = None
            if status in (301, 302, 303, 307, 308) and "location" in answer_headers:
                redirects += 1
                url = self._redirect(url, answer_headers["location"], redirects)
                if _origin(url) != origin and "Authorization" in sent:
                    # Never hand the password to another host, port or scheme.
                    other = "{}://{}:{}".format(*_origin(url))
                    if self.connecting:  # an account there could never authenticate
                        raise InvalidParameters(_elsewhere(other))
                    del sent["Authorization"]
                    self.withheld.add(_origin(url))
                    withheld = other
                if status == 303:
                    method, body = "GET", None
                attempt -= 1
                continue
            if status < 300 or status in expect:
                answer = Answer(status, answer_headers, content, url, attempt, turn)
                if turn is not None:  # given back by read_apart, or when the answer is dropped
                    weakref.finalize(answer, turn.release)
                return answer
            if await self._retry(status, answer_headers, safe, attempt):
                continue
            if status == 401 and withheld:
                raise ProviderError(_elsewhere(withheld))
            raise await self._error(status, answer_headers, content, method, url, what)

    def _observe(self, operation: str, started: float, outcome: str) -> None:
        metrics.observe_provider_call("CalDAV", operation, time.perf_counter() - started, outcome)

    async def _once(
        self, method: str, url: str, body: bytes | None, headers: Mapping[str, str]
    ) -> tuple[int, httpx.Headers, bytes, Turn | None]:
        left = self.deadline.left()
        if left <= 0:
            raise TimeoutError
        timeout = httpx.Timeout(left, connect=min(left, self.policy.connect_timeout))
        async with asyncio.timeout(left):
            request = self.client.build_request(
                method, _parsed(url), content=body, headers=headers, timeout=timeout
            )
            response = await self.client.send(request, stream=True)
            turn: Turn | None = None
            try:
                content = bytearray()
                limit = self.policy.max_answer_bytes
                async for chunk in response.aiter_bytes():
                    if len(content) + len(chunk) > limit:
                        raise ProviderError(
                            f"{SERVER} answered more than {_mib(limit)} (setting "
                            "provider_max_answer_bytes); narrow the start/end window"
                        )
                    if turn is None and len(content) + len(chunk) >= OFF_LOOP_BYTES:
                        turn = Turn()
                        await turn.take()  # at most OFF_LOOP_AT_ONCE big answers at once
                    content += chunk
            except BaseException:
                if turn is not None:
                    turn.release()
                raise
            finally:
                await response.aclose()
        return response.status_code, response.headers, bytes(content), turn

    def _backoff(self, attempt: int) -> float:
        return min(self.policy.max_backoff, self.policy.backoff * 2.0 ** (attempt - 1))

    async def _retry(self, status: int, headers: httpx.Headers, safe: bool, attempt: int) -> bool:
        """Wait and say yes when the failed call should be sent again."""
        asked = retry_after(httpx.Response(status, headers=headers))
        throttled = status == 429 or (status == 503 and asked is not None)
        if not (throttled or (status >= 500 and safe)) or attempt > self.policy.retries:
            return False
        wait = asked if asked is not None else self._backoff(attempt)
        if wait >= self.deadline.left():
            return False
        await anyio.sleep(wait)
        return True

    def _redirect(self, url: str, location: str, redirects: int) -> str:
        target = urljoin(url, location)
        if redirects > MAX_REDIRECTS:
            raise ProviderError(f"{SERVER} redirected more than {MAX_REDIRECTS} times")
        if urlsplit(url).scheme == "https" and urlsplit(target).scheme != "https":
            raise ProviderError(f"{SERVER} redirected from https to {_path(target)}: refused")
        return target

    async def _error(
        self,
        status: int,
        headers: httpx.Headers,
        content: bytes,
        method: str,
        url: str,
        what: str,
    ) -> CalgateError:
        log.info("CalDAV %s %s -> %s", method, _path(url), status)
        if status == 401:
            if self.connecting:
                return Unauthorized(
                    f"{SERVER} refused the username or password{_about(what)}; "
                    "check them (iCloud needs an app-specific password)"
                )
            if self.on_unauthorized is not None:
                await self.on_unauthorized()
            return CalgateError(
                f"{SERVER} refused the account's password{_about(what)}; connect the account again",
                type="errors/expired_credentials",
            )
        if status == 403:
            failed = xml.precondition(content)
            if failed is not None and failed not in ("need-privileges",):
                return InvalidParameters(
                    f"{SERVER} refused the request{_about(what)}: precondition {failed} failed"
                )
        response = httpx.Response(status, headers=headers, content=content)
        return error_for(response, SERVER, what)

    def _timed_out(self, what: str) -> RequestTimeout:
        return RequestTimeout(
            f"{SERVER} did not answer within {self.deadline.seconds:g} s{_about(what)}"
        )


_limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter] = (
    weakref.WeakKeyDictionary()
)


def is_big(answer: Answer) -> bool:
    """Whether ``answer`` is big enough to be read off the event loop (:func:`read_apart`)."""
    return len(answer.content) >= OFF_LOOP_BYTES


async def read(answer: Answer, tenant: str, reading: Callable[..., T], *args: Any) -> T:
    """``reading(*args)``, the CPU-heavy reading of ``answer`` (XML, then iCalendar), on the
    event loop for a small answer; :func:`read_apart` does a big one."""
    if is_big(answer):
        return await read_apart(answer, tenant, reading, *args)
    return reading(*args)


async def read_apart(answer: Answer, tenant: str, reading: Callable[..., T], *args: Any) -> T:
    """``reading(*args, budget)``, the reading of a big ``answer``
    (:func:`calgate.offload.run_apart`): in one of calgate's worker processes when it has them
    (setting ``recurrence_processes``), whose CPU time does not share the event loop's
    interpreter; in offload's threads otherwise. ``reading`` is a function of the module level
    (:mod:`calgate.providers.caldav.reading`). An answer that kept its turn (``keep_turn``) is
    read under it, then gives it back: at most ``OFF_LOOP_AT_ONCE`` big answers are in memory
    at once in a process, read or being read. That turn bounds the readings, not the tenant's
    recurrence turn (``tenant`` names whose reading it is): a reading holding memory does not
    wait behind its tenant's other work."""
    try:
        return await offload.run_apart(reading, args, tenant, in_turn=False)
    finally:
        if answer.turn is not None:
            answer.turn.release()


def _limiter(loop: asyncio.AbstractEventLoop) -> anyio.CapacityLimiter:
    limiter = _limiters.get(loop)
    if limiter is None:
        limiter = _limiters[loop] = anyio.CapacityLimiter(OFF_LOOP_AT_ONCE)
    return limiter


def _origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or (443 if scheme == "https" else 80)


def _elsewhere(origin: str) -> str:
    return (
        f"url: {SERVER} redirected to {origin}, another server; calgate does not send the "
        "password across servers: give that server's URL instead"
    )


def _mib(size: int) -> str:
    return f"{size / 2**20:g} MiB" if size >= 2**20 else f"{size} bytes"


def _about(what: str) -> str:
    return f" ({what})" if what else ""


def _reason(error: httpx.TransportError) -> str:
    if isinstance(error, httpx.ConnectError):
        return "connection refused or host unknown"
    if isinstance(error, httpx.RemoteProtocolError):
        return "the connection was closed before an answer"
    if isinstance(error, httpx.TimeoutException):
        return "no connection within the time allowed"
    return "the connection failed"


def _path(url: str) -> str:
    return url.split("?", 1)[0]


def _parsed(url: str) -> httpx.URL:
    """``url`` parsed, once for URLs of a usual length (a poll sends the same few URLs again
    and again; httpx's URLs do not change once made). A long one, such as a server's redirect
    could name, is parsed each time: the cache stays small whatever servers answer."""
    return _parsed_once(url) if len(url) <= 2048 else httpx.URL(url)


@functools.lru_cache(maxsize=4096)
def _parsed_once(url: str) -> httpx.URL:
    return httpx.URL(url)
