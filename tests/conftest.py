"""Shared fixtures: a real database (SQLite, and PostgreSQL when CALGATE_TEST_DATABASE_URL is set)
and the real app driven through httpx."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from calgate import offload
from calgate.api.app import create_app
from calgate.bootstrap import bootstrap
from calgate.processes import Priority
from calgate.runtime import Runtime
from calgate.settings import Settings
from calgate.store import keys

PG_URL = os.environ.get("CALGATE_TEST_DATABASE_URL", "")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


@contextmanager
def offload_as(threads: int, processes: int, priority: Priority = "idle") -> Iterator[None]:
    """calgate's recurrence threads and worker processes as given inside (``offload.configure``,
    which may be called again inside), the settings' defaults after."""
    offload.configure(threads, processes, priority)
    try:
        yield
    finally:
        fields = Settings.model_fields
        offload.configure(
            fields["recurrence_threads"].default,
            fields["recurrence_processes"].default,
            fields["recurrence_priority"].default,
        )


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def reset_postgres(url: str) -> None:
    import sqlalchemy as sa
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
        await conn.execute(sa.text("CREATE SCHEMA public"))
    await engine.dispose()


@pytest.fixture(params=BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgresql":
        await reset_postgres(PG_URL)
        return PG_URL
    return f"sqlite+aiosqlite:///{tmp_path / 'calgate.db'}"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=database_url, data_dir=tmp_path, sqlite_synchronous="NORMAL")


@dataclass
class Tenant:
    id: str
    key: str
    account_id: str
    calendar_id: str


def takes_account_id(app: FastAPI, method: str, path: str) -> bool:
    """Whether the operation answering ``method path`` takes ``account_id`` in its query, as
    the OpenAPI document says (a path template with fewer parameters wins, as in routing)."""
    found = [
        (template.count("{"), takes)
        for template, pattern, verb, takes in _operations(app)
        if verb == method.lower() and pattern.fullmatch(path)
    ]
    return min(found)[1] if found else False


_OPERATIONS: dict[int, list[tuple[str, re.Pattern[str], str, bool]]] = {}


def _operations(app: FastAPI) -> list[tuple[str, re.Pattern[str], str, bool]]:
    known = _OPERATIONS.get(id(app))
    if known is None:
        known = _OPERATIONS[id(app)] = []
        for template, item in app.openapi()["paths"].items():
            pattern = re.compile(re.sub(r"\\\{[^}]*\\\}", "[^/]+", re.escape(template)))
            for verb, operation in item.items():
                query = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
                known.append((template, pattern, verb, "account_id" in query))
    return known


@dataclass
class Api:
    """The app with two tenants; ``call`` sends as tenant A unless told otherwise."""

    client: httpx.AsyncClient
    runtime: Runtime
    a: Tenant
    b: Tenant
    app: FastAPI

    def events_url(self, calendar_id: str | None = None) -> str:
        return f"/api/v1/calendars/{calendar_id or self.a.calendar_id}/events"

    async def call(
        self,
        method: str,
        url: str,
        *,
        tenant: Tenant | None = None,
        account_id: str | None = None,
        params: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """``method url`` as ``tenant`` (A). ``account_id`` (the tenant's account unless given)
        is sent in the query when it is given or when the route takes it there: reads refuse
        a query parameter they do not take."""
        who = tenant or self.a
        query = dict(params or {})
        if account_id is not None or takes_account_id(self.app, method, url.split("?")[0]):
            query = {"account_id": account_id or who.account_id, **query}
        headers = {"X-API-KEY": who.key, **kwargs.pop("headers", {})}
        return await self.client.request(method, url, params=query, headers=headers, **kwargs)

    async def create(self, body: dict[str, Any], **kwargs: Any) -> str:
        r = await self.call("POST", self.events_url(), json=body, **kwargs)
        assert r.status_code == 200, r.text
        event_id: str = r.json()["event_id"]
        return event_id

    async def get(self, event_id: str, **kwargs: Any) -> dict[str, Any]:
        r = await self.call("GET", f"{self.events_url()}/{event_id}", **kwargs)
        assert r.status_code == 200, r.text
        data: dict[str, Any] = r.json()
        return data


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    rt = Runtime.build(settings)
    await rt.start()
    yield rt
    await rt.aclose()


@pytest.fixture
async def api(runtime: Runtime, settings: Settings) -> AsyncIterator[Api]:
    first = await bootstrap(runtime)
    assert first is not None
    a = Tenant(first.tenant_id, first.api_key, first.account_id, first.calendar_id)
    tenant_b = await runtime.db.write(lambda c: keys.create_tenant(c, "b"))
    _, key_b = await runtime.db.write(lambda c: keys.create_key(c, tenant_b, "b"))
    account_b = await runtime.accounts.create_local(tenant_b, "B calendar")
    cal_b = (await runtime.events.list_calendars(tenant_b, account_b.id))[0].id
    app = create_app(settings, runtime)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://calgate.test") as client:
        yield Api(client, runtime, a, Tenant(tenant_b, key_b, account_b.id, cal_b), app)


SEED_BODY: dict[str, Any] = {
    "title": "Quarterly review",
    "body": "Numbers and plans",
    "location": "Room 4",
    "transparency": "opaque",
    "visibility": "private",
    "conference": {
        "provider": "zoom",
        "url": "https://zoom.example.org/j/123",
        "conference_id": "123",
    },
    "is_attendees_list_hidden": True,
    "attendees": [
        {"email": "ada@example.org", "display_name": "Ada"},
        {"email": "bob@example.org", "optional": True},
    ],
    "recurrence": ["RRULE:FREQ=WEEKLY;BYDAY=TU;COUNT=4"],
    "start": {"date_time": "2026-01-20T14:30:00", "time_zone": "Europe/Paris"},
    "end": {"date_time": "2026-01-20T15:30:00", "time_zone": "Europe/Paris"},
    "color": "#039BE5",
    "notify": False,
    "guests_can_modify": True,
}
