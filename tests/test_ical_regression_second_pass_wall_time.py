"""Regression: the second of two equal wall times (DST overlap, ``fold=1``) was exported as a
TZID wall time, which RFC 5545 (section 3.3.5) and every reader take as the first: an hour early.
It is now written in UTC with ``X-CALGATE-TZID`` naming its zone, and read back to the same
instant and zone."""

from __future__ import annotations

import dataclasses
import datetime as dt

import icalendar
import pytest
import recurring_ical_events

from calgate.domain.ical import calendar_to_ics, parse_ics, to_vcalendar, to_vevent
from calgate.domain.model import Calendar, Event, EventFields
from calgate.domain.times import EventTime

UTC = dt.UTC
PARIS = "Europe/Paris"
CALENDAR = Calendar(id="cal-1", account_id="acc-1", name="Night", timezone=PARIS)
STAMP = dt.datetime(2026, 1, 1, tzinfo=UTC)
# 02:30 happens twice in Paris on 2026-10-25: 00:30Z (+02:00), then 01:30Z (+01:00).
SECOND = EventTime(wall=dt.datetime(2026, 10, 25, 2, 30, fold=1), tz=PARIS)
FIRST = EventTime(wall=dt.datetime(2026, 10, 25, 2, 30), tz=PARIS)
END = EventTime(wall=dt.datetime(2026, 10, 25, 3, 30), tz=PARIS)


def event(start: EventTime, end: EventTime = END, **changes: object) -> Event:
    fields = EventFields(title="night", start=start, end=end)
    base = Event(
        id="evt-1",
        calendar_id=CALENDAR.id,
        ical_uid="night@calgate.test",
        fields=fields,
        created_at=STAMP,
        updated_at=STAMP,
    )
    return dataclasses.replace(base, **changes)


def lines(source: Event) -> list[str]:
    text = calendar_to_ics(CALENDAR, [source]).decode()
    return text.replace("\r\n ", "").split("\r\n")


def wire(time: EventTime | None) -> dict[str, str] | None:
    # EventTime equality ignores fold (naive datetimes do): compare what the API shows.
    return None if time is None else time.to_wire()


def test_second_pass_is_written_in_utc_with_its_zone() -> None:
    text = lines(event(SECOND))
    assert "DTSTART;X-CALGATE-TZID=Europe/Paris:20261025T013000Z" in text
    assert "DTEND;TZID=Europe/Paris:20261025T033000" in text


def test_first_pass_stays_a_tzid_wall_time() -> None:
    text = lines(event(FIRST))
    assert "DTSTART;TZID=Europe/Paris:20261025T023000" in text
    assert not any("X-CALGATE-TZID" in line for line in text)


@pytest.mark.parametrize("start", [SECOND, FIRST], ids=["second", "first"])
def test_round_trip_keeps_instant_zone_and_fold(start: EventTime) -> None:
    [back] = parse_ics(calendar_to_ics(CALENDAR, [event(start)]))
    assert wire(back.fields.start) == wire(start)
    assert back.fields.start.wall is not None and start.wall is not None
    assert back.fields.start.wall.fold == start.wall.fold
    assert back.fields.start.utc == start.utc
    assert wire(back.fields.end) == wire(END)


def test_second_pass_start_is_read_by_other_readers_at_its_instant() -> None:
    # A CalDAV resource or a mail (no calendar, so no X-WR-TIMEZONE: recurring-ical-events moves
    # UTC times into that zone and drops fold=1 on the way).
    ics = to_vcalendar([to_vevent(event(SECOND))]).to_ical()
    vevent = icalendar.Calendar.from_ical(ics).walk("VEVENT")[0]
    assert vevent["DTSTART"].dt == dt.datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    found = recurring_ical_events.of(icalendar.Calendar.from_ical(ics)).between(
        dt.datetime(2026, 10, 24, tzinfo=UTC), dt.datetime(2026, 10, 26, tzinfo=UTC)
    )
    assert [item["DTSTART"].dt for item in found] == [dt.datetime(2026, 10, 25, 1, 30, tzinfo=UTC)]


def test_recurrence_id_of_the_second_pass() -> None:
    exception = event(
        SECOND, recurrence_id=SECOND, fields=EventFields(title="moved", start=SECOND, end=END)
    )
    assert "RECURRENCE-ID;X-CALGATE-TZID=Europe/Paris:20261025T013000Z" in lines(exception)
    [back] = parse_ics(calendar_to_ics(CALENDAR, [exception]))
    assert wire(back.recurrence_id) == {
        "date_time": "2026-10-25T02:30:00+01:00",
        "time_zone": PARIS,
    }


def test_series_starting_at_the_second_pass_round_trips() -> None:
    fields = EventFields(
        title="night",
        start=SECOND,
        end=END,
        recurrence=("RRULE:FREQ=DAILY;COUNT=2", "EXDATE:20261026T013000Z"),
    )
    [back] = parse_ics(calendar_to_ics(CALENDAR, [event(SECOND, fields=fields)]))
    assert wire(back.fields.start) == wire(SECOND)
    assert back.fields.recurrence == fields.recurrence


def test_vevent_alone_carries_the_parameter() -> None:
    vevent = to_vevent(event(SECOND))
    assert vevent["DTSTART"].params["X-CALGATE-TZID"] == PARIS
    assert "TZID" not in vevent["DTSTART"].params


def ics(*props: str) -> str:
    body = "\r\n".join(("BEGIN:VEVENT", "UID:x@example.org", "DTSTAMP:20260101T000000Z", *props))
    head = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN"
    return f"{head}\r\n{body}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"


def test_duration_after_a_second_pass_start_counts_from_its_instant() -> None:
    # Aware arithmetic drops fold=1: PT1H used to count from the first 02:30.
    [back] = parse_ics(ics("DTSTART;X-CALGATE-TZID=Europe/Paris:20261025T013000Z", "DURATION:PT1H"))
    assert wire(back.fields.start) == {
        "date_time": "2026-10-25T02:30:00+01:00",
        "time_zone": PARIS,
    }
    assert back.fields.end.utc == dt.datetime(2026, 10, 25, 2, 30, tzinfo=UTC)
    assert wire(back.fields.end) == {"date_time": "2026-10-25T03:30:00+01:00", "time_zone": PARIS}


@pytest.mark.parametrize(
    ("prop", "expected"),
    [
        # An unknown zone in the parameter is ignored: the value stays in UTC.
        (
            "DTSTART;X-CALGATE-TZID=Mars/Olympus:20261025T013000Z",
            {"date_time": "2026-10-25T01:30:00+00:00", "time_zone": "UTC"},
        ),
        # A Windows name works as in TZID.
        (
            "DTSTART;X-CALGATE-TZID=Romance Standard Time:20261025T013000Z",
            {"date_time": "2026-10-25T02:30:00+01:00", "time_zone": PARIS},
        ),
        # A TZID value keeps its own zone; the parameter only names the zone of a UTC value.
        (
            "DTSTART;TZID=America/New_York;X-CALGATE-TZID=Europe/Paris:20261025T023000",
            {"date_time": "2026-10-25T02:30:00-04:00", "time_zone": "America/New_York"},
        ),
    ],
)
def test_parameter_reading(prop: str, expected: dict[str, str]) -> None:
    [back] = parse_ics(ics(prop, "DURATION:PT1H"))
    assert wire(back.fields.start) == expected
