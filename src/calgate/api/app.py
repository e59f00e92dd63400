"""The ASGI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from calgate import __version__, offload
from calgate.api import errors, examples
from calgate.api.fastpath import EventRoutes
from calgate.api.limits import BodyLimit
from calgate.api.middleware import (
    ClientWatch,
    FairShare,
    Idempotency,
    NulGuard,
    Observability,
    RateLimit,
)
from calgate.api.pages import install as install_pages
from calgate.api.responses import JSONResponse
from calgate.api.routes import (
    accounts,
    calendars,
    docs,
    events,
    freebusy,
    hosted,
    ics,
    inbound,
    meta,
    push,
    rsvp,
    webhooks,
)
from calgate.api.routes import metrics as metrics_route
from calgate.api.v2 import calendars as v2_calendars
from calgate.api.v2 import events as v2_events
from calgate.api.v2 import webhooks as v2_webhooks
from calgate.runtime import Runtime
from calgate.settings import Settings

DESCRIPTION = """
calgate speaks the calendar part of the Unipile REST API v1. Every request carries
`X-API-KEY`; calendar routes take `account_id` as a query parameter. Errors are JSON:
`{"status", "type", "title", "detail", "instance"}` with the types listed on each route.
"""


def create_app(
    settings: Settings, runtime: Runtime | None = None, *, serving: bool = False
) -> FastAPI:
    """Build the app; with ``runtime`` given, the caller owns its start and close. A server's
    app (``serving``, or one that owns its runtime: each of uvicorn's ``--workers``) starts
    and stops the recurrence worker processes with its lifespan."""
    owned = runtime is None
    workers = serving or owned
    rt = runtime or Runtime.build(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if owned:
            await rt.start()
        if workers:
            await offload.start()
        # The outbox worker (invitation mail, webhooks) runs with the server unless disabled.
        worker = rt.worker() if settings.worker_enabled else None
        if worker is not None:
            await worker.start()
        # Provider sync (changes made outside calgate) runs with the server unless disabled.
        scheduler = rt.scheduler() if settings.sync_enabled else None
        if scheduler is not None:
            await scheduler.start()
            # Push notifications make calendars due: this process's scheduler looks at once.
            rt.push_inbox.wakers.append(scheduler.wake)
            await rt.push_keeper.start()
        try:
            yield
        finally:
            if scheduler is not None:
                await rt.push_keeper.stop()
                await scheduler.stop()
            if worker is not None:
                await worker.aclose()
            if workers:
                # Before uvicorn raises SIGTERM again, which ends the process at once.
                await offload.stop()
            if owned:
                await rt.aclose()

    app = FastAPI(
        title="calgate",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        default_response_class=JSONResponse,
        docs_url=None,  # /docs and /redoc come from calgate.api.routes.docs, with local assets
        redoc_url=None,
    )
    app.state.runtime = rt
    errors.install(app)
    # freebusy before calendars: its paths are not calendar ids.
    routers = (meta, docs, accounts, hosted, freebusy, calendars, events, rsvp, ics)
    for module in (*routers, inbound, webhooks):
        app.include_router(module.router)
    for v2 in (v2_calendars, v2_events, v2_webhooks):  # Unipile API v2 beside v1, same services
        app.include_router(v2.router)
    app.mount(docs.ASSETS_PATH, docs.ASSETS, name="docs-assets")
    install_pages(app)  # the hosted page and the console (HTML)
    if settings.metrics_enabled:
        app.include_router(metrics_route.router)
    # Middleware, the last added runs first: observability, rate limit, fair share, body limit,
    # NUL guard, the push routes (answered there, before FastAPI's routing), idempotency,
    # client watch, the hot event routes (answered there in their common case, before
    # FastAPI's routing).
    if settings.fast_routes:
        app.add_middleware(EventRoutes, runtime=rt, routes=app.router.routes)
    app.add_middleware(ClientWatch)
    app.add_middleware(
        Idempotency,
        ttl_seconds=settings.idempotency_ttl_seconds,
        wait_seconds=settings.idempotency_wait_seconds,
        lease_seconds=settings.idempotency_lease_seconds,
    )
    app.add_middleware(push.PushRoutes, inbox=rt.push_inbox)
    app.add_middleware(NulGuard)
    app.add_middleware(
        BodyLimit, max_bytes=settings.max_body_bytes, timeout=settings.body_timeout_seconds
    )
    app.add_middleware(FairShare, share=settings.fair_share_requests)
    app.add_middleware(
        RateLimit, per_second=settings.rate_limit_per_second, burst=settings.rate_limit_burst
    )
    app.add_middleware(
        Observability, metrics=settings.metrics_enabled, access_log=settings.access_log
    )
    _without_422(app)
    return app


def _without_422(app: FastAPI) -> None:
    """calgate never answers 422 (validation errors are 400): keep it out of the document,
    and document the X-API-KEY header as the API's security scheme."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        spec = build()
        for path in spec.get("paths", {}).values():
            for operation in path.values():
                operation.get("responses", {}).pop("422", None)
        components = spec.setdefault("components", {})
        schemas = components.setdefault("schemas", {})
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
        components["securitySchemes"] = {
            "ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-KEY"}
        }
        for route, path in spec.get("paths", {}).items():
            for operation in path.values():
                # Bodies parsed by calgate.api.body carry their schemas: register them once.
                for name, schema in operation.pop("x-calgate-schemas", {}).items():
                    schemas.setdefault(name, schema)
                if route.startswith(("/api/", "/v2/")):
                    operation.setdefault("security", [{"ApiKey": []}])
        examples.apply(spec)
        _tag_groups(spec)
        app.openapi_schema = spec
        return spec

    app.openapi = openapi  # type: ignore[method-assign]


def _tag_groups(spec: dict[str, Any]) -> None:
    """Unipile v1 and v2 as two groups of tags (``x-tagGroups``, which /redoc shows), each
    tag listed once in ``tags``."""
    used: dict[str, None] = {}
    for path in spec.get("paths", {}).values():
        for operation in path.values():
            for tag in operation.get("tags", ()):
                used[tag] = None
    v2 = [t for t in used if t.startswith("v2 ")]
    spec["tags"] = [{"name": t} for t in used]
    spec["x-tagGroups"] = [
        {
            "name": "Unipile API v1 (and calgate's own routes)",
            "tags": [t for t in used if t not in v2],
        },
        {"name": "Unipile API v2", "tags": v2},
    ]
