"""Request ids, JSON access logs and Prometheus metrics, through the real app."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from calgate import metrics
from calgate.api.app import create_app
from calgate.api.middleware import Observability
from calgate.runtime import Runtime
from calgate.settings import Settings
from tests.conftest import Api
from tests.logkit import captured_logs, json_lines

pytestmark = pytest.mark.anyio

EVENTS_ROUTE = "/api/v1/calendars/{calendar_id}/events"
BODY: dict[str, Any] = {
    "title": "Observed",
    "start": {"date": "2026-05-01"},
    "end": {"date": "2026-05-02"},
}


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    with captured_logs("json") as out:
        yield out


lines = json_lines


async def scrape(api: Api) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    r = await api.client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def sample(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_request_id_is_generated_and_returned_on_every_answer(api: Api) -> None:
    ok = await api.call("GET", api.events_url())
    missing = await api.client.get("/api/v1/nothing-here")
    unauthenticated = await api.client.get(api.events_url())
    too_big = await api.call("POST", api.events_url(), content=b"x" * 1_000_001)
    ids = [r.headers["x-request-id"] for r in (ok, missing, unauthenticated, too_big)]
    assert [r.status_code for r in (ok, missing, unauthenticated, too_big)] == [200, 404, 401, 400]
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    assert len(set(ids)) == 4


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("req-42", True),
        ("3f1c9a2e-8b7d-4c1e-9f0a-1b2c3d4e5f60", True),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", True),
        ("a" * 128, True),
        ("a" * 129, False),
        ("has space", False),
        ("<script>", False),
        ("-leading-dash", False),
    ],
)
async def test_incoming_request_id_is_kept_when_sane(api: Api, given: str, kept: bool) -> None:
    r = await api.call("GET", api.events_url(), headers={"X-Request-ID": given})
    if kept:
        assert r.headers["x-request-id"] == given
    else:
        assert re.fullmatch(r"[0-9a-f]{32}", r.headers["x-request-id"])


async def test_one_json_access_line_per_request(api: Api, json_logs: io.StringIO) -> None:
    created = await api.call("POST", api.events_url(), json=BODY, headers={"X-Request-ID": "r-1"})
    assert created.status_code == 200
    await api.client.get("/api/v1/nothing-here", headers={"X-Request-ID": "r-2"})
    access = [line for line in lines(json_logs) if line["logger"] == "calgate.access"]
    assert len(access) == 2
    first, second = access
    assert first["level"] == "info"
    assert first["request_id"] == "r-1"
    assert first["method"] == "POST"
    assert first["route"] == EVENTS_ROUTE
    assert first["status"] == 200
    assert first["tenant_id"] == api.a.id
    assert isinstance(first["duration_ms"], float) and first["duration_ms"] > 0
    assert first["msg"] == f"POST {EVENTS_ROUTE} 200 {first['duration_ms']:.1f}ms"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", first["ts"])
    assert second["route"] == "<unmatched>"
    assert second["status"] == 404
    assert second["tenant_id"] is None
    text = json_logs.getvalue()
    assert api.a.key not in text
    assert api.a.calendar_id not in text  # the route template, never the path


def test_access_line_text_and_field_carry_one_duration(json_logs: io.StringIO) -> None:
    # 6.4499 ms: "%.1f" of the raw figure says 6.4, of the two-decimal field (6.45) 6.5.
    # The line's text is made from the field, so a reader comparing them never sees two.
    async def app(scope: Any, receive: Any, send: Any) -> None:  # never called
        raise AssertionError

    scope = {"type": "http", "method": "GET", "path": "/healthz"}
    Observability(app, metrics=False).done(scope, 200, 0.0064499, {})
    (line,) = [x for x in lines(json_logs) if x["logger"] == "calgate.access"]
    assert line["duration_ms"] == 6.45
    assert line["msg"] == "GET <unmatched> 200 6.5ms"


async def test_access_log_can_be_turned_off(
    runtime: Runtime, settings: Settings, api: Api, json_logs: io.StringIO
) -> None:
    quiet = create_app(settings.model_copy(update={"access_log": False}), runtime)
    transport = httpx.ASGITransport(app=quiet)
    async with httpx.AsyncClient(transport=transport, base_url="http://q.test") as client:
        r = await client.get("/healthz")
    assert r.status_code == 200
    assert [line for line in lines(json_logs) if line["logger"] == "calgate.access"] == []


async def test_metrics_count_requests_by_route_template_and_status(api: Api) -> None:
    before = await scrape(api)
    for _ in range(3):
        await api.create(BODY)
    await api.call("POST", api.events_url(), json={"title": "no times"})
    await api.client.get("/no/such/route")
    after = await scrape(api)

    def delta(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    ok = {"method": "POST", "route": EVENTS_ROUTE}
    assert delta("calgate_http_requests_total", status="200", **ok) == 3
    assert delta("calgate_http_requests_total", status="400", **ok) == 1
    assert (
        delta("calgate_http_requests_total", method="GET", route="<unmatched>", status="404") == 1
    )
    assert delta("calgate_http_request_duration_seconds_count", **ok) == 4
    assert delta("calgate_http_request_duration_seconds_sum", **ok) > 0
    assert sample(after, "process_cpu_seconds_total") > 0


async def test_provider_calls_are_timed_by_provider(api: Api) -> None:
    with metrics.provider_call("caldav", "list_events"):
        pass
    with pytest.raises(ValueError), metrics.provider_call("caldav", "list_events"):
        raise ValueError("provider said no")
    metrics.observe_provider_call("google", "create_event", 0.2)
    samples = await scrape(api)
    name = "calgate_provider_call_duration_seconds_count"
    assert sample(samples, name, provider="caldav", operation="list_events", outcome="ok") >= 1
    assert sample(samples, name, provider="caldav", operation="list_events", outcome="error") >= 1
    assert (
        sample(
            samples,
            "calgate_provider_call_duration_seconds_bucket",
            provider="google",
            operation="create_event",
            outcome="ok",
            le="0.25",
        )
        >= 1
    )


async def test_outbox_gauges_come_from_a_scrape_hook(api: Api) -> None:
    seen: list[Runtime] = []

    async def outbox_counts(runtime: Runtime) -> None:
        seen.append(runtime)
        metrics.OUTBOX_DEPTH.labels("webhook").set(7)
        metrics.OUTBOX_FAILED.labels("mail").set(2)

    metrics.on_scrape(outbox_counts)
    metrics.on_scrape(outbox_counts)
    try:
        metrics.outbox_failure("mail")
        samples = await scrape(api)
    finally:
        metrics.remove_hook(outbox_counts)
    assert seen == [api.runtime]
    assert sample(samples, "calgate_outbox_depth", kind="webhook") == 7
    assert sample(samples, "calgate_outbox_failed", kind="mail") == 2
    assert sample(samples, "calgate_outbox_delivery_failures_total", kind="mail") >= 1


async def test_a_failing_hook_does_not_break_the_scrape(api: Api) -> None:
    async def broken(runtime: Runtime) -> None:
        raise RuntimeError("database away")

    metrics.on_scrape(broken)
    try:
        r = await api.client.get("/metrics")
    finally:
        metrics.remove_hook(broken)
    assert r.status_code == 200
    assert "calgate_http_requests_total" in r.text


async def test_metrics_can_be_turned_off(tmp_path: Path, runtime: Runtime) -> None:
    settings = Settings(data_dir=tmp_path, metrics_enabled=False)
    app = create_app(settings, runtime)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://m.test") as client:
        r = await client.get("/metrics")
    assert r.status_code == 404
    assert "/metrics" not in app.openapi()["paths"]


async def test_health_and_readiness(api: Api) -> None:
    assert (await api.client.get("/healthz")).json() == {"status": "ok"}
    assert (await api.client.get("/readyz")).json() == {"status": "ok"}


@pytest.fixture
async def crashing(api: Api) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    app.state.runtime = api.runtime

    @app.get("/crash")
    async def crash() -> None:
        logging.getLogger("calgate.test").warning("about to fail")
        raise RuntimeError("kaputt")

    app.add_middleware(Observability)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://c.test") as client:
        yield client


async def test_unexpected_errors_answer_500_with_the_request_id_logged(
    crashing: httpx.AsyncClient, json_logs: io.StringIO
) -> None:
    r = await crashing.get("/crash", headers={"X-Request-ID": "crash-1"})
    assert r.status_code == 500
    assert r.headers["x-request-id"] == "crash-1"
    assert r.json() == {
        "status": 500,
        "type": "errors/unexpected_error",
        "title": "Unexpected error",
        "detail": "calgate met an unexpected error; it has been logged (request id crash-1)",
        "instance": "/crash",
    }
    logged = {line["logger"]: line for line in lines(json_logs)}
    assert logged["calgate.test"]["request_id"] == "crash-1"
    assert logged["calgate.errors"]["request_id"] == "crash-1"
    assert logged["calgate.errors"]["msg"] == "unexpected error on GET /crash"
    assert "RuntimeError: kaputt" in logged["calgate.errors"]["exc"]
    assert logged["calgate.access"]["status"] == 500
