"""A long expanded page is encoded in a recurrence worker thread, not on the event loop
(:func:`calgate.api.event_json.encoded_apart`), on v1 and v2: the same answer either way."""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

import orjson
import pytest

from calgate.api.event_json import ENCODED_APART, EventJSON, encoded_apart, list_of
from calgate.api.v2.wire import event_to_v2
from calgate.api.wire import event_to_wire
from calgate.domain.model import Event
from tests.conftest import Api
from tests.test_event_json import _event

pytestmark = pytest.mark.anyio

DAILY: dict[str, Any] = {
    "title": "Daily",
    "start": {"date_time": "2026-03-01T09:00:00", "time_zone": "Europe/Paris"},
    "end": {"date_time": "2026-03-01T09:30:00", "time_zone": "Europe/Paris"},
    "recurrence": ["RRULE:FREQ=DAILY"],
}
WINDOW = {
    "start": "2026-03-01T00:00:00Z",
    "end": "2027-03-01T00:00:00Z",
    "expand_recurring": "true",
}


async def test_encoded_apart_is_each_events_bytes_made_in_a_worker_thread() -> None:
    memory = EventJSON()
    events = [dataclasses.replace(_event(), id=f"evt_{n}") for n in range(60)]
    threads: set[str] = set()

    def to_wire(event: Event) -> dict[str, Any]:
        threads.add(threading.current_thread().name)
        return event_to_wire(event)

    parts = await encoded_apart(events, to_wire, "tenant-1")
    assert threads and all(name.startswith("calgate-recurrence") for name in threads), threads
    assert len(memory) == 0
    assert list_of(parts, "cursor") == memory.listed(events, "cursor")
    assert [orjson.loads(part) for part in parts] == [event_to_wire(e) for e in events]
    v2 = await encoded_apart(events, event_to_v2, "tenant-1")
    assert [orjson.loads(part) for part in v2] == [event_to_v2(e) for e in events]


async def _pages(api: Api, url: str, limit: int) -> tuple[list[bytes], list[Any]]:
    bodies: list[bytes] = []
    data: list[Any] = []
    cursor = None
    while True:
        params = {**WINDOW, "limit": str(limit), **({"cursor": cursor} if cursor else {})}
        r = await api.call("GET", url, params=params)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "application/json"
        bodies.append(r.content)
        page = r.json()
        data.extend(page["data"])
        cursor = page["next_cursor"]
        if cursor is None or len(data) >= 2 * ENCODED_APART:
            return bodies, data[: 2 * ENCODED_APART]


@pytest.mark.parametrize("surface", ["v1", "v2"])
async def test_a_long_expanded_page_answers_as_short_pages_do(api: Api, surface: str) -> None:
    await api.create(DAILY)
    url = (
        api.events_url()
        if surface == "v1"
        else f"/v2/{api.a.account_id}/calendars/{api.a.calendar_id}/events"
    )
    long_bodies, long_data = await _pages(api, url, 2 * ENCODED_APART)
    short_bodies, short_data = await _pages(api, url, ENCODED_APART - 1)
    assert len(long_bodies) == 1 and len(short_bodies) == 3
    assert long_data == short_data
    assert len({orjson.dumps(occurrence) for occurrence in long_data}) == 2 * ENCODED_APART
    # The bytes are orjson's compact encoding of the answer, as the short pages' are.
    for body in (*long_bodies, *short_bodies):
        assert orjson.dumps(orjson.loads(body)) == body
    assert list(orjson.loads(long_bodies[0])) == list(orjson.loads(short_bodies[0]))
