"""POST /api/v1/calendars/free_busy and /availability on LOCAL accounts (SQLite and
PostgreSQL): busy merging, series with exceptions, all-day events in the calendar's zone,
working hours across a daylight saving change, buffers, errors per account, bad input."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import Api

pytestmark = pytest.mark.anyio
FB = "/api/v1/calendars/free_busy"
AV = "/api/v1/calendars/availability"


def timed(start: str, end: str, tz: str = "UTC", **extra: Any) -> dict[str, Any]:
    return {
        "title": "x",
        "start": {"date_time": start, "time_zone": tz},
        "end": {"date_time": end, "time_zone": tz},
        **extra,
    }


async def post(api: Api, url: str, body: dict[str, Any], key: str | None = None) -> httpx.Response:
    headers = {"X-API-KEY": key or api.a.key}
    return await api.client.post(url, json=body, headers=headers)


async def new_calendar(api: Api, tz: str) -> str:
    r = await api.call("POST", "/api/v1/calendars", json={"name": tz, "timezone": tz})
    assert r.status_code == 201, r.text
    calendar_id: str = r.json()["calendar_id"]
    return calendar_id


async def create_in(api: Api, calendar_id: str, body: dict[str, Any]) -> str:
    r = await api.call("POST", api.events_url(calendar_id), json=body)
    assert r.status_code == 200, r.text
    event_id: str = r.json()["event_id"]
    return event_id


async def test_free_busy_merges_series_exceptions_all_day_and_skips_free_events(api: Api) -> None:
    a = api.a
    ny = await new_calendar(api, "America/New_York")
    # A weekly series at 09:00 Paris over the spring change; one occurrence deleted, one moved.
    series = await api.create(
        timed(
            "2026-03-23T09:00:00",
            "2026-03-23T10:00:00",
            "Europe/Paris",
            recurrence=["RRULE:FREQ=DAILY;COUNT=10"],
        )
    )
    r = await api.call("DELETE", f"{api.events_url()}/{series}_20260325T080000Z")
    assert r.status_code == 200, r.text
    r = await api.call(
        "PATCH",
        f"{api.events_url()}/{series}_20260326T080000Z",
        json={
            "start": {"date_time": "2026-03-26T13:00:00Z"},
            "end": {"date_time": "2026-03-26T14:00:00Z"},
        },
    )
    assert r.status_code == 200, r.text
    # Overlapping single events merge; a transparent one and a declined one are free.
    await api.create(timed("2026-03-24T08:30:00Z", "2026-03-24T09:30:00Z"))
    await api.create(
        timed("2026-03-24T12:00:00Z", "2026-03-24T13:00:00Z", transparency="transparent")
    )
    # All-day in New York: busy from midnight to midnight there (-04:00 after 8 March).
    await create_in(
        api, ny, {"title": "off", "start": {"date": "2026-03-27"}, "end": {"date": "2026-03-28"}}
    )

    body = {
        "start": "2026-03-24T00:00:00Z",
        "end": "2026-03-30T00:00:00Z",
        "calendars": [
            {"account_id": a.account_id},
            {"account_id": a.account_id, "calendar_ids": [ny]},
        ],
    }
    r = await post(api, FB, body)
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["object"] == "FreeBusy"
    first, second = data["data"]
    assert first["account_id"] == a.account_id and first["calendar_id"] == a.calendar_id
    assert first["errors"] == []
    spans = [(b["start"], b["end"], b["status"]) for b in first["busy"]]
    assert spans == [
        ("2026-03-24T08:00:00.000Z", "2026-03-24T09:30:00.000Z", "busy"),
        # 25 March deleted; 26 March moved to 13:00Z.
        ("2026-03-26T13:00:00.000Z", "2026-03-26T14:00:00.000Z", "busy"),
        ("2026-03-27T08:00:00.000Z", "2026-03-27T09:00:00.000Z", "busy"),
        ("2026-03-28T08:00:00.000Z", "2026-03-28T09:00:00.000Z", "busy"),
        # The clocks change on 29 March: 09:00 Paris is 07:00Z from then on.
        ("2026-03-29T07:00:00.000Z", "2026-03-29T08:00:00.000Z", "busy"),
    ]
    assert second["calendar_id"] == ny
    assert second["busy"] == [
        {"start": "2026-03-27T04:00:00.000Z", "end": "2026-03-28T04:00:00.000Z", "status": "busy"}
    ]


ANSWERS = b"""BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//test//EN\r
BEGIN:VEVENT\r
UID:accepted\r
DTSTAMP:20260101T000000Z\r
DTSTART:20260501T080000Z\r
DTEND:20260501T120000Z\r
SUMMARY:long\r
ATTENDEE;PARTSTAT=ACCEPTED:mailto:me@example.org\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:declined\r
DTSTAMP:20260101T000000Z\r
DTSTART:20260501T120000Z\r
DTEND:20260501T130000Z\r
SUMMARY:declined\r
ATTENDEE;PARTSTAT=DECLINED:mailto:Me@Example.org\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:maybe\r
DTSTAMP:20260101T000000Z\r
DTSTART:20260501T113000Z\r
DTEND:20260501T140000Z\r
SUMMARY:maybe\r
ATTENDEE;PARTSTAT=TENTATIVE:mailto:me@example.org\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:late\r
DTSTAMP:20260101T000000Z\r
DTSTART:20260501T150000Z\r
DTEND:20260501T160000Z\r
SUMMARY:late\r
END:VEVENT\r
END:VCALENDAR\r
"""


async def local_account(api: Api, email: str = "me@example.org") -> tuple[str, str]:
    account = await api.runtime.accounts.create_local(api.a.id, email, email=email)
    calendar = (await api.runtime.events.list_calendars(api.a.id, account.id))[0].id
    return account.id, calendar


async def test_free_busy_clips_to_the_window_declined_is_free_maybe_is_tentative(api: Api) -> None:
    account, calendar = await local_account(api)
    r = await api.call(
        "POST",
        f"/api/v1/calendars/{calendar}/ics",
        account_id=account,
        content=ANSWERS,
        headers={"content-type": "text/calendar"},
    )
    assert r.status_code == 200, r.text
    r = await post(
        api,
        FB,
        {
            "start": "2026-05-01T10:00:00+02:00",
            "end": "2026-05-01T15:30:00Z",
            "calendars": [{"account_id": account}],
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["data"][0]["busy"] == [
        {"start": "2026-05-01T08:00:00.000Z", "end": "2026-05-01T12:00:00.000Z", "status": "busy"},
        # Busy wins where the tentative one overlaps it; 12:00-13:00 was declined.
        {
            "start": "2026-05-01T12:00:00.000Z",
            "end": "2026-05-01T14:00:00.000Z",
            "status": "tentative",
        },
        {"start": "2026-05-01T15:00:00.000Z", "end": "2026-05-01T15:30:00.000Z", "status": "busy"},
    ]
