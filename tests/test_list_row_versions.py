"""LOCAL lists remember events by (id, version, updated_at) and their answers by object
(issue 14): a list selects only what orders and names each row, and reads whole rows only for
events it has not decoded before. Whatever it remembers, every list answers the bytes a fresh
calgate answers: after changes made here, by another calgate on the same database, to an
event's notice alone, and on both stores."""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Connection

from calgate.api.app import create_app
from calgate.api.wire import event_query
from calgate.outbox import notices
from calgate.providers.local import MAX_SERIES_PER_QUERY, _bare_listed, bounds_of
from calgate.runtime import Runtime
from calgate.settings import Settings
from calgate.store import bare
from calgate.store import events as store
from calgate.store.db import now_us
from calgate.store.rows import RowVersions
from tests.conftest import Api
from tests.test_store_bare_reads import LIST_PARAMS

pytestmark = pytest.mark.anyio

WEEK = {"start": "2026-03-02T00:00:00Z", "end": "2026-03-09T00:00:00Z", "limit": "100"}


def timed(i: int, **more: Any) -> dict[str, Any]:
    day, hour = 2 + i % 6, 8 + i % 9
    return {
        "title": f"Meeting {i}",
        "start": {"date_time": f"2026-03-{day:02d}T{hour:02d}:00:00", "time_zone": "Europe/Paris"},
        "end": {
            "date_time": f"2026-03-{day:02d}T{hour + 1:02d}:00:00",
            "time_zone": "Europe/Paris",
        },
        "attendees": [{"email": "ada@example.org", "display_name": "Ada"}],
        **more,
    }


@pytest.fixture
async def other(api: Api, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A second calgate on the same database (its own runtime: pools, writer, memories)."""
    runtime = Runtime.build(settings)
    await runtime.start()
    try:
        app = create_app(settings, runtime)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://two.test") as client:
            yield client
    finally:
        await runtime.aclose()


async def fresh_answer(api: Api, settings: Settings, params: dict[str, str]) -> bytes:
    """The list as a calgate that remembers nothing answers it (FastAPI's route)."""
    runtime = Runtime.build(settings.model_copy(update={"fast_routes": False}))
    await runtime.start()
    try:
        app = create_app(settings.model_copy(update={"fast_routes": False}), runtime)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://fresh.test") as client:
            r = await client.get(
                api.events_url(),
                params={"account_id": api.a.account_id, **params},
                headers={"X-API-KEY": api.a.key},
            )
    finally:
        await runtime.aclose()
    assert r.status_code == 200, r.text
    return r.content


async def listed(api: Api, params: dict[str, str] = WEEK) -> bytes:
    r = await api.call("GET", api.events_url(), params=params)
    assert r.status_code == 200, r.text
    return r.content


async def test_changes_by_another_calgate_show_in_the_next_list(
    api: Api, settings: Settings, other: httpx.AsyncClient
) -> None:
    ids = [await api.create(timed(i)) for i in range(12)]
    before = await listed(api)
    assert await listed(api) == before  # remembered: the same bytes again
    url = f"{api.events_url()}/{{}}"
    query = {"account_id": api.a.account_id}
    headers = {"X-API-KEY": api.a.key}
    # Another calgate edits one event, moves another out of the week, deletes a third and
    # makes a new one.
    for method, event_id, body in (
        ("PATCH", ids[0], {"title": "Renamed elsewhere"}),
        (
            "PATCH",
            ids[1],
            timed(1) | {"start": {"date": "2026-04-01"}, "end": {"date": "2026-04-02"}},
        ),
        ("DELETE", ids[2], None),
    ):
        r = await other.request(
            method, url.format(event_id), params=query, headers=headers, json=body
        )
        assert r.status_code == 200, r.text
    r = await other.post(api.events_url(), params=query, headers=headers, json=timed(3))
    assert r.status_code == 200, r.text
    made = r.json()["event_id"]
    after = await listed(api)
    assert after != before
    titles = {e["id"]: e["title"] for e in httpx.Response(200, content=after).json()["data"]}
    assert titles[ids[0]] == "Renamed elsewhere"
    assert ids[1] not in titles and ids[2] not in titles and made in titles
    assert after == await fresh_answer(api, settings, WEEK)


async def test_every_edit_shows_at_once(api: Api, settings: Settings) -> None:
    ids = [await api.create(timed(i)) for i in range(5)]
    for round_ in range(4):
        await listed(api)
        r = await api.call(
            "PATCH",
            f"{api.events_url()}/{ids[round_]}",
            json={"title": f"Edit {round_}", "location": f"Room {round_}"},
        )
        assert r.status_code == 200, r.text
        answer = await listed(api)
        event = next(
            e for e in httpx.Response(200, content=answer).json()["data"] if e["id"] == ids[round_]
        )
        assert (event["title"], event["location"]) == (f"Edit {round_}", f"Room {round_}")
    for params in (WEEK, {"limit": "2"}, {"title": "edit"}):
        assert await listed(api, params) == await fresh_answer(api, settings, params)


def notifications(answer: bytes) -> dict[str, str]:
    """Each listed event's notification state."""
    return {e["id"]: e["notifications"] for e in httpx.Response(200, content=answer).json()["data"]}


async def noticed(api: Api, event_id: str, change_id: str, state: str) -> bytes:
    """The week listed after a notice of ``event_id`` is written straight to the store (the
    event's row unchanged)."""

    def op(conn: Connection) -> None:
        notices.put(conn, api.a.account_id, event_id, change_id, state, now_us())

    await api.runtime.db.write(op)
    return await listed(api)


async def test_a_notice_alone_changes_the_answer(api: Api, settings: Settings) -> None:
    """The notification state is not in the event's row: a notice written without changing
    the event shows in the next list all the same."""
    ids = [await api.create(timed(i)) for i in range(3)]
    first = await listed(api)
    assert notifications(first)[ids[1]] != "forced_by_provider"
    for change_id, state in (("c-1", "forced_by_provider"), ("c-2", "failed")):
        answer = await noticed(api, ids[1], change_id, state)
        assert notifications(answer)[ids[1]] == state
        assert answer == await fresh_answer(api, settings, WEEK)
    assert await noticed(api, ids[1], "c-3", "none") == first


async def test_a_list_reads_whole_rows_only_for_events_it_does_not_know(api: Api) -> None:
    """The plan's statements, run on a plain sqlite3 connection: the second list of the same
    week reads no whole row; after an edit, only the edited event's."""
    if not api.runtime.db.is_sqlite:
        pytest.skip("counts the statements on a plain sqlite3 connection")
    ids = [await api.create(timed(i)) for i in range(6)]
    conn = sqlite3.connect(api.runtime.db.url.split("///", 1)[-1])
    account, cal = api.a.account_id, api.a.calendar_id
    q = event_query({name: WEEK.get(name) for name in LIST_PARAMS})
    known = RowVersions()
    seen: list[str] = []

    def execute(statement: bare.Statement, values: dict[str, Any]) -> bare.Rows:
        seen.append(statement.sqlite)
        return conn.execute(statement.sqlite, statement.args(values, False)).fetchall()

    def read() -> Any:
        seen.clear()
        return bare.run(_bare_listed(account, cal, q, None, known), execute)

    def whole_rows() -> int:
        return sum("events.data" in sql for sql in seen)

    page, _ = read()
    assert [e.id for e in page.items] and whole_rows() == 1 and len(known) == 6
    again, _ = read()
    assert whole_rows() == 0
    assert all(a is b for a, b in zip(again.items, page.items, strict=True))
    r = await api.call("PATCH", f"{api.events_url()}/{ids[3]}", json={"title": "Moved on"})
    assert r.status_code == 200, r.text
    edited, _ = read()
    assert whole_rows() == 1
    changed = [e for e, old in zip(edited.items, page.items, strict=True) if e is not old]
    assert [(e.id, e.fields.title) for e in changed] == [(ids[3], "Moved on")]
    conn.close()


async def test_too_many_series_in_a_window_is_refused_as_before(
    api: Api, settings: Settings
) -> None:
    """A list reads single events and series in one statement: more than
    MAX_SERIES_PER_QUERY series overlapping the window is still a 400, the same on both paths;
    as many as that is a list."""
    series = await api.create(timed(0, recurrence=["RRULE:FREQ=DAILY"]))
    cal = api.a.calendar_id
    master = await api.runtime.db.read(lambda c: store.get_event(c, cal, series))
    assert master is not None
    copies = [
        dataclasses.replace(master, id=f"{series}-{i}", ical_uid=f"{series}-{i}@calgate")
        for i in range(MAX_SERIES_PER_QUERY - 1)
    ]
    await api.runtime.db.write(
        lambda c: store.insert_events(c, ((e, bounds_of(e.fields)) for e in copies))
    )
    await api.create(timed(1))
    window = {"start": "2026-03-02T00:00:00Z", "end": "2026-03-03T00:00:00Z", "limit": "3"}
    exactly = await listed(api, window)
    assert len(httpx.Response(200, content=exactly).json()["data"]) == 3
    assert exactly == await fresh_answer(api, settings, window)
    await api.create(timed(6, recurrence=["RRULE:FREQ=DAILY"]))  # 2026-03-02 as well
    r = await api.call("GET", api.events_url(), params=window)
    assert r.status_code == 400, r.text
    assert "recurring series overlap" in r.json()["detail"]
    # An expanded list (read on the bare driver) is refused alike, before it reads (and
    # remembers) any of those series whole.
    remembered = api.runtime.providers.table["LOCAL"].rows  # type: ignore[attr-defined]
    before = len(remembered)
    r = await api.call("GET", api.events_url(), params={**window, "expand_recurring": "true"})
    assert r.status_code == 400, r.text
    assert "recurring series overlap" in r.json()["detail"]
    assert len(remembered) == before
