"""GOOGLE_OAUTH: cancelled occurrences and deleted events in Google's lists (issue 12, item 1).

Google's ``events.list`` returns cancelled occurrences of a series even without
``showDeleted`` when ``singleEvents`` is false, with only ``id``, ``recurringEventId`` and
``originalStartTime``; with ``updatedMin`` or ``showDeleted`` deleted events come with only
their id. The test server answers so; calgate must read them and never fail on them.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api
from tests.googlekit import G, url
from tests.oauth_env import (  # noqa: F401 - fixtures
    Fakes,
    connect,
    fakes_fixture,
    oauth_runtime,
    oauth_settings,
)

pytestmark = pytest.mark.anyio

WINDOW = {"start": "2026-02-01T00:00:00Z", "end": "2026-02-10T00:00:00Z"}


async def daily_series(api: Api, fakes: Fakes, account: str) -> str:
    body: dict[str, Any] = {
        "title": "Daily",
        "recurrence": ["RRULE:FREQ=DAILY;COUNT=5"],
        "start": {"date_time": "2026-02-02T09:00:00", "time_zone": "UTC"},
        "end": {"date_time": "2026-02-02T09:15:00", "time_zone": "UTC"},
    }
    r = await api.call("POST", url(fakes), account_id=account, json=body)
    assert r.status_code == 200, r.text
    event_id: str = r.json()["event_id"]
    return event_id


async def listed(api: Api, fakes: Fakes, account: str, **params: str) -> list[dict[str, Any]]:
    r = await api.call("GET", url(fakes), account_id=account, params={**WINDOW, **params})
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["data"]
    return items


async def test_deleted_occurrences_read_as_exdates_of_their_series(api: Api, fakes: Fakes) -> None:
    account = await connect(api, fakes, G)
    series = await daily_series(api, fakes, account)
    r = await api.call("DELETE", url(fakes, f"{series}_20260203T090000Z"), account_id=account)
    assert r.status_code == 200, r.text
    # Someone deletes another occurrence in Google Calendar itself.
    fakes.google.cancel(fakes.google.email, f"{series}_20260205T090000Z")

    # Google lists the cancelled occurrences next to the series, with only their ids.
    raw = fakes.google.requests
    items = await listed(api, fakes, account)
    answer = [r for r in raw.find("GET", "/calendar/v3/calendars/") if r.query.get("timeMin")]
    assert "singleEvents" not in answer[-1].query
    assert [i["id"] for i in items] == [series]
    assert items[0]["recurrence"] == [
        "RRULE:FREQ=DAILY;COUNT=5",
        "EXDATE:20260203T090000Z,20260205T090000Z",
    ]

    # Read alone, the series shows both too.
    r = await api.call("GET", url(fakes, series), account_id=account)
    assert r.status_code == 200, r.text
    assert r.json()["recurrence"] == items[0]["recurrence"]

    expanded = await listed(api, fakes, account, expand_recurring="true")
    assert [i["id"] for i in expanded] == [
        f"{series}_20260202T090000Z",
        f"{series}_20260204T090000Z",
        f"{series}_20260206T090000Z",
    ]
    # Asking for cancelled events: the bare cancelled occurrence cannot be read, it is left
    # out; nothing fails.
    cancelled = await listed(api, fakes, account, expand_recurring="true", is_cancelled="true")
    assert cancelled == []


async def test_a_changed_occurrence_is_not_a_second_item_of_a_series_list(
    api: Api, fakes: Fakes
) -> None:
    account = await connect(api, fakes, G)
    series = await daily_series(api, fakes, account)
    occurrence = f"{series}_20260204T090000Z"
    r = await api.call("PATCH", url(fakes, occurrence), account_id=account, json={"title": "Moved"})
    assert r.status_code == 200, r.text
    assert [i["id"] for i in await listed(api, fakes, account)] == [series]
    expanded = await listed(api, fakes, account, expand_recurring="true")
    assert [i["title"] for i in expanded] == ["Daily", "Daily", "Moved", "Daily", "Daily"]


async def test_deleted_events_in_lists_since_a_time_do_not_fail(api: Api, fakes: Fakes) -> None:
    account = await connect(api, fakes, G)
    body = {
        "title": "Once",
        "start": {"date_time": "2026-02-03T10:00:00Z", "time_zone": "UTC"},
        "end": {"date_time": "2026-02-03T11:00:00Z", "time_zone": "UTC"},
    }
    gone = (await api.call("POST", url(fakes), account_id=account, json=body)).json()["event_id"]
    kept = (await api.call("POST", url(fakes), account_id=account, json=body)).json()["event_id"]
    fakes.google.cancel(fakes.google.email, gone)
    # updatedMin: Google always includes the deleted entry, with only its id.
    since = await listed(api, fakes, account, updated_after="2000-01-01T00:00:00Z")
    assert [i["id"] for i in since] == [kept]
    assert await listed(api, fakes, account, is_cancelled="true") == []
    assert [i["id"] for i in await listed(api, fakes, account)] == [kept]
