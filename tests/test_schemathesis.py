"""calgate's own OpenAPI document, fuzzed with schemathesis through the ASGI app.

Every operation gets generated requests (documented examples, then up to ``MAX_EXAMPLES``
generated ones, with a fixed seed): none may answer 5xx, and every answer must match the
document (status code listed, content type, body schema). Half of the cases carry real ids
of tenant A (account, calendar, event) so that they reach past the 404s into the services.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import Case
from schemathesis.checks import positive_data_acceptance

from calgate.api.app import create_app
from calgate.bootstrap import bootstrap
from calgate.runtime import Runtime
from calgate.settings import Settings

MAX_EXAMPLES = 30


@dataclass
class Ids:
    key: str
    account_id: str
    calendar_id: str
    event_id: str


def _document() -> dict[str, Any]:
    """The OpenAPI document, built once at collection (no request, no database work)."""
    folder = Path(tempfile.mkdtemp(prefix="calgate-openapi-"))
    settings = Settings(data_dir=folder)
    runtime = Runtime.build(settings)
    try:
        return create_app(settings, runtime).openapi()
    finally:
        asyncio.run(runtime.aclose())
        shutil.rmtree(folder, ignore_errors=True)


class Target:
    """The ASGI app schemathesis calls; the real app is built by the ``ids`` fixture."""

    app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


TARGET = Target()
KEY = "cg_schemathesis-fuzzing-key-0123456789"
SEEN: dict[str, Counter[int]] = {}
schema = schemathesis.openapi.from_dict(_document())
schema.app = TARGET
# 501 errors/feature_not_implemented is the contract's documented answer for what a provider
# (or calgate) does not do: a deliberate answer, not a server failure.
schema.config.checks.not_a_server_error.expected_statuses = ["2xx", "3xx", "4xx", "501"]


@schemathesis.serializer("message/rfc822")
def _raw_message(ctx: Any, value: Any) -> bytes:
    """A raw mail (POST /api/v1/inbound/mail) is sent as its bytes."""
    return value if isinstance(value, bytes) else str(value).encode()


@schema.auth()
class ApiKey:
    """Tenant A's key in X-API-KEY (schemathesis leaves it out of the cases meant to lack it)."""

    def get(self, case: Case, context: Any) -> str:
        return KEY

    def set(self, case: Case, data: str, context: Any) -> None:
        case.headers = {**(case.headers or {}), "X-API-KEY": data}


@pytest.fixture(scope="module")
def ids(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ids]:
    """A first key, account and calendar. The runtime is started here, not by the app's
    lifespan: schemathesis runs the app in an event loop of its own, in a thread, and may
    start and stop its lifespan more than once."""
    config = Settings(
        data_dir=tmp_path_factory.mktemp("fuzz"),
        sqlite_synchronous="OFF",
        worker_enabled=False,
        api_key=KEY,
    )
    runtime = Runtime.build(config)

    app = create_app(config, runtime)

    async def go() -> Ids:
        await runtime.start()
        first = await bootstrap(runtime)
        assert first is not None
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://set.up") as client:
            created = await client.post(
                f"/api/v1/calendars/{first.calendar_id}/events",
                params={"account_id": first.account_id},
                headers={"X-API-KEY": KEY},
                json={
                    "title": "Seed",
                    "start": {"date": "2026-01-05"},
                    "end": {"date": "2026-01-06"},
                },
            )
        return Ids(first.api_key, first.account_id, first.calendar_id, created.json()["event_id"])

    found = asyncio.run(go())
    TARGET.app = app
    yield found
    TARGET.app = None
    asyncio.run(runtime.aclose())


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_5xx_and_answers_match_the_document(case: Case, ids: Ids) -> None:
    # Half of the cases (deterministically) use tenant A's real ids, so that they get past the
    # 404s into the services; DELETEs keep their generated ids so that the data stays.
    real = zlib.crc32(repr((case.path_parameters, case.query, case.body)).encode()) % 2
    if real and case.method != "DELETE":
        mine = {
            "account_id": ids.account_id,
            "calendar_id": ids.calendar_id,
            "event_id": ids.event_id,
        }
        for name in list(case.path_parameters or {}):
            if name in mine:
                case.path_parameters[name] = mine[name]
        if isinstance(case.query, dict) and "account_id" in case.query:
            case.query["account_id"] = ids.account_id
        if isinstance(case.body, dict):  # what Unipile clients echo in bodies (issue 11)
            for name in ("account_id", "calendar_id"):
                value = case.body.get(name)
                if isinstance(value, str) and 1 <= len(value) <= 80:  # not a negative case
                    case.body[name] = mine[name]
    # positive_data_acceptance is left out: calgate rightly answers 400 to some requests the
    # document allows (an end before its start, an unknown time zone name, a bad RRULE).
    response = case.call_and_validate(excluded_checks=[positive_data_acceptance])
    SEEN.setdefault(f"{case.method} {case.path}", Counter())[response.status_code] += 1


def test_fuzzing_reached_the_services() -> None:
    """The cases above reached the services, not only the validation and the 404s."""
    if not SEEN:
        pytest.skip("run with the schemathesis test above")
    events = "/api/v1/calendars/{calendar_id}/events"
    assert SEEN[f"POST {events}"][200] >= 1, SEEN[f"POST {events}"]
    assert SEEN[f"POST {events}"][400] >= 1, SEEN[f"POST {events}"]
    assert SEEN[f"GET {events}"][200] >= 1, SEEN[f"GET {events}"]
    assert SEEN[f"GET {events}/{{event_id}}"][200] >= 1, SEEN[f"GET {events}/{{event_id}}"]
    assert SEEN[f"PATCH {events}/{{event_id}}"][200] >= 1, SEEN[f"PATCH {events}/{{event_id}}"]
    assert SEEN["GET /api/v1/calendars"][200] >= 1
    assert sum(sum(c.values()) for c in SEEN.values()) >= 1000, SEEN
