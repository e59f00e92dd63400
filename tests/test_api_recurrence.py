"""Recurring events through the API: expansion across DST in several zones, rule edge cases,
windows and pagination over occurrences, bad lines and caps."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api

pytestmark = pytest.mark.anyio


def timed(start: str, end: str, tz: str) -> dict[str, Any]:
    return {
        "start": {"date_time": start, "time_zone": tz},
        "end": {"date_time": end, "time_zone": tz},
    }


def all_day(start: str, end: str) -> dict[str, Any]:
    return {"start": {"date": start}, "end": {"date": end}}


async def expanded(api: Api, start: str, end: str, **params: str) -> list[dict[str, Any]]:
    r = await api.call(
        "GET",
        api.events_url(),
        params={"start": start, "end": end, "expand_recurring": "true", "limit": "250", **params},
    )
    assert r.status_code == 200, r.text
    data: list[dict[str, Any]] = r.json()["data"]
    return data


def starts(events: list[dict[str, Any]]) -> list[str]:
    return [e["start"].get("date_time") or e["start"]["date"] for e in events]


# (times, recurrence, expected occurrence starts): the window is wide open around them.
CASES: dict[str, tuple[dict[str, Any], list[str], list[str]]] = {
    "paris weekly across the spring change": (
        timed("2026-03-22T09:00:00", "2026-03-22T10:00:00", "Europe/Paris"),
        ["RRULE:FREQ=WEEKLY;COUNT=3"],
        ["2026-03-22T09:00:00+01:00", "2026-03-29T09:00:00+02:00", "2026-04-05T09:00:00+02:00"],
    ),
    "paris daily 02:30 moves forward by the gap": (
        timed("2026-03-28T02:30:00", "2026-03-28T03:00:00", "Europe/Paris"),
        ["RRULE:FREQ=DAILY;COUNT=3"],
        ["2026-03-28T02:30:00+01:00", "2026-03-29T03:30:00+02:00", "2026-03-30T02:30:00+02:00"],
    ),
    "paris daily 02:30 takes the first of two in the overlap": (
        timed("2026-10-24T02:30:00", "2026-10-24T03:00:00", "Europe/Paris"),
        ["RRULE:FREQ=DAILY;COUNT=3"],
        ["2026-10-24T02:30:00+02:00", "2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"],
    ),
    "new york weekly across the spring change": (
        timed("2026-03-01T09:00:00", "2026-03-01T10:00:00", "America/New_York"),
        ["RRULE:FREQ=WEEKLY;COUNT=3"],
        ["2026-03-01T09:00:00-05:00", "2026-03-08T09:00:00-04:00", "2026-03-15T09:00:00-04:00"],
    ),
    "new york daily 01:30 across the fall change": (
        timed("2026-10-31T01:30:00", "2026-10-31T02:00:00", "America/New_York"),
        ["RRULE:FREQ=DAILY;COUNT=3"],
        ["2026-10-31T01:30:00-04:00", "2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"],
    ),
    "lord howe 30-minute spring gap": (
        timed("2026-10-03T02:15:00", "2026-10-03T02:45:00", "Australia/Lord_Howe"),
        ["RRULE:FREQ=DAILY;COUNT=3"],
        ["2026-10-03T02:15:00+10:30", "2026-10-04T02:45:00+11:00", "2026-10-05T02:15:00+11:00"],
    ),
    "lord howe 30-minute fall overlap": (
        timed("2026-04-04T01:45:00", "2026-04-04T02:15:00", "Australia/Lord_Howe"),
        ["RRULE:FREQ=DAILY;COUNT=3"],
        ["2026-04-04T01:45:00+11:00", "2026-04-05T01:45:00+11:00", "2026-04-06T01:45:00+10:30"],
    ),
    "kolkata has no daylight saving": (
        timed("2026-03-01T10:00:00", "2026-03-01T11:00:00", "Asia/Kolkata"),
        ["RRULE:FREQ=MONTHLY;COUNT=3"],
        ["2026-03-01T10:00:00+05:30", "2026-04-01T10:00:00+05:30", "2026-05-01T10:00:00+05:30"],
    ),
    "yearly on a leap day skips the years without one": (
        all_day("2024-02-29", "2024-03-01"),
        ["RRULE:FREQ=YEARLY;COUNT=3"],
        ["2024-02-29", "2028-02-29", "2032-02-29"],
    ),
    "bymonthday=-1 is the last day of each month": (
        timed("2026-01-31T12:00:00", "2026-01-31T13:00:00", "UTC"),
        ["RRULE:FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=4"],
        [
            "2026-01-31T12:00:00+00:00",
            "2026-02-28T12:00:00+00:00",
            "2026-03-31T12:00:00+00:00",
            "2026-04-30T12:00:00+00:00",
        ],
    ),
    "bymonthday=-1 in a leap year": (
        all_day("2028-01-31", "2028-02-01"),
        ["RRULE:FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=2"],
        ["2028-01-31", "2028-02-29"],
    ),
    "bysetpos=-1: last weekday of the month": (
        timed("2026-01-30T17:00:00", "2026-01-30T18:00:00", "UTC"),
        ["RRULE:FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1;COUNT=3"],
        ["2026-01-30T17:00:00+00:00", "2026-02-27T17:00:00+00:00", "2026-03-31T17:00:00+00:00"],
    ),
    "bysetpos=2: second tuesday or thursday": (
        timed("2026-03-05T08:00:00", "2026-03-05T09:00:00", "Europe/Paris"),
        ["RRULE:FREQ=MONTHLY;BYDAY=TU,TH;BYSETPOS=2;COUNT=3"],
        ["2026-03-05T08:00:00+01:00", "2026-04-07T08:00:00+02:00", "2026-05-07T08:00:00+02:00"],
    ),
    "dtstart is the first occurrence even when the rule skips it": (
        timed("2026-03-03T08:00:00", "2026-03-03T09:00:00", "Europe/Paris"),
        ["RRULE:FREQ=MONTHLY;BYDAY=TU,TH;BYSETPOS=2;COUNT=2"],
        ["2026-03-03T08:00:00+01:00", "2026-03-05T08:00:00+01:00"],
    ),
    "until exactly at the last occurrence keeps it": (
        timed("2026-02-01T10:00:00", "2026-02-01T11:00:00", "Europe/Paris"),
        ["RRULE:FREQ=DAILY;UNTIL=20260203T090000Z"],
        ["2026-02-01T10:00:00+01:00", "2026-02-02T10:00:00+01:00", "2026-02-03T10:00:00+01:00"],
    ),
    "until one second before the last occurrence drops it": (
        timed("2026-02-01T10:00:00", "2026-02-01T11:00:00", "Europe/Paris"),
        ["RRULE:FREQ=DAILY;UNTIL=20260203T085959Z"],
        ["2026-02-01T10:00:00+01:00", "2026-02-02T10:00:00+01:00"],
    ),
    "all-day until is a date and inclusive": (
        all_day("2026-05-01", "2026-05-02"),
        ["RRULE:FREQ=WEEKLY;UNTIL=20260515"],
        ["2026-05-01", "2026-05-08", "2026-05-15"],
    ),
    "exdate with a tzid of another zone": (
        timed("2026-03-02T09:00:00", "2026-03-02T10:00:00", "Europe/Paris"),
        ["RRULE:FREQ=DAILY;COUNT=4", "EXDATE;TZID=America/New_York:20260303T030000"],
        ["2026-03-02T09:00:00+01:00", "2026-03-04T09:00:00+01:00", "2026-03-05T09:00:00+01:00"],
    ),
    "exdate with a windows tzid": (
        timed("2026-03-02T09:00:00", "2026-03-02T10:00:00", "Europe/Paris"),
        ["RRULE:FREQ=DAILY;COUNT=3", "EXDATE;TZID=Romance Standard Time:20260303T090000"],
        ["2026-03-02T09:00:00+01:00", "2026-03-04T09:00:00+01:00"],
    ),
    "exdate that names no occurrence removes nothing": (
        timed("2026-03-02T09:00:00", "2026-03-02T10:00:00", "Europe/Paris"),
        ["RRULE:FREQ=DAILY;COUNT=2", "EXDATE;TZID=Europe/Paris:20260303T100000"],
        ["2026-03-02T09:00:00+01:00", "2026-03-03T09:00:00+01:00"],
    ),
    "all-day exdate and rdate": (
        all_day("2026-06-01", "2026-06-02"),
        [
            "RRULE:FREQ=WEEKLY;COUNT=3",
            "EXDATE;VALUE=DATE:20260608",
            "RDATE;VALUE=DATE:20260610",
        ],
        ["2026-06-01", "2026-06-10", "2026-06-15"],
    ),
    "rdate with tzid keeps the series' zone": (
        timed("2026-03-02T09:00:00", "2026-03-02T10:00:00", "Europe/Paris"),
        ["RDATE;TZID=America/New_York:20260310T090000"],
        ["2026-03-02T09:00:00+01:00", "2026-03-10T14:00:00+01:00"],
    ),
    "exrule removes its occurrences": (
        timed("2026-03-02T09:00:00", "2026-03-02T10:00:00", "UTC"),
        ["RRULE:FREQ=DAILY;COUNT=7", "EXRULE:FREQ=WEEKLY;BYDAY=SA,SU"],
        [
            "2026-03-02T09:00:00+00:00",
            "2026-03-03T09:00:00+00:00",
            "2026-03-04T09:00:00+00:00",
            "2026-03-05T09:00:00+00:00",
            "2026-03-06T09:00:00+00:00",
        ],
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
async def test_expansion(api: Api, case: str) -> None:
    times, lines, expected = CASES[case]
    master_id = await api.create({"title": case, **times, "recurrence": lines})
    found = await expanded(api, "2020-01-01T00:00:00Z", "2040-01-01T00:00:00Z")
    assert starts(found) == expected
    assert {e["master_event_id"] for e in found} == {master_id}
    assert all(e["recurrence"] == [] for e in found)
    assert all(e["title"] == case for e in found)
    # Each occurrence keeps the series' length and zone.
    master = await api.get(master_id)
    assert master["recurrence"] == lines
    assert all(e["start"].get("time_zone") == master["start"].get("time_zone") for e in found)
    # Each occurrence id names itself.
    for event in found:
        assert await api.get(event["id"]) == event


async def test_occurrence_ids_are_master_and_utc_start(api: Api) -> None:
    master_id = await api.create(
        {
            "title": "x",
            **timed("2026-03-28T09:00:00", "2026-03-28T10:00:00", "Europe/Paris"),
            "recurrence": ["RRULE:FREQ=DAILY;COUNT=2"],
        }
    )
    found = await expanded(api, "2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z")
    assert [e["id"] for e in found] == [
        f"{master_id}_20260328T080000Z",
        f"{master_id}_20260329T070000Z",
    ]
    day_id = await api.create(
        {
            "title": "d",
            **all_day("2026-03-28", "2026-03-29"),
            "recurrence": ["RRULE:FREQ=DAILY;COUNT=1"],
        }
    )
    found = await expanded(api, "2026-03-28T00:00:00Z", "2026-03-28T01:00:00Z")
    assert f"{day_id}_20260328" in [e["id"] for e in found]


async def test_window_keeps_an_occurrence_running_at_its_start(api: Api) -> None:
    await api.create(
        {
            "title": "night shift",
            **timed("2026-03-02T22:00:00", "2026-03-03T06:00:00", "UTC"),
            "recurrence": ["RRULE:FREQ=DAILY;COUNT=5"],
        }
    )
    found = await expanded(api, "2026-03-04T05:00:00Z", "2026-03-04T23:00:00Z")
    assert starts(found) == ["2026-03-03T22:00:00+00:00", "2026-03-04T22:00:00+00:00"]
    # The window's end is exclusive; its start is too (an occurrence ending there is out).
    found = await expanded(api, "2026-03-04T06:00:00Z", "2026-03-04T22:00:00Z")
    assert starts(found) == []


async def test_endless_series_far_in_the_future(api: Api) -> None:
    await api.create(
        {
            "title": "forever",
            **timed("2026-01-05T09:00:00", "2026-01-05T09:15:00", "Europe/Paris"),
            "recurrence": ["RRULE:FREQ=WEEKLY;BYDAY=MO"],
        }
    )
    found = await expanded(api, "2126-01-01T00:00:00Z", "2126-01-15T00:00:00Z")
    assert starts(found) == ["2126-01-07T09:00:00+01:00", "2126-01-14T09:00:00+01:00"]


async def test_pagination_walks_occurrences_and_single_events_in_order(api: Api) -> None:
    master_id = await api.create(
        {
            "title": "daily",
            **timed("2026-03-01T09:00:00", "2026-03-01T10:00:00", "UTC"),
            "recurrence": ["RRULE:FREQ=DAILY;COUNT=8"],
        }
    )
    singles = [
        await api.create(
            {
                "title": f"single {day}",
                **timed(f"2026-03-0{day}T12:00:00", f"2026-03-0{day}T13:00:00", "UTC"),
            }
        )
        for day in (2, 4, 6)
    ]
    expected = []
    for day in range(1, 9):
        expected.append(f"{master_id}_202603{day:02d}T090000Z")
        if day in (2, 4, 6):
            expected.append(singles[(day - 2) // 2])
    params = {
        "start": "2026-03-01T00:00:00Z",
        "end": "2026-04-01T00:00:00Z",
        "expand_recurring": "true",
        "limit": "3",
    }
    seen: list[str] = []
    pages = 0
    cursor: str | None = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        r = await api.call("GET", api.events_url(), params=query)
        assert r.status_code == 200, r.text
        body = r.json()
        pages += 1
        assert len(body["data"]) <= 3
        seen.extend(e["id"] for e in body["data"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == expected
    assert pages == 4  # 11 items, 3 per page


async def test_expand_false_returns_masters_and_singles(api: Api) -> None:
    master_id = await api.create(
        {
            "title": "series",
            **timed("2026-03-01T09:00:00", "2026-03-01T10:00:00", "UTC"),
            "recurrence": ["RRULE:FREQ=DAILY;COUNT=5"],
        }
    )
    occurrence = f"{master_id}_20260302T090000Z"
    r = await api.call("PATCH", f"{api.events_url()}/{occurrence}", json={"title": "moved"})
    assert r.status_code == 200, r.text
    for flag in ("false", None):
        params = {"start": "2026-03-01T00:00:00Z", "end": "2026-04-01T00:00:00Z"}
        if flag:
            params["expand_recurring"] = flag
        r = await api.call("GET", api.events_url(), params=params)
        [master] = r.json()["data"]
        assert master["id"] == master_id
        assert master["recurrence"] == ["RRULE:FREQ=DAILY;COUNT=5"]
        assert master["master_event_id"] == ""


async def test_a_series_is_found_by_a_window_after_its_first_occurrence(api: Api) -> None:
    await api.create(
        {
            "title": "series",
            **timed("2026-01-01T09:00:00", "2026-01-01T10:00:00", "UTC"),
            "recurrence": ["RRULE:FREQ=MONTHLY;COUNT=12"],
        }
    )
    params = {"start": "2026-12-01T00:00:00Z", "end": "2026-12-31T00:00:00Z"}
    r = await api.call("GET", api.events_url(), params=params)
    assert [e["title"] for e in r.json()["data"]] == ["series"]
    params = {"start": "2027-01-01T00:00:00Z", "end": "2027-02-01T00:00:00Z"}
    r = await api.call("GET", api.events_url(), params=params)
    assert r.json()["data"] == []  # past its last end


# bad lines and caps -----------------------------------------------------------------------------

BAD_LINES = [
    (
        "RRULE:FREQ=WEEKLY;BYDAY=XX",
        "recurrence[0]: 'RRULE:FREQ=WEEKLY;BYDAY=XX': BYDAY value 'XX' is not a weekday (MO..SU)",
    ),
    ("RRULE:COUNT=3", "recurrence[0]: 'RRULE:COUNT=3': FREQ is required (e.g. FREQ=WEEKLY)"),
    (
        "RRULE:FREQ=DAILY;COUNT=3;UNTIL=20260101T000000Z",
        "recurrence[0]: 'RRULE:FREQ=DAILY;COUNT=3;UNTIL=20260101T000000Z': COUNT and UNTIL "
        "cannot both be given (RFC 5545: one or the other)",
    ),
    (
        "RRULE:FREQ=DAILY;UNTIL=20260301",
        "recurrence[0]: 'RRULE:FREQ=DAILY;UNTIL=20260301': UNTIL value '20260301' must be a UTC "
        "date-time (YYYYMMDDTHHMMSSZ) because the event start has a time zone",
    ),
    (
        "RRULE:FREQ=DAILY;BYHOUR=24",
        "recurrence[0]: 'RRULE:FREQ=DAILY;BYHOUR=24': BYHOUR value '24' is out of range (0..23)",
    ),
    (
        "RRULE:FREQ=WEEKLY;BYWEEKNO=3",
        "recurrence[0]: 'RRULE:FREQ=WEEKLY;BYWEEKNO=3': BYWEEKNO is not allowed with "
        "FREQ=WEEKLY (only with FREQ=YEARLY)",
    ),
    (
        "EXDATE:2026-03-01",
        "recurrence[0]: 'EXDATE:2026-03-01': value '2026-03-01' is not a date-time "
        "(YYYYMMDDTHHMMSS, with Z for UTC)",
    ),
    (
        "EXDATE;TZID=Mars/Base:20260301T100000",
        "recurrence[0]: 'EXDATE;TZID=Mars/Base:20260301T100000': TZID 'Mars/Base' is not a "
        "known time zone",
    ),
    (
        "FOO:BAR",
        "recurrence[0]: 'FOO:BAR': 'FOO' is not a recurrence property (expected RRULE, EXRULE, "
        "RDATE or EXDATE)",
    ),
    (
        "RRULE:FREQ=DAILY;COUNT=10001",
        "recurrence[0]: 'RRULE:FREQ=DAILY;COUNT=10001': COUNT value 10001 is above the limit "
        "of 10000",
    ),
    (
        "RRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
        "recurrence[0]: 'RRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30': the rule never produces an "
        "occurrence (none in the 400 years after the event start)",
    ),
]


@pytest.mark.parametrize(("line", "detail"), BAD_LINES)
async def test_a_bad_line_is_400_quoting_it(api: Api, line: str, detail: str) -> None:
    body = {
        "title": "x",
        **timed("2026-03-01T10:00:00", "2026-03-01T11:00:00", "Europe/Paris"),
        "recurrence": [line],
    }
    r = await api.call("POST", api.events_url(), json=body)
    assert r.status_code == 400, r.text
    assert r.json()["type"] == "errors/invalid_parameters"
    assert r.json()["detail"] == detail
    # The same line in a PATCH of an existing event.
    event_id = await api.create({"title": "y", **body, "recurrence": []})
    r = await api.call("PATCH", f"{api.events_url()}/{event_id}", json={"recurrence": [line]})
    assert r.status_code == 400
    assert r.json()["detail"] == detail
    assert (await api.get(event_id))["recurrence"] == []


async def test_the_line_at_fault_is_counted_from_zero(api: Api) -> None:
    body = {
        "title": "x",
        **timed("2026-03-01T10:00:00", "2026-03-01T11:00:00", "UTC"),
        "recurrence": ["RRULE:FREQ=DAILY;COUNT=3", "EXDATE:20260302T100000Z", "RDATE:nope"],
    }
    r = await api.call("POST", api.events_url(), json=body)
    assert r.status_code == 400
    assert r.json()["detail"].startswith("recurrence[2]: 'RDATE:nope': ")


async def test_an_hourly_rule_on_an_all_day_event_is_400(api: Api) -> None:
    body = {
        "title": "x",
        **all_day("2026-03-01", "2026-03-02"),
        "recurrence": ["RRULE:FREQ=HOURLY"],
    }
    r = await api.call("POST", api.events_url(), json=body)
    assert r.status_code == 400
    assert r.json()["detail"] == (
        "recurrence[0]: 'RRULE:FREQ=HOURLY': FREQ=HOURLY is not allowed because the event is "
        "all-day (use DAILY or longer)"
    )


async def test_caps_on_lines(api: Api) -> None:
    body = {
        "title": "x",
        **timed("2026-03-01T10:00:00", "2026-03-01T11:00:00", "UTC"),
        "recurrence": ["RRULE:FREQ=DAILY"]
        + [f"EXDATE:202603{d:02d}T100000Z" for d in range(2, 29)]
        + [f"EXDATE:202604{d:02d}T100000Z" for d in range(1, 25)],
    }
    assert len(body["recurrence"]) == 52
    r = await api.call("POST", api.events_url(), json=body)
    assert r.status_code == 400
    assert r.json()["detail"] == (
        "recurrence: List should have at most 50 items after validation, not 52"
    )
    long_line = "EXDATE:" + ",".join(
        f"2026{m:02d}{d:02d}T100000Z" for m in (3, 4, 5) for d in range(1, 29)
    )
    assert len(long_line) > 1000
    body["recurrence"] = ["RRULE:FREQ=DAILY", long_line]
    r = await api.call("POST", api.events_url(), json=body)
    assert r.status_code == 400
    assert r.json()["detail"] == "recurrence[1]: String should have at most 1000 characters"


async def test_cap_on_rdate_and_exdate_values(api: Api) -> None:
    # 21 lines of 50 dates each (every line under the 1000-character limit): 1050 values.
    lines = [
        "RDATE:"
        + ",".join(f"20{27 + n}{m:02d}{d:02d}T090000Z" for m in (1, 2) for d in range(1, 26))
        for n in range(21)
    ]
    assert all(len(line) < 1000 for line in lines)
    body = {
        "title": "x",
        **timed("2026-03-01T10:00:00", "2026-03-01T11:00:00", "UTC"),
        "recurrence": lines,
    }
    r = await api.call("POST", api.events_url(), json=body)
    assert r.status_code == 400, r.text
    assert r.json()["detail"] == (
        "recurrence: 1050 RDATE and EXDATE values; at most 1000 are allowed in total"
    )
