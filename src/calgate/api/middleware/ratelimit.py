"""Rate limit per API key: a token bucket per ``X-API-KEY`` value, in this process.

Each key may make ``per_second`` requests a second on average and ``burst`` at once; past
that calgate answers 429 ``errors/too_many_requests`` with ``Retry-After`` (whole seconds).
The buckets live in the process: with N instances behind a load balancer a key may make up to
N times the rate. Requests without a key are left to the app (401); health, readiness and
metrics are never limited.
"""

from __future__ import annotations

import math
import time

from starlette.types import ASGIApp, Receive, Scope, Send

from calgate.api.middleware.common import limited_key, send_error

MAX_BUCKETS = 10_000


class RateLimit:
    def __init__(self, app: ASGIApp, *, per_second: float, burst: int = 0) -> None:
        self.app = app
        self.rate = per_second
        self.burst = float(burst or max(1, math.ceil(per_second * 2)))
        # key -> [tokens left, when they were counted (monotonic seconds)]
        self._buckets: dict[bytes, list[float]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = limited_key(scope) if self.rate > 0 else None
        if key is None:
            await self.app(scope, receive, send)
            return
        wait = self.take(key, time.monotonic())
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            await send_error(
                scope,
                send,
                "too_many_requests",
                f"this API key may make {self.rate:g} requests per second "
                f"(bursts of {self.burst:g}); retry in {seconds} s",
                [(b"retry-after", str(seconds).encode())],
            )
            return
        await self.app(scope, receive, send)

    def take(self, key: bytes, now: float) -> float:
        """Take one token from ``key``'s bucket: 0 when granted, else seconds to wait."""
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= MAX_BUCKETS:
                self._prune(now)
            self._buckets[key] = [self.burst - 1, now]
            return 0.0
        tokens = min(self.burst, bucket[0] + (now - bucket[1]) * self.rate)
        bucket[1] = now
        if tokens >= 1:
            bucket[0] = tokens - 1
            return 0.0
        bucket[0] = tokens
        return (1 - tokens) / self.rate

    def _prune(self, now: float) -> None:
        """Forget full buckets (a full bucket is the same as none); if all are in use,
        forget them all rather than grow without bound."""
        full = [
            k
            for k, (tokens, at) in self._buckets.items()
            if tokens + (now - at) * self.rate >= self.burst
        ]
        for k in full:
            del self._buckets[k]
        if len(self._buckets) >= MAX_BUCKETS:
            self._buckets.clear()
