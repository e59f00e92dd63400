"""Regression: a series starting at the second of two equal wall times (DST overlap, ``fold=1``)
was expanded from the first of them (``Series.dtstart`` dropped the fold): its first occurrence
came an hour early and the master's own start was no occurrence. DTSTART now keeps its fold;
the same wall time on other days is the first of two, as RFC 5545 section 3.3.5 says."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from calgate.domain.recurrence import (
    add_exdate,
    expand,
    is_occurrence,
    occurrence_token,
    parse_occurrence_token,
    series_bounds,
)
from calgate.domain.times import EventTime
from tests.conftest import Api

UTC = dt.UTC
PARIS = "Europe/Paris"
# 02:30 happens twice in Paris on 2026-10-25: 00:30Z (+02:00), then 01:30Z (+01:00).
SECOND = EventTime(wall=dt.datetime(2026, 10, 25, 2, 30, fold=1), tz=PARIS)
FIRST = EventTime(wall=dt.datetime(2026, 10, 25, 2, 30), tz=PARIS)
END = EventTime(wall=dt.datetime(2026, 10, 25, 3, 30), tz=PARIS)
DAILY = ["RRULE:FREQ=DAILY;COUNT=2"]


def utc(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 10, day, hour, minute, tzinfo=UTC)


def shown(times: list[EventTime]) -> list[str]:
    return [t.aware.isoformat() for t in times]


def test_first_occurrence_is_the_start_itself() -> None:
    found = expand(SECOND, END, DAILY, None, None)
    assert shown(found) == ["2026-10-25T02:30:00+01:00", "2026-10-26T02:30:00+01:00"]
    assert [t.utc for t in found] == [utc(25, 1, 30), utc(26, 1, 30)]
    assert [t.wall.fold for t in found if t.wall is not None] == [1, 0]


def test_the_first_of_the_two_is_unchanged() -> None:
    # Expanded first, so a cache keyed on the (fold-blind) EventTime would hand it to SECOND.
    first_end = EventTime(wall=dt.datetime(2026, 10, 25, 3, 30), tz=PARIS)
    assert shown(expand(FIRST, first_end, DAILY, None, None)) == [
        "2026-10-25T02:30:00+02:00",
        "2026-10-26T02:30:00+01:00",
    ]
    assert shown(expand(SECOND, END, DAILY, None, None)) == [
        "2026-10-25T02:30:00+01:00",
        "2026-10-26T02:30:00+01:00",
    ]


def test_membership_of_the_start() -> None:
    assert is_occurrence(SECOND, END, DAILY, SECOND)
    assert not is_occurrence(SECOND, END, DAILY, FIRST)
    assert is_occurrence(SECOND, END, DAILY, EventTime.at(utc(26, 1, 30), PARIS))


def test_window_holding_only_the_start() -> None:
    found = expand(SECOND, END, DAILY, utc(25, 1), utc(25, 2))
    assert shown(found) == ["2026-10-25T02:30:00+01:00"]
    assert expand(SECOND, END, DAILY, utc(25, 0), utc(25, 1, 30)) == []


def test_series_bounds() -> None:
    assert series_bounds(SECOND, END, DAILY) == (utc(25, 1, 30), utc(26, 2, 30))
    assert series_bounds(SECOND, END, ["RRULE:FREQ=DAILY;COUNT=1"]) == (
        utc(25, 1, 30),
        utc(25, 2, 30),
    )
    assert series_bounds(SECOND, END, ["RRULE:FREQ=DAILY"]) == (utc(25, 1, 30), None)


def test_occurrence_token_round_trip() -> None:
    token = occurrence_token(SECOND)
    assert token == "20261025T013000Z"
    back = parse_occurrence_token(token, SECOND)
    assert back.to_wire() == {"date_time": "2026-10-25T02:30:00+01:00", "time_zone": PARIS}
    assert back.wall is not None and back.wall.fold == 1
    assert is_occurrence(SECOND, END, DAILY, back)


def test_add_exdate_removes_the_start() -> None:
    # A TZID EXDATE would name the first 02:30 (00:30Z) and remove nothing.
    lines = add_exdate(DAILY, SECOND, SECOND)
    assert lines == ("RRULE:FREQ=DAILY;COUNT=2", "EXDATE:20261025T013000Z")
    assert shown(expand(SECOND, END, lines, None, None)) == ["2026-10-26T02:30:00+01:00"]
    assert not is_occurrence(SECOND, END, lines, SECOND)
    assert add_exdate(lines, SECOND, SECOND) == lines
    next_day = EventTime.at(utc(26, 1, 30), PARIS)
    assert add_exdate(lines, SECOND, next_day) == (
        "RRULE:FREQ=DAILY;COUNT=2",
        "EXDATE:20261025T013000Z",
        "EXDATE;TZID=Europe/Paris:20261026T023000",
    )


def test_sub_daily_rule_stays_in_the_second_pass() -> None:
    lines = ["RRULE:FREQ=MINUTELY;INTERVAL=15;COUNT=4"]
    assert shown(expand(SECOND, END, lines, None, None)) == [
        "2026-10-25T02:30:00+01:00",
        "2026-10-25T02:45:00+01:00",
        "2026-10-25T03:00:00+01:00",
        "2026-10-25T03:15:00+01:00",
    ]


def test_same_wall_time_a_year_later_is_the_first_of_two() -> None:
    # Paris falls back on 2027-10-31: its 02:30 is ambiguous again, and the rule gives the first.
    found = expand(SECOND, END, ["RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU;COUNT=2"], None, None)
    assert shown(found) == ["2026-10-25T02:30:00+01:00", "2027-10-31T02:30:00+02:00"]


# Through the API ------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_api_lists_and_gets_the_first_occurrence(api: Api) -> None:
    body: dict[str, Any] = {
        "title": "night",
        "start": {"date_time": "2026-10-25T02:30:00+01:00", "time_zone": PARIS},
        "end": {"date_time": "2026-10-25T03:30:00+01:00", "time_zone": PARIS},
        "recurrence": DAILY,
    }
    master_id = await api.create(body)
    master = await api.get(master_id)
    assert master["start"] == body["start"]
    params = {
        "start": "2026-10-24T00:00:00Z",
        "end": "2026-10-28T00:00:00Z",
        "expand_recurring": "true",
    }
    r = await api.call("GET", api.events_url(), params=params)
    assert r.status_code == 200, r.text
    listed = r.json()["data"]
    assert [(e["id"], e["start"]["date_time"]) for e in listed] == [
        (f"{master_id}_20261025T013000Z", "2026-10-25T02:30:00+01:00"),
        (f"{master_id}_20261026T013000Z", "2026-10-26T02:30:00+01:00"),
    ]
    first = await api.get(f"{master_id}_20261025T013000Z")
    assert first["master_event_id"] == master_id
    assert first["start"] == body["start"]
    assert first["end"] == body["end"]
    # The instant an hour earlier (the first 02:30) is no occurrence.
    early = await api.call("GET", f"{api.events_url()}/{master_id}_20261025T003000Z")
    assert early.status_code == 404, early.text
    # Deleting the first occurrence removes it (an EXDATE in UTC) and leaves the next day.
    gone = await api.call("DELETE", f"{api.events_url()}/{master_id}_20261025T013000Z")
    assert gone.status_code == 200, gone.text
    assert (await api.get(master_id))["recurrence"] == [
        "RRULE:FREQ=DAILY;COUNT=2",
        "EXDATE:20261025T013000Z",
    ]
    r = await api.call("GET", api.events_url(), params=params)
    assert [e["id"] for e in r.json()["data"]] == [f"{master_id}_20261026T013000Z"]
