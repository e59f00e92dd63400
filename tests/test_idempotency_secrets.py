"""Issue 13, item 15: answers kept for an Idempotency-Key are sealed. The secret feed URL and a
webhook's ``whsec_`` secret are shown once; replaying them must not leave them readable in the
database (every table is searched, and on SQLite the database files themselves)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from calgate.store import tables as t
from tests.conftest import Api

pytestmark = pytest.mark.anyio

HOOK = {"source": "calendar_event", "request_url": "https://hooks.example.org/calgate"}


async def database_text(api: Api) -> str:
    """Every value of every row of every table, as text."""

    def op(conn: Any) -> str:
        parts: list[str] = []
        for table in t.metadata.sorted_tables:
            for row in conn.execute(select(table)):
                for value in row:
                    if isinstance(value, (bytes, memoryview)):
                        parts.append(bytes(value).decode("latin-1"))
                    else:
                        parts.append(str(value))
        return "\n".join(parts)

    return await api.runtime.db.read(op)


def database_files(api: Api) -> bytes:
    url = api.runtime.db.url
    if not url.startswith("sqlite"):
        return b""
    path = Path(url.split("///", 1)[1])
    return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())


async def assert_nowhere(api: Api, secret: str) -> None:
    assert secret not in await database_text(api)
    assert secret.encode() not in database_files(api)


async def test_a_replayed_feed_url_is_not_kept_in_plaintext(api: Api) -> None:
    url = f"/api/v1/calendars/{api.a.calendar_id}/feed"
    first = await api.call("POST", url, headers={"Idempotency-Key": "feed-1"})
    assert first.status_code == 200, first.text
    token = first.json()["url"].rsplit("/", 1)[1].removesuffix(".ics")
    again = await api.call("POST", url, headers={"Idempotency-Key": "feed-1"})
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    await assert_nowhere(api, token)


async def test_a_replayed_webhook_secret_is_not_kept_in_plaintext(api: Api) -> None:
    first = await api.call("POST", "/api/v1/webhooks", json=HOOK, headers={"Idempotency-Key": "w"})
    assert first.status_code == 201, first.text
    secret = first.json()["secret"]
    assert secret.startswith("whsec_")
    again = await api.call("POST", "/api/v1/webhooks", json=HOOK, headers={"Idempotency-Key": "w"})
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    await assert_nowhere(api, secret)


async def test_an_answer_sealed_with_another_key_is_a_409(api: Api) -> None:
    """An instance with another secret key (a misconfigured one, or after the key changed)
    cannot open the answer: a clear 409 asking for a new key, never the work done twice."""
    url = f"/api/v1/calendars/{api.a.calendar_id}/feed"
    first = await api.call("POST", url, headers={"Idempotency-Key": "feed-k"})
    assert first.status_code == 200
    other = Fernet(Fernet.generate_key()).encrypt(first.content)
    await api.runtime.db.write(
        lambda c: c.execute(
            t.idempotency_keys.update()
            .where(t.idempotency_keys.c.key == "feed-k")
            .values(body=other)
        )
    )
    again = await api.call("POST", url, headers={"Idempotency-Key": "feed-k"})
    assert again.status_code == 409
    assert again.json()["type"] == "errors/conflict"
    assert "cannot be read with this secret key" in again.json()["detail"]
    feed = first.json()["url"].split("/feeds/", 1)[1]
    assert (await api.client.get(f"/feeds/{feed}")).status_code == 200  # not rotated again
