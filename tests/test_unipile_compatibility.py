"""Every row of docs/unipile-compatibility.md, checked through the real app (LOCAL account):
each Unipile v1 parameter, field and header is honoured, or refused by name. The table and the
checks must name the same rows."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Api

pytestmark = pytest.mark.anyio

DOC = Path(__file__).parent.parent / "docs" / "unipile-compatibility.md"
ROW = re.compile(r"^\| ([^|]+?) \| (`[^|]+?`|every create field) \| (\w+) \|", re.M)
TABLE = [f"{m[1]} / {m[2].replace('`', '')} / {m[3]}" for m in ROW.finditer(DOC.read_text())]

ALPHA = {
    "title": "Alpha",
    "body": "first notes",
    "location": "Room 1",
    "transparency": "opaque",
    "attendees": [{"email": "ada@example.org"}],
    "start": {"date_time": "2026-06-01T09:00:00Z"},
    "end": {"date_time": "2026-06-01T10:00:00Z"},
}
BETA = {
    "title": "Beta",
    "body": "second",
    "location": "Room 2",
    "transparency": "transparent",
    "attendees": [{"email": "bob@example.org"}],
    "recurrence": ["RRULE:FREQ=DAILY;COUNT=2"],
    "start": {"date_time": "2026-06-03T09:00:00Z"},
    "end": {"date_time": "2026-06-03T10:00:00Z"},
}


class Ctx:
    def __init__(self, api: Api) -> None:
        self.api = api

    @property
    def events(self) -> str:
        return self.api.events_url()

    async def setup(self) -> None:
        self.alpha = await self.api.create(ALPHA)
        self.beta = await self.api.create(BETA)

    async def titles(self, **params: str) -> list[str]:
        r = await self.api.call("GET", self.events, params=params)
        assert r.status_code == 200, r.text
        return [e["title"] for e in r.json()["data"]]

    async def read(self, event_id: str) -> dict[str, Any]:
        return await self.api.get(event_id)

    async def made(self, **fields: Any) -> dict[str, Any]:
        """An event created with ``fields`` over ALPHA, read back."""
        return await self.read(await self.api.create({**ALPHA, **fields}))

    async def refused(self, r: httpx.Response, name: str, status: int = 400) -> None:
        assert r.status_code == status, r.text
        assert r.json()["detail"].startswith(name), r.text


Check = Callable[[Ctx], Awaitable[None]]
CHECKS: dict[str, Check] = {}


def check(key: str) -> Callable[[Check], Check]:
    def add(fn: Check) -> Check:
        CHECKS[key] = fn
        return fn

    return add


@check("every route / X-API-KEY / header")
async def _key(c: Ctx) -> None:
    r = await c.api.client.get(c.events, params={"account_id": c.api.a.account_id})
    assert r.status_code == 401 and r.json()["type"] == "errors/missing_credentials"


@check("every route / accept, content-type / header")
async def _json(c: Ctx) -> None:
    headers = {"accept": "application/json", "content-type": "application/json"}
    r = await c.api.call(
        "POST",
        c.events,
        content=b'{"title": "T", "start": {"date": "2026-06-01"}, "end": {"date": "2026-06-02"}}',
        headers=headers,
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")


@check("POST/PATCH/DELETE event / Idempotency-Key / header")
async def _idempotency(c: Ctx) -> None:
    headers = {"Idempotency-Key": "compat-1"}
    first = await c.api.call("POST", c.events, json=ALPHA, headers=headers)
    again = await c.api.call("POST", c.events, json=ALPHA, headers=headers)
    assert first.json()["event_id"] == again.json()["event_id"]


@check("PATCH event / If-Match / header")
async def _if_match(c: Ctx) -> None:
    r = await c.api.call(
        "PATCH", f"{c.events}/{c.alpha}", json={"title": "x"}, headers={"If-Match": "999"}
    )
    assert r.status_code == 409, r.text


@check("create event / account_id / query")
async def _account_query(c: Ctx) -> None:
    r = await c.api.call("POST", c.events, json=ALPHA, account_id=c.api.b.account_id)
    assert r.status_code == 404, r.text  # another tenant's account is not found


@check("create event / account_id / body")
async def _account_body(c: Ctx) -> None:
    r = await c.api.call("POST", c.events, json={**ALPHA, "account_id": c.api.b.account_id})
    await c.refused(r, "account_id")
    r = await c.api.client.post(
        c.events,
        json={**ALPHA, "account_id": c.api.a.account_id},
        headers={"X-API-KEY": c.api.a.key},
    )
    assert r.status_code == 200, r.text


@check("create event / calendar_id / body")
async def _calendar_body(c: Ctx) -> None:
    r = await c.api.call("POST", c.events, json={**ALPHA, "calendar_id": "elsewhere"})
    await c.refused(r, "calendar_id")


@check("create event / title / body")
async def _title(c: Ctx) -> None:
    assert (await c.read(c.alpha))["title"] == "Alpha"
    r = await c.api.call("POST", c.events, json={k: v for k, v in ALPHA.items() if k != "title"})
    await c.refused(r, "title")


def _read_back(field: str, value: Any) -> Check:
    async def run(c: Ctx) -> None:
        assert (await c.made(**{field: value}))[field] == value

    return run


for _field, _value in (
    ("body", "Agenda"),
    ("location", "Room 9"),
    ("transparency", "transparent"),
    ("visibility", "private"),
    ("is_attendees_list_hidden", True),
    ("recurrence", ["RRULE:FREQ=WEEKLY;COUNT=3"]),
    ("color", "#D50000"),
    ("guests_can_modify", True),
):
    check(f"create event / {_field} / body")(_read_back(_field, _value))


@check("create event / start / body")
async def _start(c: Ctx) -> None:
    event = await c.made(
        start={"date_time": "2026-06-01T11:00:00", "time_zone": "Europe/Paris"},
        end={"date_time": "2026-06-01T12:00:00", "time_zone": "Europe/Paris"},
    )
    assert event["start"] == {"date_time": "2026-06-01T11:00:00+02:00", "time_zone": "Europe/Paris"}


@check("create event / end / body")
async def _end(c: Ctx) -> None:
    r = await c.api.call("POST", c.events, json={**ALPHA, "end": ALPHA["start"]})
    await c.refused(r, "end")


@check("create event / is_all_day / body")
async def _is_all_day(c: Ctx) -> None:
    r = await c.api.call("POST", c.events, json={**ALPHA, "is_all_day": True})
    await c.refused(r, "is_all_day")


@check("create event / conference / body")
async def _conference(c: Ctx) -> None:
    link = {"provider": "zoom", "url": "https://zoom.example.org/j/1", "conference_id": "1"}
    assert (await c.made(conference=link))["conference"] == link


@check("create event / attendees / body")
async def _attendees(c: Ctx) -> None:
    event = await c.made(attendees=[{"email": "zed@example.org", "is_optional": True}])
    assert [(a["email"], a["is_optional"]) for a in event["attendees"]] == [
        ("zed@example.org", True)
    ]


@check("create event / notify / body")
async def _notify(c: Ctx) -> None:
    event = await c.made(notify=True)
    assert event["notifications"] in ("queued", "sent", "failed"), event["notifications"]


@check("edit event / account_id / body")
async def _edit_account(c: Ctx) -> None:
    r = await c.api.call(
        "PATCH", f"{c.events}/{c.alpha}", json={"account_id": c.api.b.account_id, "title": "x"}
    )
    await c.refused(r, "account_id")


@check("edit event / every create field / body")
async def _edit_fields(c: Ctx) -> None:
    r = await c.api.call("PATCH", f"{c.events}/{c.alpha}", json={"location": "Room 7"})
    assert r.status_code == 200, r.text
    event = await c.read(c.alpha)
    assert (event["location"], event["title"]) == ("Room 7", "Alpha")


@check("edit event / is_all_day / body")
async def _edit_all_day(c: Ctx) -> None:
    r = await c.api.call("PATCH", f"{c.events}/{c.alpha}", json={"is_all_day": True})
    await c.refused(r, "is_all_day")


def _filters(params: dict[str, str], expected: list[str]) -> Check:
    async def run(c: Ctx) -> None:
        assert await c.titles(**params) == expected

    return run


WINDOW = {"start": "2026-05-01T00:00:00Z", "end": "2026-07-01T00:00:00Z"}
for _name, _params, _expected in (
    ("start", {"start": "2026-06-02T00:00:00Z"}, ["Beta"]),
    ("end", {"end": "2026-06-02T00:00:00Z"}, ["Alpha"]),
    ("expand_recurring", {**WINDOW, "expand_recurring": "true"}, ["Alpha", "Beta", "Beta"]),
    ("updated_before", {"updated_before": "2000-01-01T00:00:00Z"}, []),
    ("busy", {"busy": "true"}, ["Alpha"]),
    ("title", {"title": "bet"}, ["Beta"]),
    ("location", {"location": "room 1"}, ["Alpha"]),
    ("description", {"description": "SECOND"}, ["Beta"]),
    ("attendees", {"attendees": "bob@example.org,zed@example.org"}, ["Beta"]),
    ("is_cancelled", {"is_cancelled": "true"}, []),
    ("event_type", {"event_type": "outOfOffice"}, []),
    ("limit", {"limit": "1"}, ["Alpha"]),
    ("offset", {"offset": "1"}, ["Beta"]),
):
    check(f"list events / {_name} / query")(_filters(_params, _expected))


@check("list events / account_id / query")
async def _list_account(c: Ctx) -> None:
    r = await c.api.call("GET", c.events, account_id=c.api.b.account_id)
    assert r.status_code == 404, r.text


@check("list events / updated_after / query")
async def _updated_after(c: Ctx) -> None:
    assert await c.titles(updated_after="2000-01-01T00:00:00Z") == ["Alpha", "Beta"]
    assert await c.titles(updated_after="2100-01-01T00:00:00Z") == []


@check("list events / ical_uid / query")
async def _ical_uid(c: Ctx) -> None:
    uid = (await c.read(c.beta))["ical_uid"]
    assert await c.titles(ical_uid=uid) == ["Beta"]


@check("list events / cursor / query")
async def _cursor(c: Ctx) -> None:
    r = await c.api.call("GET", c.events, params={"limit": "1"})
    assert await c.titles(cursor=r.json()["next_cursor"]) == ["Beta"]


@check("get event / account_id / query")
async def _get_account(c: Ctx) -> None:
    r = await c.api.call("GET", f"{c.events}/{c.alpha}", account_id=c.api.b.account_id)
    assert r.status_code == 404, r.text


@check("delete event / account_id / query")
async def _delete_account(c: Ctx) -> None:
    r = await c.api.call("DELETE", f"{c.events}/{c.alpha}", account_id=c.api.b.account_id)
    assert r.status_code == 404, r.text
    r = await c.api.call("DELETE", f"{c.events}/{c.alpha}")
    assert r.status_code == 200 and await c.titles() == ["Beta"]


@check("delete event / account_id / body")
async def _delete_body(c: Ctx) -> None:
    url = f"{c.events}/{c.alpha}"
    headers = {"X-API-KEY": c.api.a.key}
    r = await c.api.client.request("DELETE", url, json={"account_id": "x"}, headers=headers)
    await c.refused(r, "account 'x'", 404)  # the body named an unknown account
    r = await c.api.client.request(
        "DELETE", url, json={"account_id": c.api.a.account_id}, headers=headers
    )
    assert r.status_code == 200 and await c.titles() == ["Beta"]


async def _calendars(c: Ctx, **params: str) -> list[str]:
    r = await c.api.call("GET", "/api/v1/calendars", params=params)
    assert r.status_code == 200, r.text
    return [cal["name"] for cal in r.json()["data"]]


@check("list calendars / account_id / query")
async def _calendars_account(c: Ctx) -> None:
    r = await c.api.call("GET", "/api/v1/calendars", account_id=c.api.b.account_id)
    assert r.status_code == 404, r.text  # another tenant's account
    r = await c.api.call("GET", "/api/v1/calendars")
    assert r.json()["data"][0]["id"] == c.api.a.calendar_id


@check("list calendars / limit / query")
async def _calendars_limit(c: Ctx) -> None:
    await c.api.call("POST", "/api/v1/calendars", json={"name": "Second"})
    assert len(await _calendars(c, limit="1")) == 1


@check("list calendars / cursor / query")
async def _calendars_cursor(c: Ctx) -> None:
    await c.api.call("POST", "/api/v1/calendars", json={"name": "Second"})
    r = await c.api.call("GET", "/api/v1/calendars", params={"limit": "1"})
    assert await _calendars(c, cursor=r.json()["next_cursor"]) == ["Second"]


@check("list calendars / offset / query")
async def _calendars_offset(c: Ctx) -> None:
    await c.api.call("POST", "/api/v1/calendars", json={"name": "Second"})
    assert await _calendars(c, offset="1") == ["Second"]


@check("get calendar / account_id / query")
async def _calendar_account(c: Ctx) -> None:
    url = f"/api/v1/calendars/{c.api.a.calendar_id}"
    r = await c.api.call("GET", url, account_id=c.api.b.account_id)
    assert r.status_code == 404, r.text


CALENDAR = {"name": "Team", "description": "d", "background_color": "#0B8043",
            "timezone": "Asia/Tokyo"}  # fmt: skip


@check("create calendar / name, description, background_color, timezone / body")
async def _calendar_create(c: Ctx) -> None:
    r = await c.api.call("POST", "/api/v1/calendars", json=CALENDAR)
    r = await c.api.call("GET", f"/api/v1/calendars/{r.json()['calendar_id']}")
    assert {k: r.json()[k] for k in CALENDAR} == CALENDAR


@check("edit calendar / name, description, background_color, timezone / body")
async def _calendar_edit(c: Ctx) -> None:
    url = f"/api/v1/calendars/{c.api.a.calendar_id}"
    r = await c.api.call("PATCH", url, json=CALENDAR)
    assert {k: r.json()[k] for k in CALENDAR} == CALENDAR


async def _accounts(c: Ctx, **params: str) -> httpx.Response:
    r = await c.api.call("GET", "/api/v1/accounts", params=params)
    assert r.status_code == 200, r.text
    return r


@check("list accounts / limit / query")
async def _accounts_limit(c: Ctx) -> None:
    await c.api.call("POST", "/api/v1/accounts", json={"provider": "LOCAL", "name": "Two"})
    assert len((await _accounts(c, limit="1")).json()["items"]) == 1


@check("list accounts / cursor / query")
async def _accounts_cursor(c: Ctx) -> None:
    await c.api.call("POST", "/api/v1/accounts", json={"provider": "LOCAL", "name": "Two"})
    first = await _accounts(c, limit="1")
    rest = await _accounts(c, cursor=first.json()["cursor"])
    assert len(rest.json()["items"]) == 1


@check("list accounts / offset / query")
async def _accounts_offset(c: Ctx) -> None:
    await c.api.call("POST", "/api/v1/accounts", json={"provider": "LOCAL", "name": "Two"})
    every = [a["id"] for a in (await _accounts(c)).json()["items"]]
    assert [a["id"] for a in (await _accounts(c, offset="1")).json()["items"]] == every[1:]


def test_every_row_has_a_check_and_every_check_a_row() -> None:
    assert len(TABLE) == len(set(TABLE)), "a row is listed twice"
    assert sorted(TABLE) == sorted(CHECKS)


@pytest.mark.parametrize("row", TABLE)
async def test_row(api: Api, row: str) -> None:
    ctx = Ctx(api)
    await ctx.setup()
    await CHECKS[row](ctx)
