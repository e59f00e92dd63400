"""Idempotency-Key on POST, PATCH and DELETE through the real app and database."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from sqlalchemy import func, select

from calgate.api.middleware.idempotency import answer_sealer
from calgate.settings import Settings
from calgate.store import idempotency as store
from calgate.store import tables as t
from calgate.store.db import now_us
from tests.conftest import Api

pytestmark = pytest.mark.anyio

BODY: dict[str, Any] = {
    "title": "Standup",
    "start": {"date_time": "2026-03-02T09:00:00", "time_zone": "Europe/Paris"},
    "end": {"date_time": "2026-03-02T09:15:00", "time_zone": "Europe/Paris"},
}


WAIT = 3.0


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path,
        sqlite_synchronous="NORMAL",
        # Long enough that twelve racing requests on a loaded machine all get their replay;
        # the "still in progress" test below waits this long once.
        idempotency_wait_seconds=WAIT,
    )


async def count_events(api: Api, calendar_id: str | None = None) -> int:
    cal = calendar_id or api.a.calendar_id

    def op(conn: Any) -> int:
        return int(
            conn.execute(
                select(func.count()).select_from(t.events).where(t.events.c.calendar_id == cal)
            ).scalar_one()
        )

    return await api.runtime.db.read(op)


async def count_keys(api: Api) -> int:
    return await api.runtime.db.read(
        lambda c: int(c.execute(select(func.count()).select_from(t.idempotency_keys)).scalar_one())
    )


def key(value: str) -> dict[str, str]:
    return {"Idempotency-Key": value}


async def test_same_key_same_body_replays_without_doing_it_again(api: Api) -> None:
    first = await api.call("POST", api.events_url(), json=BODY, headers=key("k-1"))
    assert first.status_code == 200, first.text
    assert "idempotent-replayed" not in first.headers
    second = await api.call("POST", api.events_url(), json=BODY, headers=key("k-1"))
    assert second.status_code == 200
    assert second.headers["idempotent-replayed"] == "true"
    assert second.json() == first.json()
    assert second.headers["content-type"] == "application/json"
    assert await count_events(api) == 1


async def test_json_key_order_and_query_order_are_the_same_request(api: Api) -> None:
    url = api.events_url()
    body = (
        '{"title":"Standup","start":{"date_time":"2026-03-02T09:00:00","time_zone":'
        '"Europe/Paris"},"end":{"date_time":"2026-03-02T09:15:00","time_zone":"Europe/Paris"}}'
    )
    respaced = (
        '{ "end": {"time_zone": "Europe/Paris", "date_time": "2026-03-02T09:15:00"},\n '
        '"start": {"date_time":"2026-03-02T09:00:00","time_zone":"Europe/Paris"}, '
        '"title": "Standup" }'
    )
    headers = {**key("k-order"), "content-type": "application/json"}
    first = await api.client.post(
        f"{url}?account_id={api.a.account_id}&x=1",
        content=body,
        headers={"X-API-KEY": api.a.key, **headers},
    )
    assert first.status_code == 200, first.text
    again = await api.client.post(
        f"{url}?x=1&account_id={api.a.account_id}",
        content=respaced,
        headers={"X-API-KEY": api.a.key, **headers},
    )
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.json() == first.json()
    assert await count_events(api) == 1


async def test_same_key_other_body_is_a_400_naming_the_conflict(api: Api) -> None:
    ok = await api.call("POST", api.events_url(), json=BODY, headers=key("k-2"))
    assert ok.status_code == 200
    other = await api.call(
        "POST", api.events_url(), json={**BODY, "title": "Other"}, headers=key("k-2")
    )
    assert other.status_code == 400
    error = other.json()
    assert error["type"] == "errors/idempotency_conflict"
    assert error["title"] == "Idempotency key reused with another request"
    assert error["detail"] == (
        "Idempotency-Key 'k-2' was first used with another request (the same route with a "
        "different query or body); use a new key for a new request"
    )
    assert error["instance"] == api.events_url()
    assert await count_events(api) == 1


async def test_same_key_other_route_names_the_first_route(api: Api) -> None:
    ok = await api.call("POST", api.events_url(), json=BODY, headers=key("k-3"))
    event_id = ok.json()["event_id"]
    other = await api.call("DELETE", f"{api.events_url()}/{event_id}", headers=key("k-3"))
    assert other.status_code == 400
    assert f"(POST {api.events_url()} with a different" in other.json()["detail"]
    assert (await api.get(event_id))["title"] == "Standup"


async def test_keys_belong_to_a_tenant(api: Api) -> None:
    a = await api.call("POST", api.events_url(), json=BODY, headers=key("shared"))
    b = await api.call(
        "POST", api.events_url(api.b.calendar_id), json=BODY, headers=key("shared"), tenant=api.b
    )
    assert a.status_code == b.status_code == 200
    assert "idempotent-replayed" not in b.headers
    assert a.json()["event_id"] != b.json()["event_id"]
    assert await count_events(api, api.b.calendar_id) == 1


async def test_patch_and_delete_replay(api: Api) -> None:
    event_id = await api.create(BODY)
    url = f"{api.events_url()}/{event_id}"
    patched = await api.call("PATCH", url, json={"title": "Renamed"}, headers=key("p-1"))
    assert patched.status_code == 200
    version = (await api.get(event_id))["version"]
    again = await api.call("PATCH", url, json={"title": "Renamed"}, headers=key("p-1"))
    assert again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true"
    assert (await api.get(event_id))["version"] == version
    deleted = await api.call("DELETE", url, headers=key("d-1"))
    assert deleted.json() == {"object": "CalendarEventDeleted"}
    replayed = await api.call("DELETE", url, headers=key("d-1"))
    assert replayed.status_code == 200
    assert replayed.json() == {"object": "CalendarEventDeleted"}
    assert replayed.headers["idempotent-replayed"] == "true"
    without_key = await api.call("DELETE", url)
    assert without_key.status_code == 404


async def test_4xx_answers_are_stored_and_replayed(api: Api) -> None:
    url = api.events_url("nocalendar")
    first = await api.call("POST", url, json=BODY, headers=key("k-404"))
    assert first.status_code == 404
    second = await api.call("POST", url, json=BODY, headers=key("k-404"))
    assert second.status_code == 404
    assert second.headers["idempotent-replayed"] == "true"
    assert second.json() == first.json()


async def test_concurrent_requests_with_one_key_make_one_event(api: Api) -> None:
    answers: list[httpx.Response] = []

    async def send() -> None:
        answers.append(await api.call("POST", api.events_url(), json=BODY, headers=key("race")))

    async with anyio.create_task_group() as tg:
        for _ in range(12):
            tg.start_soon(send)
    assert [r.status_code for r in answers] == [200] * 12
    assert len({r.json()["event_id"] for r in answers}) == 1
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in answers) == 11
    assert await count_events(api) == 1


async def test_a_key_in_progress_elsewhere_is_waited_for_then_409(api: Api) -> None:
    """Another instance holds the key (a pending row from another owner): this one waits up
    to idempotency_wait_seconds, answers 409 with Retry-After, and replays once it is done."""
    fp_source = await api.call("POST", api.events_url(), json=BODY, headers=key("probe"))
    fingerprint = await api.runtime.db.read(lambda c: store.get(c, api.a.id, "probe", now_us()))
    assert fingerprint is not None and fp_source.status_code == 200
    now = now_us()
    claimed = await api.runtime.db.write(
        lambda c: store.claim(
            c,
            api.a.id,
            "busy",
            fingerprint=fingerprint.fingerprint,
            request=f"POST {api.events_url()}",
            owner="other-instance",
            now=now,
            lease_until=now + 60_000_000,
        )
    )
    assert isinstance(claimed, store.Claim)
    sealed = answer_sealer(api.runtime.accounts.box).encrypt(
        b'{"object":"CalendarEventCreated","event_id":"from-elsewhere"}'
    )
    started = anyio.current_time()
    busy = await api.call("POST", api.events_url(), json=BODY, headers=key("busy"))
    assert anyio.current_time() - started >= WAIT - 0.05
    assert busy.status_code == 409
    assert busy.json()["type"] == "errors/conflict"
    assert "still in progress" in busy.json()["detail"]
    assert busy.headers["retry-after"] == "1"
    await api.runtime.db.write(
        lambda c: store.finish(
            c,
            api.a.id,
            "busy",
            owner="other-instance",
            status=200,
            headers=[("content-type", "application/json")],
            body=sealed,
            expires_at=now_us() + 60_000_000,
        )
    )
    done = await api.call("POST", api.events_url(), json=BODY, headers=key("busy"))
    assert done.json() == {"object": "CalendarEventCreated", "event_id": "from-elsewhere"}
    assert done.headers["idempotent-replayed"] == "true"
    assert await count_events(api) == 1


async def test_an_abandoned_key_is_taken_over_after_its_lease(api: Api) -> None:
    now = now_us()
    await api.runtime.db.write(
        lambda c: store.claim(
            c,
            api.a.id,
            "dead",
            fingerprint="x" * 64,
            request="POST /elsewhere",
            owner="crashed",
            now=now - 10_000_000,
            lease_until=now - 1,
        )
    )
    r = await api.call("POST", api.events_url(), json=BODY, headers=key("dead"))
    assert r.status_code == 200
    assert "idempotent-replayed" not in r.headers
    assert await count_events(api) == 1


async def test_keys_expire_after_their_ttl(api: Api) -> None:
    first = await api.call("POST", api.events_url(), json=BODY, headers=key("old"))
    # Age the stored answer past its time to live, as a day would.
    await api.runtime.db.write(
        lambda c: c.execute(
            t.idempotency_keys.update()
            .where(t.idempotency_keys.c.key == "old")
            .values(expires_at=now_us() - 1)
        )
    )
    again = await api.call("POST", api.events_url(), json=BODY, headers=key("old"))
    assert again.status_code == 200
    assert "idempotent-replayed" not in again.headers
    assert again.json()["event_id"] != first.json()["event_id"]
    assert await count_events(api) == 2


async def test_ttl_setting_sets_expiry(api: Api) -> None:
    before = now_us()
    await api.call("POST", api.events_url(), json=BODY, headers=key("ttl"))
    row = await api.runtime.db.read(lambda c: store.get(c, api.a.id, "ttl", now_us()))
    assert row is not None and row.status == 200
    day = 86_400 * 1_000_000
    assert before + day <= row.expires_at <= now_us() + day


@pytest.mark.parametrize(
    ("value", "why"),
    [("", "empty"), ("x" * 256, "too long"), ("é-key", "not ASCII"), ("a\tb", "control")],
)
async def test_bad_keys_are_a_400(api: Api, value: str, why: str) -> None:
    r = await api.client.post(
        api.events_url(),
        params={"account_id": api.a.account_id},
        json=BODY,
        headers=[("X-API-KEY", api.a.key), ("Idempotency-Key", value.encode())],  # type: ignore[arg-type]
    )
    assert r.status_code == 400, why
    assert r.json()["type"] == "errors/invalid_parameters"
    assert r.json()["detail"] == ("Idempotency-Key: expected 1 to 255 printable ASCII characters")
    assert await count_events(api) == 0


async def test_longest_key_is_fine(api: Api) -> None:
    r = await api.call("POST", api.events_url(), json=BODY, headers=key("k" * 255))
    assert r.status_code == 200


async def test_without_the_header_nothing_is_stored(api: Api) -> None:
    await api.create(BODY)
    await api.call("GET", api.events_url(), headers=key("ignored-on-get"))
    assert await count_keys(api) == 0


async def test_unauthenticated_requests_are_answered_by_the_app(api: Api) -> None:
    r = await api.client.post(
        api.events_url(), params={"account_id": api.a.account_id}, json=BODY, headers=key("x")
    )
    assert r.status_code == 401
    assert r.json()["type"] == "errors/missing_credentials"
    bad = await api.client.post(
        api.events_url(),
        params={"account_id": api.a.account_id},
        json=BODY,
        headers={"X-API-KEY": "cg_nope", **key("x")},
    )
    assert bad.json()["type"] == "errors/invalid_credentials"
    assert await count_keys(api) == 0


async def test_answers_committed_with_the_change_are_the_routes_answers(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    """LOCAL event routes store their answer in the transaction of their change (so a crash
    cannot separate them); that answer must be exactly what the route answers."""
    with caplog.at_level(logging.WARNING, logger="calgate.idempotency"):
        created = await api.call("POST", api.events_url(), json=BODY, headers=key("tx-c"))
        url = f"{api.events_url()}/{created.json()['event_id']}"
        patched = await api.call("PATCH", url, json={"title": "x"}, headers=key("tx-p"))
        deleted = await api.call("DELETE", url, headers=key("tx-d"))
    assert [r.status_code for r in (created, patched, deleted)] == [200, 200, 200]
    assert [r.message for r in caplog.records] == []
    for name, first in (("tx-c", created), ("tx-p", patched), ("tx-d", deleted)):
        method = first.request.method
        again = await api.call(
            method, str(first.request.url.path), headers=key(name), content=first.request.content
        )
        assert again.headers["idempotent-replayed"] == "true"
        assert again.content == first.content
