"""Sync metrics at ``/metrics``: runs, changes seen, full resyncs (counted by the process that
did them) and the sync lag and calendar states (read from the database at each scrape)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import Counter, Gauge, Histogram

from calgate import metrics
from calgate.store import mirror
from calgate.store.db import now_us

if TYPE_CHECKING:
    from calgate.runtime import Runtime

RUNS = Histogram(
    "calgate_sync_run_duration_seconds",
    "Time of one sync run of one calendar, by account type and outcome (ok, error).",
    ["provider", "outcome"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
    registry=metrics.REGISTRY,
)
CHANGES = Counter(
    "calgate_sync_changes",
    "Changes found by sync and reported (one per webhook event), by account type.",
    ["provider"],
    registry=metrics.REGISTRY,
)
RESYNCS = Counter(
    "calgate_sync_full_resyncs",
    "Full resyncs forced by a provider refusing the sync cursor, by account type.",
    ["provider"],
    registry=metrics.REGISTRY,
)
LAG = Gauge(
    "calgate_sync_lag_seconds",
    "Age of the oldest last successful sync among synced calendars (0: none synced yet).",
    registry=metrics.REGISTRY,
    multiprocess_mode="mostrecent",
)
CALENDARS = Gauge(
    "calgate_sync_calendars",
    "Synced calendars by state: ok, failing (last run failed), pending (no baseline yet).",
    ["state"],
    registry=metrics.REGISTRY,
    multiprocess_mode="mostrecent",
)


def run(provider: str, outcome: str, seconds: float) -> None:
    RUNS.labels(provider, outcome).observe(seconds)


def seen(provider: str, changes: int, full_resync: bool) -> None:
    if changes:
        CHANGES.labels(provider).inc(changes)
    if full_resync:
        RESYNCS.labels(provider).inc()


@metrics.on_scrape
async def sync_gauges(runtime: Runtime) -> None:
    states = await runtime.db.read(lambda c: mirror.calendar_states(c))
    now = now_us()
    successes = [s.last_success_at for s in states if s.last_success_at is not None]
    LAG.set((now - min(successes)) / 1e6 if successes else 0.0)
    counts = {"ok": 0, "failing": 0, "pending": 0}
    for s in states:
        key = "failing" if s.last_error else "pending" if s.cursor is None else "ok"
        counts[key] += 1
    for key, value in counts.items():
        CALENDARS.labels(key).set(value)
