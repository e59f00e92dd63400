"""Prometheus metrics, served at ``/metrics``.

What the rest of calgate calls:

- ``provider_call(provider, operation)``: a context manager that times one call to a provider
  (CalDAV, Google, Graph...) into ``calgate_provider_call_duration_seconds``::

      with metrics.provider_call("google", "create_event"):
          response = await client.post(...)

- ``on_scrape(hook)``: register ``async def hook(runtime)``, run before each scrape; the outbox
  uses it to set ``OUTBOX_DEPTH`` and ``OUTBOX_FAILED`` from the database. Register at import
  time (a hook is kept once, however often it is registered).
- ``outbox_failure(kind)``: count one failed delivery attempt (mail, webhook).

HTTP requests are counted by the observability middleware. Metrics are per instance: scrape
every instance. The worker processes of one ``calgate serve --workers N`` share theirs through
files in ``PROMETHEUS_MULTIPROC_DIR`` (set by ``calgate serve``), so that any of them answers a
scrape with the sum of all.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.gc_collector import GCCollector
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

if TYPE_CHECKING:
    from calgate.runtime import Runtime

__all__ = [
    "CONTENT_TYPE",
    "OUTBOX_DEPTH",
    "OUTBOX_FAILED",
    "REGISTRY",
    "observe_provider_call",
    "observe_request",
    "on_scrape",
    "outbox_failure",
    "provider_call",
    "remove_hook",
    "render",
]

log = logging.getLogger("calgate.metrics")
CONTENT_TYPE = CONTENT_TYPE_LATEST
# Read by prometheus_client when it is imported: values then live in files shared by processes.
MULTIPROCESS_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None

REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)
GCCollector(registry=REGISTRY)

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

HTTP_REQUESTS = Counter(
    "calgate_http_requests",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
HTTP_DURATION = Histogram(
    "calgate_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route template.",
    ["method", "route"],
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
PROVIDER_DURATION = Histogram(
    "calgate_provider_call_duration_seconds",
    "Time of one call to a calendar provider, by provider, operation and outcome.",
    ["provider", "operation", "outcome"],
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
OUTBOX_DEPTH = Gauge(
    "calgate_outbox_depth",
    "Messages waiting in the outbox, by kind (mail, webhook).",
    ["kind"],
    registry=REGISTRY,
    multiprocess_mode="mostrecent",
)
OUTBOX_FAILED = Gauge(
    "calgate_outbox_failed",
    "Messages the outbox gave up on, by kind.",
    ["kind"],
    registry=REGISTRY,
    multiprocess_mode="mostrecent",
)
OUTBOX_FAILURES = Counter(
    "calgate_outbox_delivery_failures",
    "Failed delivery attempts (each retry counts), by kind.",
    ["kind"],
    registry=REGISTRY,
)

FAIR_SHARE_WAITS = Counter(
    "calgate_fair_share_waits",
    "Requests that waited for their API key's fair share while other keys were served.",
    registry=REGISTRY,
)
FAIR_SHARE_WAIT_SECONDS = Counter(
    "calgate_fair_share_wait_seconds",
    "Seconds requests waited for their API key's fair share, in all.",
    registry=REGISTRY,
)

# Label children, looked up once: ``labels()`` takes a lock and builds a tuple every time.
_requests: dict[tuple[str, str, int], Counter] = {}
_durations: dict[tuple[str, str], Histogram] = {}


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    counter = _requests.get((method, route, status))
    if counter is None:
        counter = _requests[(method, route, status)] = HTTP_REQUESTS.labels(
            method, route, str(status)
        )
    counter.inc()
    histogram = _durations.get((method, route))
    if histogram is None:
        histogram = _durations[(method, route)] = HTTP_DURATION.labels(method, route)
    histogram.observe(seconds)


def observe_provider_call(
    provider: str, operation: str, seconds: float, outcome: str = "ok"
) -> None:
    PROVIDER_DURATION.labels(provider, operation, outcome).observe(seconds)


def outcome_of(status: int) -> str:
    """The outcome label of a provider answer: ``ok`` below 400, else its class (``4xx``)."""
    return "ok" if status < 400 else f"{status // 100}xx"


@contextmanager
def provider_call(provider: str, operation: str) -> Iterator[None]:
    """Time the block as one call to ``provider``; an exception counts as outcome ``error``."""
    start = time.perf_counter()
    outcome = "error"
    try:
        yield
        outcome = "ok"
    finally:
        observe_provider_call(provider, operation, time.perf_counter() - start, outcome)


def outbox_failure(kind: str) -> None:
    OUTBOX_FAILURES.labels(kind).inc()


ScrapeHook = Callable[["Runtime"], Awaitable[None]]
_hooks: list[ScrapeHook] = []


def on_scrape(hook: ScrapeHook) -> ScrapeHook:
    """Run ``hook(runtime)`` before each scrape (usable as a decorator)."""
    if hook not in _hooks:
        _hooks.append(hook)
    return hook


def remove_hook(hook: ScrapeHook) -> None:
    if hook in _hooks:
        _hooks.remove(hook)


async def render(runtime: Runtime) -> bytes:
    """The metrics in Prometheus' text format, after the scrape hooks have run."""
    for hook in list(_hooks):
        try:
            await hook(runtime)
        except Exception:
            log.warning("metrics hook %s failed", getattr(hook, "__name__", hook), exc_info=True)
    if MULTIPROCESS_DIR:
        shared = CollectorRegistry()
        MultiProcessCollector(shared, path=MULTIPROCESS_DIR)  # type: ignore[no-untyped-call]
        return generate_latest(shared)
    return generate_latest(REGISTRY)
