"""The HTTP port every remote provider shares: one client factory and one :func:`send`.

:func:`send` gives each provider call a deadline, retries what is safe to retry (429 and
rate-limit answers always, since the provider did not act on them; 5xx, timeouts and connection
failures only when the call is safe to repeat: reads, and writes carrying an idempotency key),
honours ``Retry-After`` within the deadline, and translates every failure into calgate's own
errors (providers.md, "How provider failures map onto the seed's error types")::

    policy = Policy(timeout=30.0)
    response = await send(client, "GET", url, policy=policy, safe=True, provider="Google")

Statuses the adapter handles itself (a 401 to refresh a token, a 409 to fetch an event that a
retried insert already made, a 404 that is not an error) are listed in ``expect`` and returned.
Tests inject a transport (``httpx.ASGITransport`` over a test server) through
:func:`make_client`; nothing is patched. No httpx exception escapes this module's callers.
"""

from __future__ import annotations

import email.utils
import logging
import math
import random
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

import anyio
import httpx

from calgate import __version__, metrics
from calgate.errors import (
    CalgateError,
    Conflict,
    InvalidParameters,
    NetworkDown,
    NotFound,
    ProviderError,
    RequestTimeout,
    TooManyRequests,
)
from calgate.providers.pool import Pool

__all__ = [
    "Deadline",
    "Policy",
    "ProviderClient",
    "error_for",
    "is_rate_limited",
    "make_client",
    "provider_message",
    "retry_after",
    "send",
]

log = logging.getLogger("calgate.providers.http")

Throttled = Callable[[httpx.Response], bool]


@dataclass(frozen=True, slots=True)
class Policy:
    """How hard to try: the deadline of one provider call, retries and their backoff."""

    timeout: float = 30.0  # whole budget of one call, retries and waits included
    connect_timeout: float = 10.0  # a connection not made by then is a timeout
    retries: int = 3  # extra attempts after the first
    backoff: float = 0.25  # first wait; doubles each attempt (with jitter)
    max_backoff: float = 8.0  # cap of one computed wait (a Retry-After may ask for more)
    max_answer_bytes: int = 16 * 2**20  # largest answer read (setting provider_max_answer_bytes)


class Deadline:
    """A point in time a provider call (retries included) must finish by."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds

    def left(self) -> float:
        return self.at - time.monotonic()

    def expired(self) -> bool:
        return self.left() <= 0


class ProviderClient(httpx.AsyncClient):
    """The provider calls' client: requests built as ``httpx.AsyncClient`` builds them (its
    default headers, per-request timeouts), sent straight to the transport. One client serves
    every account, so it keeps no cookies (a cookie set by an answer to one account's call is
    never sent with another's), follows no redirects and adds no auth; it skips httpx's
    per-response cookie parsing and log record with them."""

    def __init__(self, *, transport: httpx.AsyncBaseTransport, **options: Any) -> None:
        super().__init__(transport=transport, follow_redirects=False, **options)
        self._direct = transport

    async def send(
        self,
        request: httpx.Request,
        *,
        stream: bool = False,
        auth: Any = httpx.USE_CLIENT_DEFAULT,
        follow_redirects: Any = httpx.USE_CLIENT_DEFAULT,
    ) -> httpx.Response:
        if auth not in (httpx.USE_CLIENT_DEFAULT, None) or follow_redirects is True:
            raise TypeError("provider calls are sent without auth and without redirects")
        if self.is_closed:
            raise RuntimeError("Cannot send a request, as the client has been closed.")
        response = await self._direct.handle_async_request(request)
        response.request = request
        if not stream:
            try:
                await response.aread()
            finally:
                await response.aclose()
        return response


def make_client(
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    max_connections: int = 100,
    user_agent: str = f"calgate/{__version__}",
    public_only: bool = False,
) -> ProviderClient:
    """A :class:`ProviderClient` for provider calls; ``transport`` swaps the network for tests.

    Timeouts are set per request by :func:`send` (from the call's deadline), redirects are not
    followed (a provider API that redirects is misconfigured), and cookies are not kept.
    ``public_only``: for servers a client named (CalDAV), connect only to addresses that are
    not loopback or link-local, checking the address connected to
    (:class:`calgate.providers.pool.Pool`, calgate's own transport on plain asyncio)."""
    # Keep every pooled connection alive: above the keep-alive count, busy periods would close
    # and reopen connections (a TLS handshake each) instead of reusing them.
    limits = httpx.Limits(
        max_connections=max_connections, max_keepalive_connections=max_connections
    )
    if transport is None:
        transport = Pool(limits, public_only=public_only)
    return ProviderClient(
        transport=transport,
        limits=limits,
        headers={"User-Agent": user_agent, "Accept": "application/json"},
        timeout=httpx.Timeout(30.0),
    )


def retry_after(response: httpx.Response) -> float | None:
    """The wait a ``Retry-After`` header asks for, in seconds (delta or HTTP date)."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - time.time()
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)


def _error_object(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except (ValueError, UnicodeDecodeError):
        return {}
    if not isinstance(data, dict):
        return {}
    inner = data.get("error")
    if isinstance(inner, dict):
        return inner
    return data  # OAuth token errors: {"error": "invalid_grant", "error_description": ...}


def error_reasons(response: httpx.Response) -> set[str]:
    """Google's ``error.errors[].reason`` values and Graph's ``error.code`` of an answer."""
    found: set[str] = set()
    error = _error_object(response)
    for item in error.get("errors") or ():
        if isinstance(item, dict) and isinstance(item.get("reason"), str):
            found.add(item["reason"])
    code = error.get("code")
    if isinstance(code, str):
        found.add(code)
    return found


def provider_message(response: httpx.Response) -> str:
    """The provider's own words about a failed call (never request data or tokens)."""
    error = _error_object(response)
    for key in ("message", "error_description"):
        if isinstance(error.get(key), str) and error[key]:
            return str(error[key])[:300]
    if isinstance(error.get("error"), str):
        return str(error["error"])[:300]
    return response.reason_phrase or f"HTTP {response.status_code}"


_RATE_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})


def is_rate_limited(response: httpx.Response) -> bool:
    """429, or a 403 whose reason is a rate limit (Google answers rate limits with 403)."""
    if response.status_code == 429:
        return True
    return response.status_code == 403 and bool(error_reasons(response) & _RATE_LIMIT_REASONS)


def error_for(response: httpx.Response, provider: str, what: str = "") -> CalgateError:
    """The calgate error for a provider answer that :func:`send` will not retry again."""
    status = response.status_code
    said = provider_message(response)
    about = f" ({what})" if what else ""
    if is_rate_limited(response):
        wait = retry_after(response)
        seconds = max(1, math.ceil(wait if wait is not None else 60))
        return TooManyRequests(
            f"{provider} is rate limiting this account{about}: {said}; retry in {seconds} s",
            headers={"Retry-After": str(seconds)},
        )
    if status == 401:
        return CalgateError(
            f"{provider} refused the account's access token{about}: {said}; connect the account "
            "again",
            type="errors/expired_credentials",
        )
    if status == 403:
        if "quotaExceeded" in error_reasons(response):
            return TooManyRequests(
                f"{provider} usage limits exceeded for this account{about}: {said}",
                headers={"Retry-After": "3600"},
            )
        return CalgateError(
            f"{provider} does not allow this for the account{about}: {said}",
            type="errors/insufficient_permissions",
        )
    if status in (404, 410):
        return NotFound(f"{provider} has no such resource{about}: {said}")
    if status in (409, 412):
        return Conflict(f"{provider} reports a conflict{about}: {said}")
    if status == 400:
        return InvalidParameters(f"{provider} refused the request{about}: {said}")
    if 400 < status < 500:
        return ProviderError(f"{provider} answered {status}{about}: {said}")
    return ProviderError(f"{provider} failed with {status}{about}: {said}")


def _backoff(policy: Policy, attempt: int) -> float:
    wait = min(policy.max_backoff, policy.backoff * (2.0**attempt))
    return wait * random.uniform(0.5, 1.0)  # jitter, not cryptography


def _timeouts(policy: Policy, left: float) -> httpx.Timeout:
    budget = max(0.001, left)
    return httpx.Timeout(budget, connect=min(budget, policy.connect_timeout))


async def send(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    policy: Policy,
    provider: str,
    safe: bool,
    what: str = "",
    deadline: Deadline | None = None,
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    json: Any = None,
    data: Mapping[str, str] | None = None,
    expect: Collection[int] = (),
    throttled: Throttled = is_rate_limited,
) -> httpx.Response:
    """Send one provider call and return its answer (2xx/3xx, or a status in ``expect``).

    ``safe``: the call may be sent again without risk of doing it twice (reads; deletes; writes
    with an idempotency key). ``what`` names the call in error details. Everything else raises a
    :class:`~calgate.errors.CalgateError` from the mapping table."""
    deadline = deadline or Deadline(policy.timeout)
    attempt = 0
    while True:
        left = deadline.left()
        if left <= 0:
            raise _timed_out(provider, what, deadline)
        started = time.perf_counter()
        operation = what or method
        try:
            request = client.build_request(
                method,
                url,
                params=params,
                headers=headers,
                json=json,
                data=data,
                timeout=_timeouts(policy, left),
            )
            response = await _read_within(
                await client.send(request, stream=True), policy.max_answer_bytes, provider, what
            )
        except httpx.TimeoutException:
            metrics.observe_provider_call(
                provider, operation, time.perf_counter() - started, "timeout"
            )
            log.info("%s %s %s: no answer in time", provider, method, _path(url))
            if safe and attempt < policy.retries and deadline.left() > policy.backoff:
                attempt += 1
                continue
            raise _timed_out(provider, what, deadline) from None
        except httpx.TransportError as exc:
            metrics.observe_provider_call(
                provider, operation, time.perf_counter() - started, "network"
            )
            log.info("%s %s %s: %s", provider, method, _path(url), type(exc).__name__)
            wait = _backoff(policy, attempt)
            if safe and attempt < policy.retries and deadline.left() > wait:
                attempt += 1
                await anyio.sleep(wait)
                continue
            raise NetworkDown(
                f"{provider} could not be reached{' (' + what + ')' if what else ''}: "
                f"{_transport_reason(exc)}"
            ) from None
        status = response.status_code
        metrics.observe_provider_call(
            provider, operation, time.perf_counter() - started, metrics.outcome_of(status)
        )
        log.debug("%s %s %s -> %s (attempt %s)", provider, method, _path(url), status, attempt + 1)
        if status < 400 or status in expect:
            return response
        limited = throttled(response)
        retryable = limited or (status >= 500 and safe)
        if retryable and attempt < policy.retries:
            asked = retry_after(response)
            wait = asked if asked is not None else _backoff(policy, attempt)
            if wait < deadline.left():
                await response.aclose()
                attempt += 1
                await anyio.sleep(wait)
                continue
        await response.aread()
        raise error_for(response, provider, what)


async def _read_within(
    response: httpx.Response, limit: int, provider: str, what: str
) -> httpx.Response:
    """``response`` read whole, unless it is larger than ``limit`` bytes: then the reading
    stops there and the call fails (a provider's answer never fills the memory)."""
    too_big = ProviderError(
        f"{provider} answered more than {limit / 2**20:g} MiB (setting "
        f"provider_max_answer_bytes){' (' + what + ')' if what else ''}"
    )
    try:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise too_big
        content = bytearray()
        async for chunk in response.aiter_bytes():
            if len(content) + len(chunk) > limit:
                raise too_big
            content += chunk
    finally:
        await response.aclose()
    # The content is decoded: its encoding and length headers no longer describe it.
    kept = [
        (name, value)
        for name, value in response.headers.raw
        if name.lower() not in (b"content-encoding", b"content-length", b"transfer-encoding")
    ]
    return httpx.Response(
        response.status_code,
        headers=kept,
        content=bytes(content),
        request=response.request,
        extensions=response.extensions,
    )


def _timed_out(provider: str, what: str, deadline: Deadline) -> RequestTimeout:
    about = f" ({what})" if what else ""
    return RequestTimeout(f"{provider} did not answer within {deadline.seconds:g} s{about}")


def _transport_reason(exc: httpx.TransportError) -> str:
    if isinstance(exc, httpx.ConnectError):
        return "connection refused or host unknown"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "the connection was closed before an answer"
    return "the connection failed"


def _path(url: str) -> str:
    """The URL without its query, for logs (queries may carry search text)."""
    return url.split("?", 1)[0]
