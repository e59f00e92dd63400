"""Issue 13, item 8 (LOCAL): the answer of a keyed event change is written in the transaction
of the change itself, so that no crash can leave the change made and its key unanswered; and a
change whose key was taken over by a retry meanwhile is not made (its transaction rolls back).

These tests drive the service with the key context the middleware sets (no middleware, so no
answer stored after the fact): what the database holds when the service returns is what the
transaction wrote."""

from __future__ import annotations

from collections.abc import Mapping

import orjson
import pytest

from calgate.api.schemas import EventCreate
from calgate.api.wire import fields_from_create
from calgate.errors import Conflict
from calgate.store import idempotency as store
from calgate.store.db import now_us
from tests.conftest import Api
from tests.test_idempotency import BODY, count_events

pytestmark = pytest.mark.anyio


def answer(kind: str, event_id: str, extra: Mapping[str, str]) -> store.Answer:
    body = orjson.dumps({"kind": kind, "event_id": event_id})
    return 200, [("content-type", "application/json")], body


async def claimed(api: Api, key: str, owner: str) -> store.Active:
    now = now_us()
    claim = await api.runtime.db.write(
        lambda c: store.claim(
            c,
            api.a.id,
            key,
            fingerprint="f" * 64,
            request="POST /events",
            owner=owner,
            now=now,
            lease_until=now + 60_000_000,
        )
    )
    assert isinstance(claim, store.Claim)
    return store.Active(api.a.id, key, owner, "f" * 64, claim.since, now + 10**9, answer)


async def test_the_answer_is_committed_with_the_change(api: Api) -> None:
    active = await claimed(api, "k-tx", "me")
    token = store.current.set(active)
    try:
        event = await api.runtime.events.create(
            api.a.id, api.a.account_id, api.a.calendar_id, fields_from_create(EventCreate(**BODY))
        )
        await api.runtime.events.delete(api.a.id, api.a.account_id, api.a.calendar_id, event.id)
    finally:
        store.current.reset(token)
    assert event.id == active.event_id
    row = await api.runtime.db.read(lambda c: store.get(c, api.a.id, "k-tx", now_us()))
    assert row is not None and row.status == 200
    # The last change made under the key is the one whose answer is kept.
    assert orjson.loads(row.body) == {"kind": "deleted", "event_id": event.id}


async def test_a_change_whose_key_was_taken_over_is_not_made(api: Api) -> None:
    await claimed(api, "k-taken", "retry")  # the retry holds the key now
    late = store.Active(api.a.id, "k-taken", "first", "f" * 64, 0, now_us() + 10**9, answer)
    token = store.current.set(late)
    try:
        with pytest.raises(Conflict, match="took this key over"):
            await api.runtime.events.create(
                api.a.id,
                api.a.account_id,
                api.a.calendar_id,
                fields_from_create(EventCreate(**BODY)),
            )
    finally:
        store.current.reset(token)
    assert await count_events(api) == 0


async def test_a_create_repeated_under_its_key_finds_its_event(api: Api) -> None:
    """An attempt that outlived its lease meets the event its retry made: same id, no second
    event, no 404."""
    active = await claimed(api, "k-twice", "me")
    fields = fields_from_create(EventCreate(**BODY))
    token = store.current.set(active)
    try:
        first = await api.runtime.events.create(
            api.a.id, api.a.account_id, api.a.calendar_id, fields
        )
        second = await api.runtime.events.create(
            api.a.id, api.a.account_id, api.a.calendar_id, fields
        )
    finally:
        store.current.reset(token)
    assert second.id == first.id == active.event_id
    assert await count_events(api) == 1


async def test_purging_keeps_abandoned_keys_for_their_retry(api: Api) -> None:
    """Expired answers go; a key abandoned by a dead process stays (for a day) so that its
    retry takes it over with the same first claim time, hence the same event id."""
    first = await claimed(api, "k-dead", "dead")
    gone = await claimed(api, "k-done", "me")
    await api.runtime.db.write(
        lambda c: store.finish(
            c, api.a.id, "k-done", owner="me", status=200, headers=[], body=b"", expires_at=1
        )
    )
    later = now_us() + 120_000_000  # both past their lease or time to live
    purged = await api.runtime.db.write(lambda c: store.purge_expired(c, later, 86_400 * 10**6))
    assert purged == 1
    retry = await api.runtime.db.write(
        lambda c: store.claim(
            c,
            api.a.id,
            "k-dead",
            fingerprint="f" * 64,
            request="POST /events",
            owner="retry",
            now=later,
            lease_until=later + 60_000_000,
        )
    )
    assert retry == store.Claim(first.since)
    assert gone.since
