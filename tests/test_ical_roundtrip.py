"""Event → .ics → parse_ics gives the same event back, and the .ics is one icalendar accepts."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from typing import Any

import icalendar
import pytest

from calgate.domain.ical import ParsedEvent, calendar_to_ics, canonical_recurrence, parse_ics
from calgate.domain.model import Attendee, Calendar, Conference, Event, EventFields, Organizer
from calgate.domain.times import EventTime

UTC = dt.UTC
CALENDAR = Calendar(id="cal-1", account_id="acc-1", name="Work", timezone="Europe/Paris")
CREATED = dt.datetime(2025, 1, 10, 8, 0, 0, tzinfo=UTC)
UPDATED = dt.datetime(2025, 2, 11, 9, 30, 15, tzinfo=UTC)


def wall(tz: str, year: int, month: int, day_: int, hour: int = 0, minute: int = 0) -> EventTime:
    return EventTime(wall=dt.datetime(year, month, day_, hour, minute), tz=tz)


def day(year: int, month: int, day_: int) -> EventTime:
    return EventTime(date=dt.date(year, month, day_))


def event(fields: EventFields, **changes: Any) -> Event:
    base = Event(
        id="evt-1",
        calendar_id=CALENDAR.id,
        ical_uid="uid-1@calgate.test",
        fields=fields,
        created_at=CREATED,
        updated_at=UPDATED,
        sequence=4,
    )
    return dataclasses.replace(base, **changes)


def parsed(source: Event) -> ParsedEvent:
    """What parse_ics must give back for ``source`` (one VEVENT)."""
    return ParsedEvent(
        uid=source.ical_uid,
        fields=source.fields,
        recurrence_id=source.recurrence_id,
        sequence=source.sequence,
        is_cancelled=source.is_cancelled,
        organizer=source.organizer,
        created_at=CREATED,
        updated_at=UPDATED,
    )


def timed(start: EventTime, end: EventTime, **changes: Any) -> EventFields:
    return dataclasses.replace(EventFields(title="Meeting", start=start, end=end), **changes)


PEOPLE = (
    Attendee("org@example.org", "Olga Organizer", is_organizer=True, response_status="yes"),
    Attendee("req@example.org", "Rita Required", response_status="no"),
    Attendee("opt@example.org", "Otto Optional", optional=True, response_status="maybe"),
    Attendee("nobody@example.org"),
    Attendee("room@example.org", "Room 4", is_resource=True, response_status="yes"),
    Attendee("late@example.org", "Lee", response_status="yes", comment="Late by 5'; sorry, ok?"),
)

CASES: dict[str, Event] = {
    "utc": event(timed(wall("UTC", 2025, 5, 28, 10), wall("UTC", 2025, 5, 28, 11, 30))),
    "paris": event(
        timed(
            wall("Europe/Paris", 2025, 3, 29, 22),  # over the spring-forward night
            wall("Europe/Paris", 2025, 3, 30, 9),
        )
    ),
    "new_york": event(
        timed(wall("America/New_York", 2025, 11, 1, 23), wall("America/New_York", 2025, 11, 2, 3))
    ),
    "lord_howe": event(
        timed(
            wall("Australia/Lord_Howe", 2025, 10, 5, 1, 45),  # clocks go 02:00 → 02:30
            wall("Australia/Lord_Howe", 2025, 10, 5, 2, 45),
        )
    ),
    "start_and_end_zones_differ": event(
        timed(wall("Europe/Paris", 2025, 6, 1, 9), wall("America/New_York", 2025, 6, 1, 12))
    ),
    "all_day": event(timed(day(2025, 5, 28), day(2025, 5, 29))),
    "all_day_leap_span": event(timed(day(2024, 2, 28), day(2024, 3, 2))),
    "recurring": event(
        timed(
            wall("Europe/Paris", 2025, 1, 6, 9),
            wall("Europe/Paris", 2025, 1, 6, 10),
            recurrence=(
                "RRULE:FREQ=WEEKLY;UNTIL=20250630T070000Z;BYDAY=MO",
                "RDATE;TZID=Europe/Paris:20250108T090000,20250110T090000",
                "EXDATE;TZID=Europe/Paris:20250113T090000",
                "EXDATE;TZID=America/New_York:20250120T030000",
            ),
        )
    ),
    "recurring_all_day": event(
        timed(
            day(2025, 1, 31),
            day(2025, 2, 1),
            recurrence=(
                "RRULE:FREQ=MONTHLY;COUNT=12;BYMONTHDAY=-1",
                "RDATE;VALUE=DATE:20250215",
                "EXDATE;VALUE=DATE:20250331",
            ),
        )
    ),
    "exception": event(
        timed(
            wall("Europe/Paris", 2025, 1, 14, 15),
            wall("Europe/Paris", 2025, 1, 14, 16),
            title="Moved occurrence",
        ),
        recurrence_id=wall("Europe/Paris", 2025, 1, 13, 9),
        sequence=1,
    ),
    "cancelled_exception": event(
        timed(wall("UTC", 2025, 1, 20, 8), wall("UTC", 2025, 1, 20, 9)),
        recurrence_id=wall("UTC", 2025, 1, 20, 8),
        is_cancelled=True,
    ),
    "attendees": event(
        timed(wall("UTC", 2025, 5, 28, 10), wall("UTC", 2025, 5, 28, 11), attendees=PEOPLE),
        organizer=Organizer("org@example.org", "Olga Organizer"),
    ),
    "hidden_attendees": event(
        timed(
            wall("UTC", 2025, 5, 28, 10),
            wall("UTC", 2025, 5, 28, 11),
            attendees=PEOPLE[1:3],
            is_attendees_list_hidden=True,
        )
    ),
    "google_meet": event(
        timed(
            wall("UTC", 2025, 5, 28, 10),
            wall("UTC", 2025, 5, 28, 11),
            conference=Conference("google_meet", "https://meet.google.com/abc-defg-hij", "abc"),
        )
    ),
    "teams_without_id": event(
        timed(
            wall("UTC", 2025, 5, 28, 10),
            wall("UTC", 2025, 5, 28, 11),
            conference=Conference("teams", "https://teams.microsoft.com/l/meetup-join/19%3a"),
        )
    ),
    "zoom": event(
        timed(
            wall("UTC", 2025, 5, 28, 10),
            wall("UTC", 2025, 5, 28, 11),
            conference=Conference("zoom", "https://zoom.us/j/123?pwd=x,y", "123"),
        )
    ),
    "conference_to_create": event(
        timed(
            wall("UTC", 2025, 5, 28, 10),
            wall("UTC", 2025, 5, 28, 11),
            conference=Conference("google_meet"),
        )
    ),
    "colour_palette": event(
        timed(wall("UTC", 2025, 5, 28, 10), wall("UTC", 2025, 5, 28, 11), color="#039BE5")
    ),
    "colour_lower_case": event(
        timed(wall("UTC", 2025, 5, 28, 10), wall("UTC", 2025, 5, 28, 11), color="#a1b2c3")
    ),
    "every_field": event(
        EventFields(
            title="Plan, review; ship \\ done",
            start=wall("Europe/Paris", 2025, 7, 1, 14),
            end=wall("Europe/Paris", 2025, 7, 1, 15),
            body="Line one\nLine two\n\nünïcödé ✓ 日本",
            location="Room 4, floor 2; east wing",
            transparency="transparent",
            visibility="confidential",
            conference=Conference("unknown", "https://video.example.org/r/42", "42"),
            is_attendees_list_hidden=True,
            attendees=PEOPLE,
            recurrence=("RRULE:FREQ=DAILY;COUNT=5",),
            color="#8E24AA",
            guests_can_modify=True,
        ),
        organizer=Organizer("org@example.org", "Olga Organizer"),
    ),
}
CASES["private"] = event(
    timed(wall("UTC", 2025, 5, 28, 10), wall("UTC", 2025, 5, 28, 11), visibility="private")
)
CASES["public"] = event(
    timed(wall("UTC", 2025, 5, 28, 10), wall("UTC", 2025, 5, 28, 11), visibility="public")
)


@pytest.mark.parametrize("name", sorted(CASES))
def test_round_trip_gives_the_same_event(name: str) -> None:
    source = CASES[name]
    assert parse_ics(calendar_to_ics(CALENDAR, [source])) == [parsed(source)]


@pytest.mark.parametrize("name", sorted(CASES))
def test_output_has_one_vtimezone_per_zone_used(name: str) -> None:
    vcalendar = icalendar.Calendar.from_ical(calendar_to_ics(CALENDAR, [CASES[name]]))
    counts = Counter(timezone.tz_name for timezone in vcalendar.timezones)
    assert set(counts) == vcalendar.get_used_tzids()
    assert all(count == 1 for count in counts.values())
    assert vcalendar.get_missing_tzids() == set()


def test_a_whole_calendar_round_trips_with_one_vtimezone_per_zone() -> None:
    events = [
        event(source.fields, ical_uid=f"uid-{name}", recurrence_id=source.recurrence_id)
        for name, source in sorted(CASES.items())
    ]
    data = calendar_to_ics(CALENDAR, events)
    vcalendar = icalendar.Calendar.from_ical(data)
    assert [timezone.tz_name for timezone in vcalendar.timezones] == [
        "America/New_York",
        "Australia/Lord_Howe",
        "Europe/Paris",
    ]
    assert [item.uid for item in parse_ics(data)] == [f"uid-{name}" for name in sorted(CASES)]
    assert [item.fields for item in parse_ics(data)] == [event.fields for event in events]


def test_zone_used_only_in_exdate_gets_its_vtimezone() -> None:
    source = event(
        timed(
            wall("UTC", 2025, 1, 6, 9),
            wall("UTC", 2025, 1, 6, 10),
            recurrence=(
                "RRULE:FREQ=DAILY;COUNT=30",
                "EXDATE;TZID=Asia/Kolkata:20250108T143000",
                "RDATE;TZID=Australia/Lord_Howe:20250301T200000",
            ),
        )
    )
    vcalendar = icalendar.Calendar.from_ical(calendar_to_ics(CALENDAR, [source]))
    assert [timezone.tz_name for timezone in vcalendar.timezones] == [
        "Asia/Kolkata",
        "Australia/Lord_Howe",
    ]
    assert vcalendar.get_missing_tzids() == set()


def test_icalendar_reads_the_same_instants() -> None:
    """An independent reader (icalendar's own tz handling) agrees on every instant."""
    source = CASES["lord_howe"]
    vevent = icalendar.Calendar.from_ical(calendar_to_ics(CALENDAR, [source])).events[0]
    assert vevent.start == source.fields.start.aware
    assert isinstance(vevent.start, dt.datetime)
    assert isinstance(vevent.end, dt.datetime)
    # 01:45 at +10:30, then 02:45 at +11:00: the hour on the wall lasts 30 minutes.
    assert vevent.start.astimezone(UTC) == dt.datetime(2025, 10, 4, 15, 15, tzinfo=UTC)
    assert vevent.end.astimezone(UTC) == dt.datetime(2025, 10, 4, 15, 45, tzinfo=UTC)


def test_recurrence_comes_back_in_canonical_form() -> None:
    lines = (
        "EXDATE;TZID=Romance Standard Time:20250113T090000",
        "RRULE:BYDAY=MO;FREQ=WEEKLY;COUNT=10",
    )
    source = event(
        timed(
            wall("Europe/Paris", 2025, 1, 6, 9),
            wall("Europe/Paris", 2025, 1, 6, 10),
            recurrence=lines,
        )
    )
    expected = (
        "RRULE:FREQ=WEEKLY;COUNT=10;BYDAY=MO",
        "EXDATE;TZID=Europe/Paris:20250113T090000",
    )
    assert canonical_recurrence(lines) == expected
    [result] = parse_ics(calendar_to_ics(CALENDAR, [source]))
    assert result.fields.recurrence == expected
