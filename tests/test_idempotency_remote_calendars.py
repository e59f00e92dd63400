"""Issue 13, item 8, on Google and Outlook calendar creates (whose ids the provider chooses),
where the first attempt died at each step: before it noted the calendars already named so
(the retry notes and creates), after its note but before the provider's create (the retry
creates one; a calendar of that name that was there before is not taken for it), and after
the provider's create (the retry answers the calendar, v2's answer included). The abandoned
key is left as a killed process leaves it: pending, its lease lapsed. The SIGKILL of a real
`calgate serve` is tests/test_crash_idempotency_remote_calendars.py."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import select

from calgate.api.middleware.idempotency import fingerprint
from calgate.store import idempotency as store
from calgate.store import tables as t
from calgate.store.db import now_us
from tests.conftest import Api
from tests.oauth_env import (  # noqa: F401 - fixtures
    Fakes,
    connect,
    fakes_fixture,
    oauth_runtime,
    oauth_settings,
)

pytestmark = pytest.mark.anyio

PROVIDERS = ["GOOGLE_OAUTH", "OUTLOOK"]
NAME = "Team"
V1 = "/api/v1/calendars"


def named(fakes: Fakes, provider: str) -> set[str]:
    field = "summary" if provider == "GOOGLE_OAUTH" else "name"
    calendars = fakes.state(provider).calendars.values()
    return {c["id"] for c in calendars if c.get(field) == NAME}


async def create(api: Api, path: str, body: dict[str, Any], key: str | None) -> httpx.Response:
    headers = {"X-API-KEY": api.a.key} | ({} if key is None else {"Idempotency-Key": key})
    return await api.client.post(path, json=body, headers=headers)


async def abandoned(api: Api, path: str, body: dict[str, Any], key: str, noted: str | None) -> None:
    """``key`` as the process of a first attempt leaves it when killed: claimed (and, with
    ``noted``, noted), pending, its lease lapsed."""
    scope = {"method": "POST", "path": path, "query_string": b""}
    same = fingerprint(scope, orjson.dumps(body))
    past = now_us() - 60_000_000

    def write(conn: Any) -> None:
        claimed = store.claim(
            conn,
            api.a.id,
            key,
            fingerprint=same,
            request=f"POST {path}",
            owner="dead",
            now=past,
            lease_until=past + 1,
        )
        assert isinstance(claimed, store.Claim)
        if noted is not None:
            assert store.note(conn, api.a.id, key, "dead", noted)

    await api.runtime.db.write(write)


async def noted_on(api: Api, key: str) -> str | None:
    k = t.idempotency_keys.c
    row = await api.runtime.db.read(
        lambda c: c.execute(select(k.noted).where(k.tenant_id == api.a.id, k.key == key)).first()
    )
    assert row is not None
    return row.noted  # type: ignore[no-any-return]


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_died_before_its_note_the_retry_notes_and_creates(
    api: Api, fakes: Fakes, provider: str
) -> None:
    body = {"account_id": await connect(api, fakes, provider), "name": NAME}
    await abandoned(api, V1, body, "k-early", None)
    r = await create(api, V1, body, "k-early")
    assert r.status_code == 201, r.text
    assert named(fakes, provider) == {r.json()["calendar_id"]}
    assert await noted_on(api, "k-early") == "[]"


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_died_after_its_note_the_retry_creates_one(
    api: Api, fakes: Fakes, provider: str
) -> None:
    body = {"account_id": await connect(api, fakes, provider), "name": NAME}
    before = await create(api, V1, body, None)
    assert before.status_code == 201, before.text
    there = before.json()["calendar_id"]
    await abandoned(api, V1, body, "k-noted", orjson.dumps([there]).decode())
    r = await create(api, V1, body, "k-noted")
    assert r.status_code == 201, r.text
    assert r.json()["calendar_id"] != there
    assert named(fakes, provider) == {there, r.json()["calendar_id"]}


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("version", ["v1", "v2"])
async def test_died_after_the_create_the_retry_answers_it(
    api: Api, fakes: Fakes, provider: str, version: str
) -> None:
    account = await connect(api, fakes, provider)
    path, body = V1, {"account_id": account, "name": NAME}
    if version == "v2":
        path, body = f"/v2/{account}/calendars", {"name": NAME}
    first = await create(api, path, body, "k-made")
    assert first.status_code == 201, first.text
    k = t.idempotency_keys.c
    await api.runtime.db.write(  # the answer never stored: the process died before it
        lambda c: c.execute(
            t.idempotency_keys.update()
            .where(k.tenant_id == api.a.id, k.key == "k-made")
            .values(status=None, owner="dead", body=b"", expires_at=now_us() - 1)
        )
    )
    again = await create(api, path, body, "k-made")
    assert again.status_code == 201, again.text
    assert "idempotent-replayed" not in again.headers
    assert again.json() == first.json()
    assert len(named(fakes, provider)) == 1
