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


async def test_each_question_sees_the_edits_made_since_the_last(api: Api) -> None:
    """Decoded rows and series' occurrences are remembered between questions: an edit in
    between (a move, a transparency change, a new rule) is what the next answer shows."""
    single = await api.create(timed("2026-06-01T08:00:00Z", "2026-06-01T09:00:00Z"))
    series = await api.create(
        timed("2026-06-02T10:00:00Z", "2026-06-02T11:00:00Z", recurrence=["RRULE:FREQ=DAILY"])
    )
    body = {
        "start": "2026-06-01T00:00:00Z",
        "end": "2026-06-04T00:00:00Z",
        "calendars": [{"account_id": api.a.account_id}],
    }

    async def spans() -> list[tuple[str, str]]:
        r = await post(api, FB, body)
        assert r.status_code == 200, r.text
        return [(b["start"][:16], b["end"][:16]) for b in r.json()["data"][0]["busy"]]

    assert await spans() == [
        ("2026-06-01T08:00", "2026-06-01T09:00"),
        ("2026-06-02T10:00", "2026-06-02T11:00"),
        ("2026-06-03T10:00", "2026-06-03T11:00"),
    ]
    moved = {
        "start": {"date_time": "2026-06-01T15:00:00Z"},
        "end": {"date_time": "2026-06-01T16:00:00Z"},
    }
    r = await api.call("PATCH", f"{api.events_url()}/{single}", json=moved)
    assert r.status_code == 200, r.text
    r = await api.call(
        "PATCH", f"{api.events_url()}/{series}", json={"recurrence": ["RRULE:FREQ=DAILY;COUNT=1"]}
    )
    assert r.status_code == 200, r.text
    assert await spans() == [
        ("2026-06-01T15:00", "2026-06-01T16:00"),
        ("2026-06-02T10:00", "2026-06-02T11:00"),
    ]
    r = await api.call(
        "PATCH", f"{api.events_url()}/{single}", json={"transparency": "transparent"}
    )
    assert r.status_code == 200, r.text
    assert await spans() == [("2026-06-02T10:00", "2026-06-02T11:00")]


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


def paris_days(spans: list[dict[str, str]]) -> dict[str, Any]:
    days = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    return {"time_zone": "Europe/Paris", "days": {d: spans for d in days}}


async def slots_of(api: Api, body: dict[str, Any]) -> list[tuple[str, list[str]]]:
    r = await post(api, AV, body)
    assert r.status_code == 200, r.text
    assert r.json()["object"] == "Availability" and r.json()["errors"] == []
    return [(s["start"], s["free"]) for s in r.json()["slots"]]


async def test_working_hours_stay_local_across_the_spring_change(api: Api) -> None:
    me = api.a.account_id
    body = {
        "start": "2026-03-28T00:00:00Z",
        "end": "2026-03-30T00:00:00Z",
        "duration_minutes": 60,
        "interval_minutes": 60,
        "participants": [
            {"account_id": me, "working_hours": paris_days([{"start": "09:00", "end": "17:00"}])}
        ],
    }
    got = await slots_of(api, body)
    saturday = [f"2026-03-28T{h:02d}:00:00.000Z" for h in range(8, 16)]  # +01:00
    sunday = [f"2026-03-29T{h:02d}:00:00.000Z" for h in range(7, 15)]  # +02:00
    assert got == [(s, [me]) for s in saturday + sunday]


async def test_a_working_hour_the_clocks_skip_is_skipped_and_a_repeated_one_counts_twice(
    api: Api,
) -> None:
    me = api.a.account_id
    hours = paris_days([{"start": "02:00", "end": "03:00"}])
    body = {
        "start": "2026-03-28T00:00:00Z",
        "end": "2026-03-30T00:00:00Z",
        "duration_minutes": 30,
        "participants": [{"account_id": me, "working_hours": hours}],
    }
    # Saturday 02:00-03:00 is 01:00Z-02:00Z; on Sunday 29 March 02:00-03:00 does not exist.
    assert [s for s, _ in await slots_of(api, body)] == [
        "2026-03-28T01:00:00.000Z",
        "2026-03-28T01:30:00.000Z",
    ]
    # On 25 October it happens twice: 00:00Z-01:00Z (+02:00) and 01:00Z-02:00Z (+01:00).
    body |= {"start": "2026-10-25T00:00:00Z", "end": "2026-10-25T12:00:00Z"}
    assert [s for s, _ in await slots_of(api, body)] == [
        "2026-10-25T00:00:00.000Z",
        "2026-10-25T00:30:00.000Z",
        "2026-10-25T01:00:00.000Z",
        "2026-10-25T01:30:00.000Z",
    ]


async def test_buffers_reach_outside_the_window_and_optional_people_do_not_count(
    api: Api,
) -> None:
    me = api.a.account_id
    other, other_calendar = await local_account(api, "other@example.org")
    await api.create(timed("2026-06-01T08:00:00Z", "2026-06-01T09:00:00Z"))
    await api.create(timed("2026-06-01T12:10:00Z", "2026-06-01T13:00:00Z"))
    r = await api.call(
        "POST",
        api.events_url(other_calendar),
        account_id=other,
        json=timed("2026-06-01T10:30:00Z", "2026-06-01T11:00:00Z"),
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = {
        "start": "2026-06-01T09:00:00Z",
        "end": "2026-06-01T12:00:00Z",
        "duration_minutes": 60,
        "interval_minutes": 15,
        "buffer_before_minutes": 15,
        "buffer_after_minutes": 30,
        "participants": [{"account_id": me}, {"account_id": other, "optional": True}],
    }
    got = await slots_of(api, body)
    # 09:00 is too close to the 08:00-09:00 event (15 minutes before); a slot must end 30
    # minutes before 12:10. The optional participant is listed where free, never required.
    assert got == [
        ("2026-06-01T09:15:00.000Z", [me]),
        ("2026-06-01T09:30:00.000Z", [me]),
        ("2026-06-01T09:45:00.000Z", [me]),
        ("2026-06-01T10:00:00.000Z", [me]),
        ("2026-06-01T10:15:00.000Z", [me]),
        ("2026-06-01T10:30:00.000Z", [me]),
    ]
    # Both required, at least one of them: the other one's free slots count too.
    body["participants"][1]["optional"] = False
    got = await slots_of(api, {**body, "min_required": 1})
    assert got[:2] == [("2026-06-01T09:00:00.000Z", [other]), ("2026-06-01T09:15:00.000Z", [me])]
    assert len(got) == 7


async def test_an_unusable_account_is_an_error_entry_an_unknown_one_a_404(api: Api) -> None:
    broken, _ = await local_account(api, "broken@example.org")
    record = await api.runtime.accounts.record(api.a.id, broken)
    await api.runtime.accounts.set_status(record, "CREDENTIALS")
    calendars = [{"account_id": api.a.account_id}, {"account_id": broken}]
    r = await post(api, FB, {**WINDOW_BODY, "calendars": calendars})
    assert r.status_code == 200, r.text
    ok, failed = r.json()["data"]
    assert ok["errors"] == []
    assert failed["account_id"] == broken and failed["busy"] == []
    assert [(e["status"], e["type"]) for e in failed["errors"]] == [
        (401, "errors/expired_credentials")
    ]
    # Another tenant's account, or none at all: 404 for the call.
    for account in (api.b.account_id, "no-such-account"):
        r = await post(api, FB, {**WINDOW_BODY, "calendars": [{"account_id": account}]})
        assert r.status_code == 404, r.text
        assert r.json()["type"] == "errors/resource_not_found"


WINDOW_BODY = {"start": "2026-06-01T00:00:00Z", "end": "2026-06-02T00:00:00Z"}


def availability_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        **WINDOW_BODY,
        "duration_minutes": 30,
        "participants": [{"account_id": "ACCOUNT"}],
    }
    body.update(changes)
    return body


def hours(**changes: Any) -> dict[str, Any]:
    return {"participants": [{"account_id": "ACCOUNT", "working_hours": changes}]}


BAD: list[tuple[str, dict[str, Any], str]] = [
    ("end before start", availability_body(end="2026-05-31T00:00:00Z"), "end: must be after start"),
    (
        "naive instant",
        availability_body(start="2026-06-01T00:00:00"),
        "start: '2026-06-01T00:00:00' is not an ISO 8601 date-time with an offset",
    ),
    ("not a date", availability_body(end="tomorrow"), "end: 'tomorrow' is not"),
    (
        "window too long",
        availability_body(end="2026-09-01T00:00:00Z"),
        "longer than 62 days (the free_busy_max_window_days limit)",
    ),
    (
        "duration over the window",
        availability_body(end="2026-06-01T00:20:00Z"),
        "duration_minutes: 30 is longer than the window (20 minutes)",
    ),
    (
        "too many slots",
        availability_body(end="2026-07-31T00:00:00Z", duration_minutes=1, interval_minutes=1),
        "the availability_max_slots limit",
    ),
    ("duration zero", availability_body(duration_minutes=0), "duration_minutes"),
    ("negative buffer", availability_body(buffer_before_minutes=-5), "buffer_before_minutes"),
    (
        "min_required too high",
        availability_body(min_required=2),
        "min_required: must be between 1 and 1",
    ),
    (
        "everyone optional",
        availability_body(participants=[{"account_id": "ACCOUNT", "optional": True}]),
        "at least one participant must not be optional",
    ),
    (
        "listed twice",
        availability_body(participants=[{"account_id": "ACCOUNT"}, {"account_id": "ACCOUNT"}]),
        "is listed twice",
    ),
    (
        "too many participants",
        availability_body(participants=[{"account_id": f"a{i}"} for i in range(21)]),
        "the availability_max_participants limit",
    ),
    (
        "unknown zone",
        availability_body(**hours(time_zone="Mars/Base", days={})),
        "participants[0].working_hours.time_zone: unknown time zone 'Mars/Base'",
    ),
    (
        "unknown day",
        availability_body(**hours(time_zone="UTC", days={"funday": []})),
        "participants[0].working_hours.days: 'funday' is not a day",
    ),
    (
        "bad clock",
        availability_body(
            **hours(time_zone="UTC", days={"mon": [{"start": "9:00", "end": "17:00"}]})
        ),
        "participants[0].working_hours.days.mon[0]: times are HH:MM",
    ),
    (
        "end before start hours",
        availability_body(
            **hours(time_zone="UTC", days={"mon": [{"start": "17:00", "end": "09:00"}]})
        ),
        "end 09:00 must be after start 17:00",
    ),
    (
        "24:30",
        availability_body(
            **hours(time_zone="UTC", days={"mon": [{"start": "09:00", "end": "24:30"}]})
        ),
        "times are HH:MM from 00:00 to 24:00",
    ),
    ("unknown field", availability_body(slot_minutes=30), "slot_minutes"),
    ("no participants", availability_body(participants=[]), "participants"),
]


@pytest.mark.parametrize(("name", "body", "detail"), BAD, ids=[b[0] for b in BAD])
async def test_bad_availability_input_is_a_400_naming_the_problem(
    api: Api, name: str, body: dict[str, Any], detail: str
) -> None:
    text = __import__("json").dumps(body).replace("ACCOUNT", api.a.account_id)
    r = await api.client.post(
        AV, content=text, headers={"X-API-KEY": api.a.key, "content-type": "application/json"}
    )
    assert r.status_code == 400, r.text
    error = r.json()
    assert error["type"] == "errors/invalid_parameters", error
    assert detail in error["detail"], error
    assert error["instance"] == AV


async def test_bad_free_busy_input_is_a_400(api: Api) -> None:
    me = api.a.account_id
    cases: list[tuple[dict[str, Any], str]] = [
        ({**WINDOW_BODY, "calendars": []}, "calendars"),
        ({**WINDOW_BODY, "calendars": [{"account_id": me, "calendar_ids": []}]}, "calendar_ids"),
        (
            {**WINDOW_BODY, "calendars": [{"account_id": me}] * 51},
            "calendars",
        ),
        (
            {
                "start": "2026-06-02T00:00:00Z",
                "end": "2026-06-01T00:00:00Z",
                "calendars": [{"account_id": me}],
            },
            "end: must be after start",
        ),
    ]
    for body, detail in cases:
        r = await post(api, FB, body)
        assert r.status_code == 400, (body, r.text)
        assert detail in r.json()["detail"], r.json()
    r = await api.client.post(FB, content=b"{", headers={"X-API-KEY": api.a.key})
    assert r.status_code == 400, r.text
    r = await api.client.post(FB, json={**WINDOW_BODY, "calendars": [{"account_id": me}]})
    assert r.status_code == 401, r.text
