"""Tenant isolation over every route: tenant B, with its own valid key, names tenant A's ids
and gets 404, and nothing of A's changes.

The routes are walked from ``app.routes`` (tests/routekit.py), so a new route is covered the
day it is added: if it takes an id this file does not know how to make for tenant A, or a body
it does not know, the test for it fails and says what to add.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from calgate.store import tables as t
from tests.conftest import Api
from tests.routekit import Operation, operations

pytestmark = pytest.mark.anyio

EVENT: dict[str, Any] = {
    "title": "A's secret meeting",
    "body": "Only for tenant A",
    "start": {"date_time": "2026-02-02T10:00:00", "time_zone": "Europe/Paris"},
    "end": {"date_time": "2026-02-02T11:00:00", "time_zone": "Europe/Paris"},
    "attendees": [{"email": "ada@example.org"}],
}
ICS = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
    "UID:planted@example.org\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260301T100000Z\r\n"
    "DTEND:20260301T110000Z\r\nSUMMARY:Planted by B\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)

REPLY = (
    "From: ada@example.org\r\nTo: organizer@example.org\r\nSubject: Declined\r\n"
    "MIME-Version: 1.0\r\nContent-Type: text/calendar; method=REPLY; charset=utf-8\r\n\r\n"
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nMETHOD:REPLY\r\nBEGIN:VEVENT\r\n"
    "UID:{ical_uid}\r\nDTSTAMP:20260101T000000Z\r\nSEQUENCE:0\r\n"
    "ATTENDEE;PARTSTAT=DECLINED:mailto:ada@example.org\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)

# A valid body for each route that takes one: a 400 must never hide a missing ownership check.
BODIES: dict[str, dict[str, Any]] = {
    "POST /api/v1/accounts": {"json": {"provider": "LOCAL", "name": "B's second"}},
    "POST /api/v1/calendars": {"json": {"name": "Planted by B"}},
    "POST /api/v1/calendars/{calendar_id}/events": {"json": {**EVENT, "title": "Planted"}},
    "PATCH /api/v1/calendars/{calendar_id}/events/{event_id}": {"json": {"title": "Taken"}},
    "PATCH /api/v1/calendars/{calendar_id}": {"json": {"name": "Taken"}},
    # The body of a DELETE is optional (only an account_id, as some Unipile clients send it).
    "DELETE /api/v1/calendars/{calendar_id}": {},
    "DELETE /api/v1/calendars/{calendar_id}/events/{event_id}": {},
    "POST /api/v1/calendars/{calendar_id}/ics": {
        "content": ICS.encode(),
        "headers": {"content-type": "text/calendar"},
    },
    "POST /api/v1/webhooks": {
        "json": {
            "source": "calendar_event",
            "request_url": "https://hooks.example.org/b",
            "account_ids": ["{account_id}"],
        }
    },
    "POST /api/v1/calendars/free_busy": {
        "json": {
            "start": "2026-02-01T00:00:00Z",
            "end": "2026-02-08T00:00:00Z",
            "calendars": [{"account_id": "{account_id}"}],
        }
    },
    "POST /api/v1/calendars/availability": {
        "json": {
            "start": "2026-02-02T00:00:00Z",
            "end": "2026-02-03T00:00:00Z",
            "duration_minutes": 30,
            "participants": [{"account_id": "{account_id}"}],
        }
    },
    "POST /api/v1/calendars/{calendar_id}/events/{event_id}/rsvp": {"json": {"status": "no"}},
    # B mails in the attendee's answer to A's event (its UID filled in by send()).
    "POST /api/v1/inbound/mail": {
        "content": REPLY,
        "headers": {"content-type": "message/rfc822"},
    },
    "POST /api/v1/hosted/accounts/link": {
        "json": {
            "type": "create",
            "providers": ["GOOGLE"],
            "api_url": "https://calgate.example.org",
            "expiresOn": "2099-01-01T00:00:00.000Z",
        }
    },
}
# Routes that do not take an API key: they are reached by a secret of their own (a feed token,
# an OAuth state), covered by their own tests. The push routes name no tenant's data: Google
# and Microsoft post only a channel's (subscription's) id and its secret token, checked against
# the watch calgate made, and answer nothing but a status (tests/test_push.py).
PUBLIC = {
    "GET /feeds/{token}.ics",
    "GET /api/v1/hosted/accounts/callback",
    "POST /api/v1/push/google",
    "POST /api/v1/push/microsoft",
    "POST /api/v1/push/microsoft/lifecycle",
}
# Ids tenant A's resources are named by.
KNOWN_IDS = ("account_id", "calendar_id", "event_id", "webhook_id", "delivery_id")

OPERATIONS = [op for op in operations("/api/") if op.id not in PUBLIC]


async def owned_by_a(api: Api) -> dict[str, str]:
    """One of each of tenant A's resources, made through the API."""
    ids = {"account_id": api.a.account_id, "calendar_id": api.a.calendar_id}
    ids["event_id"] = await api.create(EVENT)
    ids["ical_uid"] = (await api.get(ids["event_id"]))["ical_uid"]
    if any(op.id == "POST /api/v1/webhooks" for op in OPERATIONS):
        hook = await api.call(
            "POST",
            "/api/v1/webhooks",
            json={
                "source": "calendar_event",
                "request_url": "https://hooks.example.org/a",
                "name": "A's hook",
            },
        )
        assert hook.status_code == 201, hook.text
        ids["webhook_id"] = hook.json()["webhook_id"]
        await api.create({**EVENT, "title": "Fires the hook"})
        listed = await api.call("GET", f"/api/v1/webhooks/{ids['webhook_id']}/deliveries")
        assert listed.status_code == 200, listed.text
        ids["delivery_id"] = listed.json()["items"][0]["id"]
    return ids


async def snapshot(api: Api) -> set[tuple[Any, ...]]:
    def op(conn: Any) -> set[tuple[Any, ...]]:
        rows: set[tuple[Any, ...]] = set()
        for table in t.metadata.sorted_tables:
            for row in conn.execute(select(table)):
                rows.add((table.name, *(repr(v) for v in row)))
        return rows

    return await api.runtime.db.read(op)


def variants(op: Operation, a: dict[str, str], b: dict[str, str]) -> list[dict[str, str]]:
    """The ids B sends: all of A's; then B's own account (and calendar) with A's deeper ids."""
    names = set(op.path_params) | ({"account_id"} & set(op.query_params))
    unknown = names - set(KNOWN_IDS)
    if unknown:
        pytest.fail(
            f"{op.id}: test_isolation does not know how to make tenant A's {sorted(unknown)}; "
            "add it to owned_by_a()"
        )
    found = [{n: a[n] for n in names}]
    if "account_id" in names and names & {"calendar_id", "event_id"}:
        found.append({**found[0], "account_id": b["account_id"]})
    if "event_id" in names:
        found.append({**found[0], "account_id": b["account_id"], "calendar_id": b["calendar_id"]})
    return found


async def send(api: Api, op: Operation, ids: dict[str, str], a: dict[str, str]) -> httpx.Response:
    path = op.path
    for name, value in ids.items():
        path = path.replace("{" + name + "}", value)
    params = {"account_id": ids["account_id"]} if "account_id" in op.query_params else {}
    extra: dict[str, Any] = {}
    if op.takes_body:
        if op.id not in BODIES:
            pytest.fail(f"{op.id}: add a valid body for it to BODIES in test_isolation")
        extra = dict(BODIES[op.id])
        if "json" in extra:
            extra["json"] = _fill(extra["json"], a)
        if isinstance(extra.get("content"), str):
            extra["content"] = extra["content"].replace("{ical_uid}", a["ical_uid"]).encode()
    headers = {"X-API-KEY": api.b.key, **extra.pop("headers", {})}
    return await api.client.request(op.method, path, params=params, headers=headers, **extra)


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str) and value.startswith("{") and value.strip("{}") in ids:
        return ids[value.strip("{}")]
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


@pytest.mark.parametrize("op", OPERATIONS, ids=[op.id for op in OPERATIONS])
async def test_another_tenant_gets_404_and_changes_nothing(api: Api, op: Operation) -> None:
    a = await owned_by_a(api)
    b = {"account_id": api.b.account_id, "calendar_id": api.b.calendar_id}
    a_ids = set(a.values()) | {api.a.id}
    before = await snapshot(api)
    names_a = set(op.path_params) | ({"account_id"} & set(op.query_params))
    body_names_a = op.id in BODIES and any(
        "{" in str(v) for v in BODIES[op.id].get("json", {}).values()
    )
    if names_a:
        for ids in variants(op, a, b):
            r = await send(api, op, ids, a)
            assert r.status_code == 404, f"{op.id} with {ids}: {r.status_code} {r.text}"
            assert r.json()["type"] in (
                "errors/resource_not_found",
                "errors/invalid_resource_identifier",
            )
            assert not r.json()["detail"].startswith("no route"), r.text
    else:
        r = await send(api, op, {}, a)
        if body_names_a:
            # The body names A's resources (a webhook on A's account): refused exactly as an
            # id that does not exist, so that B learns nothing of A's ids.
            made_up = {k: "0" * len(v) for k, v in a.items()}
            control = await send(api, op, {}, made_up)
            assert r.status_code in (400, 404), f"{op.id}: {r.status_code} {r.text}"
            assert (r.status_code, r.json()["type"]) == (
                control.status_code,
                control.json()["type"],
            )
            assert r.json()["detail"].replace(a["account_id"], "?") == control.json()[
                "detail"
            ].replace(made_up["account_id"], "?")
        else:
            assert r.status_code < 500, f"{op.id}: {r.status_code} {r.text}"
            # A refusal may name what B sent (A's UID, made from A's event id) but nothing more.
            text = r.text.replace(a["ical_uid"], "?")
            leaked = [i for i in a_ids if i in text]
            assert not leaked, f"{op.id} shows tenant A's ids {leaked} to tenant B"
    after = await snapshot(api)
    assert before - after == set(), f"{op.id} changed or removed tenant A's rows"
    for row in after - before:
        assert not a_ids & {v.strip("'") for v in row[1:]}, f"{op.id} wrote {row[0]} for A"
    # And A still sees its own things, unchanged.
    event = await api.get(a["event_id"])
    assert event["title"] == EVENT["title"]


def test_every_authenticated_route_is_covered() -> None:
    """The walk found the routes (a router left out of the walk would silently pass)."""
    found = {op.id for op in OPERATIONS}
    assert {
        "GET /api/v1/accounts/{account_id}",
        "DELETE /api/v1/accounts/{account_id}",
        "GET /api/v1/calendars/{calendar_id}",
        "PATCH /api/v1/calendars/{calendar_id}/events/{event_id}",
        "DELETE /api/v1/calendars/{calendar_id}/events/{event_id}",
    } <= found
    assert all(op.authenticated for op in OPERATIONS), [
        op.id for op in OPERATIONS if not op.authenticated
    ]
