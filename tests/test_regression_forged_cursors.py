"""Regression: a forged cursor with a huge position was a 500 (SQLite ``OverflowError``,
PostgreSQL ``DataError``) on event lists, expanded lists and webhook deliveries. Cursors are now
signed with a key derived from the server's secret: a forged or altered cursor is a 400 naming
``cursor``, and the cursors calgate hands out still page."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tests.conftest import Api

pytestmark = pytest.mark.anyio

HUGE = 10**30


def forged(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def tampered(cursor: str) -> str:
    """The same cursor with one character of its position changed."""
    first = "B" if cursor[0] != "B" else "C"
    return first + cursor[1:]


def assert_names_cursor(r: Any) -> None:
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["type"] == "errors/invalid_parameters"
    assert body["detail"].startswith("cursor:"), body


async def make_events(api: Api, count: int) -> None:
    for day in range(1, count + 1):
        await api.create(
            {
                "title": f"Day {day}",
                "start": {"date": f"2026-06-{day:02d}"},
                "end": {"date": f"2026-06-{day + 1:02d}"},
            }
        )


@pytest.mark.parametrize("position", [HUGE, -HUGE, 2**63, -(2**63) - 1])
@pytest.mark.parametrize("expand", [False, True])
async def test_a_forged_event_cursor_is_400(api: Api, position: int, expand: bool) -> None:
    params: dict[str, Any] = {"cursor": forged(f"{position}:x")}
    if expand:
        params |= {"expand_recurring": "true", "start": "2026-01-01T00:00:00Z",
                   "end": "2027-01-01T00:00:00Z"}  # fmt: skip
    r = await api.call("GET", api.events_url(), params=params)
    assert_names_cursor(r)


async def test_cursors_page_and_a_tampered_one_is_400(api: Api) -> None:
    await make_events(api, 3)
    r = await api.call("GET", api.events_url(), params={"limit": "2"})
    assert r.status_code == 200, r.text
    cursor = r.json()["next_cursor"]
    assert cursor
    r = await api.call("GET", api.events_url(), params={"limit": "2", "cursor": cursor})
    assert r.status_code == 200, r.text
    assert [e["title"] for e in r.json()["data"]] == ["Day 3"]

    assert_names_cursor(
        await api.call("GET", api.events_url(), params={"limit": "2", "cursor": tampered(cursor)})
    )
    # A cursor is not a position anyone can write: the old plain form is refused too.
    assert_names_cursor(await api.call("GET", api.events_url(), params={"cursor": forged("0:a")}))


async def test_a_forged_calendar_list_cursor_is_400(api: Api) -> None:
    r = await api.call("GET", "/api/v1/calendars", params={"cursor": forged(f"{HUGE}:c")})
    assert_names_cursor(r)


async def test_a_forged_delivery_cursor_is_400(api: Api) -> None:
    hook = {
        "source": "calendar_event",
        "request_url": "https://hooks.example.org/calgate",
        "events": ["calendar_event_created"],
    }
    r = await api.call("POST", "/api/v1/webhooks", json=hook)
    assert r.status_code == 201, r.text
    url = f"/api/v1/webhooks/{r.json()['webhook_id']}/deliveries"
    for position in (HUGE, 2**63):
        assert_names_cursor(await api.call("GET", url, params={"cursor": forged(f"{position}:d")}))
    await make_events(api, 3)
    r = await api.call("GET", url, params={"limit": "1"})
    assert r.status_code == 200, r.text
    cursor = r.json()["cursor"]
    assert cursor
    r = await api.call("GET", url, params={"limit": "1", "cursor": cursor})
    assert r.status_code == 200, r.text
    assert len(r.json()["items"]) == 1
    assert_names_cursor(await api.call("GET", url, params={"cursor": tampered(cursor)}))


@pytest.mark.parametrize(
    ("url", "body"),
    [
        ("/api/v1/accounts", {"provider": "LOCAL", "name": "Another"}),
        ("/api/v1/webhooks", {"source": "calendar_event",
                              "request_url": "https://hooks.example.org/calgate"}),
    ],
    ids=["accounts", "webhooks"],
)  # fmt: skip
async def test_account_and_webhook_list_cursors_are_signed(
    api: Api, url: str, body: dict[str, Any]
) -> None:
    for _ in range(3):
        r = await api.call("POST", url, json=body)
        assert r.status_code == 201, r.text
    r = await api.call("GET", url, params={"limit": "1"})
    assert r.status_code == 200, r.text
    first, cursor = r.json()["items"][0]["id"], r.json()["cursor"]
    assert cursor and first not in cursor
    r = await api.call("GET", url, params={"limit": "1", "cursor": cursor})
    assert r.status_code == 200, r.text
    assert r.json()["items"][0]["id"] > first
    assert_names_cursor(await api.call("GET", url, params={"cursor": first}))
    assert_names_cursor(await api.call("GET", url, params={"cursor": tampered(cursor)}))
