"""Event time forms through the API, as docs/time-and-recurrence.md shows them: UTC, offset,
naive wall time in a zone, all-day, DST gaps and overlaps, Windows zone names."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api

pytestmark = pytest.mark.anyio


def body(start: dict[str, str], end: dict[str, str]) -> dict[str, Any]:
    return {"title": "t", "start": start, "end": end}


FORMS = [
    # (sent start, sent end, start read back)
    (
        {"date_time": "2026-01-20T13:30:00Z", "time_zone": "Europe/Paris"},
        {"date_time": "2026-01-20T14:30:00Z", "time_zone": "Europe/Paris"},
        {"date_time": "2026-01-20T14:30:00+01:00", "time_zone": "Europe/Paris"},
    ),
    (
        {"date_time": "2026-01-20T08:30:00-05:00", "time_zone": "Asia/Kolkata"},
        {"date_time": "2026-01-20T09:30:00-05:00", "time_zone": "Asia/Kolkata"},
        {"date_time": "2026-01-20T19:00:00+05:30", "time_zone": "Asia/Kolkata"},
    ),
    (
        {"date_time": "2026-07-01T09:00:00", "time_zone": "America/New_York"},
        {"date_time": "2026-07-01T10:00:00", "time_zone": "America/New_York"},
        {"date_time": "2026-07-01T09:00:00-04:00", "time_zone": "America/New_York"},
    ),
    (
        {"date_time": "2026-01-20T14:30:00", "time_zone": "Romance Standard Time"},
        {"date_time": "2026-01-20T15:30:00", "time_zone": "Romance Standard Time"},
        {"date_time": "2026-01-20T14:30:00+01:00", "time_zone": "Europe/Paris"},
    ),
    (
        {"date_time": "2026-01-20T14:30:00"},
        {"date_time": "2026-01-20T15:30:00"},
        {"date_time": "2026-01-20T14:30:00+00:00", "time_zone": "UTC"},
    ),
    (
        # The offset settles which of the two 02:30s is meant.
        {"date_time": "2026-10-25T02:30:00+01:00", "time_zone": "Europe/Paris"},
        {"date_time": "2026-10-25T03:30:00+01:00", "time_zone": "Europe/Paris"},
        {"date_time": "2026-10-25T02:30:00+01:00", "time_zone": "Europe/Paris"},
    ),
    (
        {"date_time": "2026-10-04T02:45:00+11:00", "time_zone": "Australia/Lord_Howe"},
        {"date_time": "2026-10-04T03:45:00+11:00", "time_zone": "Australia/Lord_Howe"},
        {"date_time": "2026-10-04T02:45:00+11:00", "time_zone": "Australia/Lord_Howe"},
    ),
    ({"date": "2026-05-28"}, {"date": "2026-05-29"}, {"date": "2026-05-28"}),
]


@pytest.mark.parametrize(("start", "end", "read"), FORMS)
async def test_time_forms_read_back_in_the_offset_form_of_their_zone(
    api: Api, start: dict[str, str], end: dict[str, str], read: dict[str, str]
) -> None:
    event = await api.get(await api.create(body(start, end)))
    assert event["start"] == read
    assert event["is_all_day"] is ("date" in read)


async def test_all_day_end_is_exclusive(api: Api) -> None:
    event = await api.get(await api.create(body({"date": "2024-02-28"}, {"date": "2024-03-01"})))
    assert (event["start"], event["end"]) == ({"date": "2024-02-28"}, {"date": "2024-03-01"})
    params = {"start": "2024-02-29T12:00:00Z", "end": "2024-02-29T13:00:00Z"}
    r = await api.call("GET", api.events_url(), params=params)
    assert [e["id"] for e in r.json()["data"]] == [event["id"]]
    params = {"start": "2024-03-01T00:00:00Z", "end": "2024-03-02T00:00:00Z"}
    r = await api.call("GET", api.events_url(), params=params)
    assert r.json()["data"] == []


BAD = [
    (
        {"date_time": "2026-03-29T02:30:00", "time_zone": "Europe/Paris"},
        {"date_time": "2026-03-29T04:00:00", "time_zone": "Europe/Paris"},
        "start.date_time: 2026-03-29T02:30:00 does not exist in Europe/Paris (the clocks skip it "
        "at a daylight saving change); possible instants: 2026-03-29T01:30:00+01:00 or "
        "2026-03-29T03:30:00+02:00; send an offset time to choose",
    ),
    (
        {"date_time": "2026-10-25T02:30:00", "time_zone": "Europe/Paris"},
        {"date_time": "2026-10-25T04:00:00", "time_zone": "Europe/Paris"},
        "start.date_time: 2026-10-25T02:30:00 is ambiguous in Europe/Paris (it happens twice at "
        "a daylight saving change): 2026-10-25T02:30:00+02:00 or 2026-10-25T02:30:00+01:00; send "
        "an offset time to choose",
    ),
    (
        {"date_time": "2026-10-04T01:00:00", "time_zone": "Australia/Lord_Howe"},
        {"date_time": "2026-10-04T02:15:00", "time_zone": "Australia/Lord_Howe"},
        "end.date_time: 2026-10-04T02:15:00 does not exist in Australia/Lord_Howe (the clocks "
        "skip it at a daylight saving change); possible instants: 2026-10-04T01:45:00+10:30 or "
        "2026-10-04T02:45:00+11:00; send an offset time to choose",
    ),
    (
        {"date_time": "2026-03-08T02:30:00", "time_zone": "America/New_York"},
        {"date_time": "2026-03-08T04:00:00", "time_zone": "America/New_York"},
        "start.date_time: 2026-03-08T02:30:00 does not exist in America/New_York (the clocks "
        "skip it at a daylight saving change); possible instants: 2026-03-08T01:30:00-05:00 or "
        "2026-03-08T03:30:00-04:00; send an offset time to choose",
    ),
    (
        {"date_time": "2026-03-01T10:00:00", "time_zone": "Mars/Base"},
        {"date_time": "2026-03-01T11:00:00", "time_zone": "Mars/Base"},
        "start.time_zone: unknown time zone 'Mars/Base' (expected an IANA name such as "
        "'Europe/Paris', or a Windows zone name such as 'Romance Standard Time')",
    ),
    (
        {"date": "2026-05-28"},
        {"date": "2026-05-28"},
        "end: must be after start (all-day end.date is exclusive: a one-day event on 2025-05-28 "
        "ends on 2025-05-29)",
    ),
    (
        {"date": "2026-05-28"},
        {"date_time": "2026-05-29T10:00:00Z"},
        "end: start and end must both be all-day ('date') or both timed ('date_time')",
    ),
    (
        {"date_time": "2026-05-28T10:00:00Z"},
        {"date_time": "2026-05-28T12:00:00+02:00"},
        "end: must be after start",
    ),
]


@pytest.mark.parametrize(("start", "end", "detail"), BAD)
async def test_bad_times_are_400_saying_why(
    api: Api, start: dict[str, str], end: dict[str, str], detail: str
) -> None:
    r = await api.call("POST", api.events_url(), json=body(start, end))
    assert r.status_code == 400, r.text
    assert r.json()["type"] == "errors/invalid_parameters"
    assert r.json()["detail"] == detail
