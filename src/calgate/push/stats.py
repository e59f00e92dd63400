"""Push metrics at ``/metrics``: notifications by outcome (counted by the process that took
them) and channels by state (read from the database at each scrape)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import Counter, Gauge

from calgate import metrics
from calgate.push.status import channel_status
from calgate.store import push as store
from calgate.store.db import now_us

if TYPE_CHECKING:
    from calgate.runtime import Runtime

NOTIFICATIONS = Counter(
    "calgate_push_notifications",
    "Push notifications received, by provider (google, microsoft) and outcome: accepted "
    "(a sync made due), handshake, lifecycle, ignored, forged (wrong token or clientState), "
    "unknown (no such channel).",
    ["provider", "outcome"],
    registry=metrics.REGISTRY,
)
CHANNELS = Gauge(
    "calgate_push_channels",
    "Push channels by state: active, pending (being made), failing, expired.",
    ["state"],
    registry=metrics.REGISTRY,
    multiprocess_mode="mostrecent",
)


def count(provider: str, outcome: str, n: int = 1) -> None:
    NOTIFICATIONS.labels(provider, outcome).inc(n)


@metrics.on_scrape
async def push_gauges(runtime: Runtime) -> None:
    channels = await runtime.db.read(lambda c: store.of_account(c))
    now = now_us()
    counts = dict.fromkeys(("active", "pending", "failing", "expired"), 0)
    for channel in channels:
        counts[channel_status(channel, now)] += 1
    for key, value in counts.items():
        CHANNELS.labels(key).set(value)
