"""The LOCAL reads on the bare driver (``calgate.store.bare``) find what the same reads find
through SQLAlchemy Core: the same events, notification states and cursors, for series,
modified and deleted occurrences, all-day events, attendees, every list filter, cursor walks,
empty pages and missing calendars, on both stores (issue 14)."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import orjson
import pytest
from sqlalchemy import insert
from sqlalchemy.engine import Connection

from calgate.api.event_json import event_json
from calgate.api.wire import event_query, event_to_wire
from calgate.domain.model import Event, Page
from calgate.errors import CalgateError
from calgate.mail import NotificationStates
from calgate.outbox import notices
from calgate.providers.base import AccountContext
from calgate.providers.local import LocalProvider
from calgate.store import bare
from calgate.store import events as store
from calgate.store import tables as t
from calgate.store.db import now_us
from tests.conftest import SEED_BODY, Api, offload_as

pytestmark = pytest.mark.anyio

LIST_PARAMS = (  # the list route's query parameters (calgate.api.routes.events)
    "start",
    "end",
    "expand_recurring",
    "updated_after",
    "updated_before",
    "busy",
    "title",
    "location",
    "description",
    "ical_uid",
    "attendees",
    "is_cancelled",
    "event_type",
    "cursor",
    "offset",
    "limit",
)


def timed(day: int, hour: int, hours: int = 1, **more: Any) -> dict[str, Any]:
    return {
        "start": {"date_time": f"2026-03-{day:02d}T{hour:02d}:00:00", "time_zone": "UTC"},
        "end": {"date_time": f"2026-03-{day:02d}T{hour + hours:02d}:00:00", "time_zone": "UTC"},
        **more,
    }


async def seed(api: Api) -> dict[str, str]:
    """Events of every kind in tenant A's calendar, some with notices; name -> id."""
    ids: dict[str, str] = {}
    ids["seed"] = await api.create(SEED_BODY)
    ids["plain"] = await api.create(timed(3, 9, title="Standup", location="Room 50%_a/b"))
    ids["free"] = await api.create(timed(3, 9, title="Focus", transparency="transparent"))
    ids["invited"] = await api.create(
        timed(
            4,
            10,
            title="Café review",
            body="Über die Zahlen",
            attendees=[
                {"email": "Ada@Example.org", "display_name": "Ada"},
                {"email": "bob@example.org", "optional": True},
            ],
            notify=True,
        )
    )
    ids["all_day"] = await api.create(
        {"title": "Holiday", "start": {"date": "2026-03-05"}, "end": {"date": "2026-03-06"}}
    )
    ids["long"] = await api.create(
        {
            "title": "Conference",
            "start": {"date_time": "2026-02-20T08:00:00", "time_zone": "Europe/Paris"},
            "end": {"date_time": "2026-03-04T18:00:00", "time_zone": "Europe/Paris"},
        }
    )
    ids["series"] = series = await api.create(
        timed(2, 7, title="Daily", recurrence=["RRULE:FREQ=DAILY;COUNT=20"])
    )
    ids["open_series"] = await api.create(
        timed(1, 12, title="Weekly lunch", recurrence=["RRULE:FREQ=WEEKLY"])
    )
    for i in range(6):
        ids[f"filler{i}"] = await api.create(timed(6, 8 + i, title=f"Slot {i}"))
    # A modified occurrence (a stored event of the series) and a deleted one (an EXDATE).
    listed = await api.call(
        "GET",
        api.events_url(),
        params={
            "expand_recurring": "true",
            "start": "2026-03-02T00:00:00Z",
            "end": "2026-03-05T00:00:00Z",
            "limit": "250",
        },
    )
    occurrences = [e["id"] for e in listed.json()["data"] if e["id"].startswith(f"{series}_")]
    ids["exception"] = occurrences[1]
    r = await api.call(
        "PATCH", f"{api.events_url()}/{occurrences[1]}", json={"title": "Daily, moved"}
    )
    assert r.status_code == 200, r.text
    r = await api.call("DELETE", f"{api.events_url()}/{occurrences[2]}")
    assert r.status_code == 200, r.text
    return ids


async def queued_notices(api: Api, ids: dict[str, str]) -> None:
    """Notices of every state, two of them queued with mail deliveries under way."""
    account, now = api.a.account_id, now_us()

    def op(conn: Connection) -> None:
        conn.execute(insert(t.outbox_payloads), {"id": "p1", "data": "{}", "created_at": now})
        for i, status in enumerate(("pending", "delivered", "failed", "delivered")):
            change = "c-pending" if i == 0 else "c-done"
            conn.execute(
                insert(t.outbox),
                {
                    "id": f"d{i}",
                    "tenant_id": api.a.id,
                    "account_id": account,
                    "channel": "mail",
                    "target": f"x{i}@example.org",
                    "topic": "REQUEST",
                    "change_id": change,
                    "event_id": ids["plain"],
                    "payload_id": "p1",
                    "data": "{}",
                    "status": status,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "last_error": "",
                    "created_at": now,
                    "updated_at": now,
                },
            )
        notices.put(conn, account, ids["plain"], "c-pending", "queued", now)
        notices.put(conn, account, ids["free"], "c-done", "queued", now)
        notices.put(conn, account, ids["series"], "c-series", "sent", now)
        notices.put(conn, account, ids["filler0"], "c-f", "forced_by_provider", now)

    await api.runtime.db.write(op)


@dataclasses.dataclass
class Pair:
    """The same reads through Core (``core``) and on the bare driver (``fast``)."""

    account: AccountContext
    core: LocalProvider
    fast: LocalProvider
    seen: set[type] = dataclasses.field(default_factory=set)  # what annotations read on

    def annotate(self, conn: bare.ReadOn, events: list[Event]) -> list[Event]:
        self.seen.add(type(conn))
        return NotificationStates()(conn, self.account, events)

    async def get(self, provider: LocalProvider, calendar_id: str, event_id: str) -> Any:
        def then(conn: bare.ReadOn, found: Event) -> Event:
            return self.annotate(conn, [found])[0]

        try:
            return await provider.get_event_then(self.account, calendar_id, event_id, then)
        except CalgateError as exc:
            return type(exc), str(exc)

    async def list(self, provider: LocalProvider, calendar_id: str, params: dict[str, str]) -> Any:
        query = event_query({name: params.get(name) for name in LIST_PARAMS})

        def then(conn: bare.ReadOn, page: Page[Event]) -> Page[Event]:
            return dataclasses.replace(page, items=self.annotate(conn, page.items))

        try:
            return await provider.list_events_then(self.account, calendar_id, query, then)
        except CalgateError as exc:
            return type(exc), str(exc)


async def pair(api: Api) -> Pair:
    account = await api.runtime.accounts.usable(api.a.id, api.a.account_id)
    pair = Pair(
        account, LocalProvider(api.runtime.db, bare_reads=False), LocalProvider(api.runtime.db)
    )
    for provider in (pair.core, pair.fast):  # both know the calendar is the account's
        await pair.list(provider, api.a.calendar_id, {"limit": "1"})
    return pair


def wire(found: Any) -> Any:
    """What the API would answer (the event's JSON), or the error."""
    if isinstance(found, Event):
        return orjson.loads(event_json(found))
    if isinstance(found, Page):
        return [orjson.loads(event_json(e)) for e in found.items], found.next_cursor
    return found


async def test_gets_match(api: Api) -> None:
    ids = await seed(api)
    await queued_notices(api, ids)
    p = await pair(api)
    cal = api.a.calendar_id
    series = ids["series"]
    wanted = [*ids.values(), f"{series}_20260303T070000Z", "nope", f"{series}_20990101T000000Z"]
    states = set()
    for event_id in wanted:
        core = await p.get(p.core, cal, event_id)
        p.seen.clear()
        fast = await p.get(p.fast, cal, event_id)
        if event_id in ids.values():  # stored: the bare read found it
            assert p.seen == {bare.ReadNotices}
        assert fast == core, event_id
        assert wire(fast) == wire(core), event_id
        if isinstance(fast, Event):
            states.add(fast.notifications)
    assert {"queued", "sent", "failed", "forced_by_provider", "none"} <= states
    # Another account's calendar, and one that is not there: the same errors.
    for calendar_id in (api.b.calendar_id, "missing"):
        assert await p.get(p.fast, calendar_id, ids["plain"]) == await p.get(
            p.core, calendar_id, ids["plain"]
        )


async def test_get_plan_reads_the_stored_row(api: Api) -> None:
    """The plan's row decodes to the very event Core's read decodes (every stored kind)."""
    ids = await seed(api)
    db, cal, account = api.runtime.db, api.a.calendar_id, api.a.account_id
    for event_id in ids.values():
        core = await db.read(lambda c, i=event_id: store.get_event(c, cal, i))
        found = await db.read_bare(bare.get_event(account, cal, event_id))
        assert core is not None and found is not None
        event, read = found
        assert event == core
        assert read.ids >= {event_id}
    assert await db.read_bare(bare.get_event(account, cal, "nope")) is None
    assert await db.read_bare(bare.get_event(account, api.b.calendar_id, ids["plain"])) is None


LISTS: list[dict[str, str]] = [
    {},
    {"limit": "250"},
    {"start": "2026-03-02T00:00:00Z", "end": "2026-03-09T00:00:00Z"},
    {"start": "2026-03-04T00:00:00Z"},
    {"end": "2026-03-04T00:00:00Z"},
    {"start": "2026-03-05T12:00:00Z", "end": "2026-03-05T13:00:00Z"},
    {"start": "2030-01-01T00:00:00Z", "end": "2030-01-08T00:00:00Z"},  # series only
    {"start": "1990-01-01T00:00:00Z", "end": "1990-01-08T00:00:00Z"},  # empty
    {"busy": "true"},
    {"busy": "false"},
    {"is_cancelled": "false"},
    {"is_cancelled": "true"},
    {"title": "daily"},
    {"title": "SLOT"},
    {"location": "50%_a/b"},
    {"location": "%"},
    {"location": "_"},
    {"location": "/"},
    {"description": "über"},
    {"title": "cafe"},
    {"attendees": "ADA@example.org"},
    {"attendees": "nobody@example.org,bob@example.org"},
    {"attendees": "nobody@example.org"},
    {"updated_after": "2000-01-01T00:00:00Z"},
    {"updated_before": "2000-01-01T00:00:00Z"},
    {"updated_before": "2100-01-01T00:00:00Z", "updated_after": "2000-01-01T00:00:00Z"},
    {"start": "2026-03-02T00:00:00Z", "busy": "true", "title": "s", "limit": "3"},
    {"offset": "3", "limit": "4"},
]


async def test_lists_match(api: Api) -> None:
    ids = await seed(api)
    await queued_notices(api, ids)
    p = await pair(api)
    cal = api.a.calendar_id
    ical_uid = (await api.get(ids["plain"]))["ical_uid"]
    nonempty = 0
    for params in [*LISTS, {"ical_uid": ical_uid}]:
        core = await p.list(p.core, cal, params)
        p.seen.clear()
        fast = await p.list(p.fast, cal, params)
        assert p.seen == {bare.ReadNotices}
        assert wire(fast) == wire(core), params
        assert fast == core, params
        nonempty += bool(isinstance(fast, Page) and fast.items)
    assert nonempty > 20
    # Another account's calendar, and one that is not there: the same errors.
    for calendar_id in (api.b.calendar_id, "missing"):
        for provider in (p.core, p.fast):
            provider.owners[calendar_id] = p.account.id  # known, then gone: checked again
        core = await p.list(p.core, calendar_id, {})
        assert await p.list(p.fast, calendar_id, {}) == core
        assert isinstance(core, tuple)


@pytest.mark.parametrize("limit", ["1", "2", "5"])
async def test_cursor_walks_match(api: Api, limit: str) -> None:
    await seed(api)
    p = await pair(api)
    cal = api.a.calendar_id
    for window in ({}, {"start": "2026-03-01T00:00:00Z", "end": "2026-03-08T00:00:00Z"}):
        pages: dict[str, list[Any]] = {}
        for name, provider in (("core", p.core), ("fast", p.fast)):
            params: dict[str, str] = {**window, "limit": limit}
            while True:
                page = await p.list(provider, cal, params)
                pages.setdefault(name, []).append(wire(page))
                if page.next_cursor is None:
                    break
                params = {**params, "cursor": page.next_cursor}
        assert pages["fast"] == pages["core"]
        assert sum(len(items) for items, _ in pages["fast"]) >= 10


async def test_cancelled_reads_leave_the_connections_usable(api: Api) -> None:
    """Reads cancelled at any point (a client gone) leave no connection in a transaction:
    the reads after them, bare and through Core, see a fresh commit."""
    ids = await seed(api)
    db, cal, account = api.runtime.db, api.a.calendar_id, api.a.account_id
    for delay in (0, 0.0005, 0.001, 0.002, 0.005):
        tasks = [
            asyncio.create_task(db.read_bare(bare.get_event(account, cal, ids["plain"])))
            for _ in range(8)
        ]
        await asyncio.sleep(delay)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    r = await api.call("PATCH", f"{api.events_url()}/{ids['plain']}", json={"title": "Renamed"})
    assert r.status_code == 200, r.text
    for _ in range(12):
        found = await db.read_bare(bare.get_event(account, cal, ids["plain"]))
        assert found is not None and found[0].fields.title == "Renamed"
        core = await db.read(lambda c: store.get_event(c, cal, ids["plain"]))
        assert core is not None and core.fields.title == "Renamed"


@pytest.mark.parametrize("extra", [0, 700])  # 700: more ids than one statement asks for
async def test_notices_of_events_read_elsewhere_match_core(api: Api, extra: int) -> None:
    """The notices a provider's events are annotated from (``bare.notices``: their ids, some
    with a notice, some without, other accounts' aside) give the states Core gives."""
    ids = await seed(api)
    await queued_notices(api, ids)
    account, now = api.a.account_id, now_us()
    many = [f"remote-{i}" for i in range(extra)]

    def more(conn: Connection) -> None:
        for i, event_id in enumerate(many[::3]):
            notices.put(conn, account, event_id, f"c-r{i}", "sent", now)
        notices.put(conn, api.b.account_id, ids["plain"], "c-other", "failed", now)

    await api.runtime.db.write(more)
    asked = [*ids.values(), *many, "no-such-event"]
    core = await api.runtime.db.read(lambda c: notices.states(c, account, asked))
    read = await api.runtime.db.read_bare(bare.notices(account, asked))
    assert notices.states(read, account, asked) == core
    assert core[ids["plain"]] == "queued" and core[ids["free"]] == "failed"
    assert sum(1 for i in many if core.get(i) == "sent") == len(many[::3])


EXPANDED: list[dict[str, str]] = [
    *({**params, "expand_recurring": "true"} for params in LISTS),
    {"expand_recurring": "true", "start": "2026-04-01T00:00:00Z", "end": "2026-05-01T00:00:00Z"},
]


async def moved_away(api: Api, series: str) -> str:
    """An occurrence of ``series`` moved to April, after the series' end (its row is listed
    there without its series)."""
    moved = f"{series}_20260310T070000Z"
    r = await api.call(
        "PATCH",
        f"{api.events_url()}/{moved}",
        json={
            "start": {"date_time": "2026-04-15T07:00:00Z"},
            "end": {"date_time": "2026-04-15T08:00:00Z"},
        },
    )
    assert r.status_code == 200, r.text
    return moved


async def test_expanded_lists_match(api: Api) -> None:
    """An expanded list reads its rows on the bare driver (``bare.expansion``) once the
    calendar is known: the same pages as through Core, for every filter, window and cursor,
    with the same errors for calendars not the account's."""
    ids = await seed(api)
    await queued_notices(api, ids)
    await moved_away(api, ids["series"])
    p = await pair(api)
    cal = api.a.calendar_id
    occurrences = 0
    for params in EXPANDED:
        core = await p.list(p.core, cal, params)
        fast = await p.list(p.fast, cal, params)
        assert wire(fast) == wire(core), params
        assert fast == core, params
        if isinstance(fast, Page):
            occurrences += sum(1 for e in fast.items if e.id.startswith(f"{ids['series']}_"))
    assert occurrences > 40
    april = await p.list(p.fast, cal, EXPANDED[-1])
    assert [e.fields.title for e in april.items].count("Daily") == 1  # moved, alone in April
    for limit in ("1", "3"):
        for name in ("core", "fast"):
            provider, params = getattr(p, name), {**EXPANDED[2], "limit": limit}
            walked = []
            while True:
                page = await p.list(provider, cal, params)
                walked.append(wire(page))
                if page.next_cursor is None:
                    break
                params = {**params, "cursor": page.next_cursor}
            if name == "core":
                core_walk = walked
        assert walked == core_walk and len(walked) > 5
    for calendar_id in (api.b.calendar_id, "missing"):
        for provider in (p.core, p.fast):
            provider.owners[calendar_id] = p.account.id  # known, then gone: checked again
        core = await p.list(p.core, calendar_id, EXPANDED[0])
        assert await p.list(p.fast, calendar_id, EXPANDED[0]) == core
        assert isinstance(core, tuple)


async def test_expanded_pages_made_apart_match(api: Api) -> None:
    """The page made in the worker processes from the bare read (its notices included: of
    the series, of single events, of a stored occurrence, of a moved occurrence's series
    listed without it) is the page made from Core's read."""
    ids = await seed(api)
    await queued_notices(api, ids)
    moved = await moved_away(api, ids["series"])
    account = api.a.account_id

    def own(conn: Connection) -> None:  # a stored occurrence with a notice of its own
        notices.put(conn, account, ids["exception"], "c-exception", "sent", now_us())

    await api.runtime.db.write(own)
    p = await pair(api)
    cal = api.a.calendar_id
    note = NotificationStates().note(p.account)

    def spied(on: bare.ReadOn, event_ids: set[str]) -> Any:
        p.seen.add(type(on))
        return note(on, event_ids)

    seen: dict[str, str] = {}
    with offload_as(2, 2):
        for params in [*EXPANDED[:8], EXPANDED[-1]]:
            query = event_query({name: params.get(name) for name in LIST_PARAMS})
            pages = []
            for provider in (p.core, p.fast):
                p.seen.clear()
                page = await provider.list_events_encoded(
                    p.account, cal, query, event_to_wire, [spied]
                )
                assert page is not None and page.encoded is not None
                pages.append((page.encoded, page.next_cursor))
            assert p.seen == {bare.ReadNotices}  # the fast one's rows: read on the bare driver
            assert pages[0] == pages[1], params
            april = {e["id"]: e["notifications"] for e in map(orjson.loads, pages[1][0])}
            seen |= april
    assert moved in april  # without its series, whose notice the read reads all the same
    assert seen[f"{ids['series']}_20260305T070000Z"] == "sent"  # a generated occurrence
    assert seen[ids["exception"]] == "sent"  # a stored one, its own
    assert seen[ids["free"]] == "failed" and seen[ids["plain"]] == "queued"


async def test_stored_occurrences_are_found_by_their_series(api: Api) -> None:
    """The stored occurrences of an expanded list's series are read through the series index
    (``ix_events_master``), not by scanning the calendar (SQLite plans without statistics:
    asked for the calendar too, it took the calendar's index)."""
    if not api.runtime.db.is_sqlite:
        pytest.skip("SQLite's planner")
    statement = bare._stored_of(4)
    values = {f"b_m{i}": f"series-{i}" for i in range(4)}
    values |= {"b_account": api.a.account_id, "b_calendar": api.a.calendar_id}

    def plan(conn: Connection) -> list[Any]:
        query = "EXPLAIN QUERY PLAN " + statement.sqlite
        return list(conn.exec_driver_sql(query, statement.args(values, False)))

    steps = " ".join(str(row[-1]) for row in await api.runtime.db.read(plan))
    assert "SEARCH events USING INDEX ix_events_master" in steps, steps
