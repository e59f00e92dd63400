"""What to_vevent and calendar_to_ics write, line by line."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import icalendar
import pytest

from calgate.domain.ical import OPEN_SERIES_YEARS, calendar_to_ics, to_vcalendar, to_vevent
from calgate.domain.model import Attendee, Calendar, Conference, Event, EventFields, Organizer
from calgate.domain.times import EventTime
from calgate.errors import InvalidParameters

UTC = dt.UTC
PARIS = "Europe/Paris"

ANN = Attendee("ann@example.org", "Ann", is_organizer=True, response_status="yes")
BOB = Attendee("bob@example.org", optional=True, response_status="no")
ROOM = Attendee("room4@example.org", "Room 4", is_resource=True, response_status="maybe")

FIELDS = EventFields(
    title="Weekly sync",
    start=EventTime(wall=dt.datetime(2025, 3, 28, 10), tz=PARIS),
    end=EventTime(wall=dt.datetime(2025, 3, 28, 11), tz=PARIS),
    body="Agenda:\n1. news",
    location="Room 4, floor 2",
    visibility="public",
    conference=Conference("zoom", "https://zoom.us/j/123", "123"),
    attendees=(ANN, BOB, ROOM),
    recurrence=(
        "RRULE:FREQ=WEEKLY;UNTIL=20250627T080000Z;BYDAY=FR",
        "EXDATE;TZID=Europe/Paris:20250404T100000",
    ),
    color="#33B679",
)
EVENT = Event(
    id="evt-1",
    calendar_id="cal-1",
    ical_uid="sync-1@example.org",
    fields=FIELDS,
    created_at=dt.datetime(2025, 1, 1, 9, tzinfo=UTC),
    updated_at=dt.datetime(2025, 1, 2, 3, 4, 5, 123000, tzinfo=UTC),
    sequence=3,
    organizer=Organizer("ann@example.org", "Ann"),
)


def with_fields(**changes: Any) -> Event:
    return dataclasses.replace(EVENT, fields=dataclasses.replace(FIELDS, **changes))


def lines(component: icalendar.Component) -> list[str]:
    """The unfolded content lines of a component's own properties."""
    own: list[str] = []
    for line in [str(line) for line in component.content_lines() if line][1:]:
        if line.startswith(("BEGIN:", "END:")):
            break
        own.append(line)
    return own


def test_vevent_lines() -> None:
    assert lines(to_vevent(EVENT)) == [
        "SUMMARY:Weekly sync",
        "DTSTART;TZID=Europe/Paris:20250328T100000",
        "DTEND;TZID=Europe/Paris:20250328T110000",
        "DTSTAMP:20250102T030405Z",
        "UID:sync-1@example.org",
        "SEQUENCE:3",
        "RRULE:FREQ=WEEKLY;UNTIL=20250627T080000Z;BYDAY=FR",
        "EXDATE;TZID=Europe/Paris:20250404T100000",
        "ATTENDEE;CN=Ann;PARTSTAT=ACCEPTED;ROLE=REQ-PARTICIPANT;RSVP=TRUE:mailto:ann@example.org",
        "ATTENDEE;PARTSTAT=DECLINED;ROLE=OPT-PARTICIPANT;RSVP=TRUE:mailto:bob@example.org",
        'ATTENDEE;CN="Room 4";CUTYPE=RESOURCE;PARTSTAT=TENTATIVE;ROLE=NON-PARTICIPANT;RSVP=TRUE:'
        "mailto:room4@example.org",
        "CLASS:PUBLIC",
        "COLOR:mediumseagreen",
        "CONFERENCE;FEATURE=VIDEO;LABEL=Zoom;VALUE=URI:https://zoom.us/j/123",
        "CREATED:20250101T090000Z",
        "DESCRIPTION:Agenda:\\n1. news",
        "LAST-MODIFIED:20250102T030405Z",
        "LOCATION:Room 4\\, floor 2",
        "ORGANIZER;CN=Ann:mailto:ann@example.org",
        "TRANSP:OPAQUE",
        "X-CALGATE-COLOR:#33B679",
        "X-CALGATE-CONFERENCE-ID:123",
        "X-CALGATE-CONFERENCE-PROVIDER:zoom",
    ]


def test_all_day_utc_exception_cancelled_and_flags() -> None:
    source = dataclasses.replace(
        EVENT,
        fields=EventFields(
            title="Off",
            start=EventTime(date=dt.date(2025, 5, 28)),
            end=EventTime(date=dt.date(2025, 5, 29)),
            transparency="transparent",
            visibility="default",
            is_attendees_list_hidden=True,
            guests_can_modify=True,
        ),
        recurrence_id=EventTime(wall=dt.datetime(2025, 5, 28, 8), tz="UTC"),
        is_cancelled=True,
        organizer=None,
    )
    assert lines(to_vevent(source)) == [
        "SUMMARY:Off",
        "DTSTART;VALUE=DATE:20250528",
        "DTEND;VALUE=DATE:20250529",
        "DTSTAMP:20250102T030405Z",
        "UID:sync-1@example.org",
        "RECURRENCE-ID:20250528T080000Z",
        "SEQUENCE:3",
        "CREATED:20250101T090000Z",
        "LAST-MODIFIED:20250102T030405Z",
        "STATUS:CANCELLED",
        "TRANSP:TRANSPARENT",
        "X-CALGATE-GUESTS-CAN-MODIFY;VALUE=BOOLEAN:TRUE",
        "X-CALGATE-HIDE-ATTENDEES;VALUE=BOOLEAN:TRUE",
    ]


@pytest.mark.parametrize(
    ("visibility", "expected"),
    [("public", ["PUBLIC"]), ("private", ["PRIVATE"]), ("confidential", ["CONFIDENTIAL"])],
)
def test_class(visibility: str, expected: list[str]) -> None:
    vevent = to_vevent(with_fields(visibility=visibility))
    assert [str(vevent["CLASS"])] == expected


def test_default_visibility_writes_no_class() -> None:
    assert "CLASS" not in to_vevent(with_fields(visibility="default"))


def test_hide_attendees_leaves_them_out() -> None:
    vevent = to_vevent(EVENT, hide_attendees=True)
    assert "ATTENDEE" not in vevent
    assert str(vevent["ORGANIZER"]) == "mailto:ann@example.org"
    assert [str(a) for a in to_vevent(EVENT, hide_attendees=False).attendees] == [
        "mailto:ann@example.org",
        "mailto:bob@example.org",
        "mailto:room4@example.org",
    ]


def test_organizer_argument_wins_then_event_then_organizer_attendee() -> None:
    chosen = Organizer("boss@example.org", "Boss")
    vevent = to_vevent(EVENT, organizer=chosen)
    assert str(vevent["ORGANIZER"]) == "mailto:boss@example.org"
    assert vevent["ORGANIZER"].params["CN"] == "Boss"
    from_attendee = to_vevent(dataclasses.replace(EVENT, organizer=None))
    assert str(from_attendee["ORGANIZER"]) == "mailto:ann@example.org"
    nobody = dataclasses.replace(with_fields(attendees=(BOB,)), organizer=None)
    assert "ORGANIZER" not in to_vevent(nobody)


def test_conference_without_url_keeps_provider_only() -> None:
    vevent = to_vevent(with_fields(conference=Conference("teams")))
    assert "CONFERENCE" not in vevent
    assert str(vevent["X-CALGATE-CONFERENCE-PROVIDER"]) == "teams"
    assert "X-CALGATE-CONFERENCE-ID" not in vevent


@pytest.mark.parametrize(
    ("color", "name"),
    [
        ("#039BE5", "dodgerblue"),
        ("#D50000", "red"),
        ("#616161", "dimgray"),
        ("#ffffff", "white"),
        ("#000001", "black"),
    ],
)
def test_colour_is_a_css3_name_with_the_exact_hex_beside_it(color: str, name: str) -> None:
    vevent = to_vevent(with_fields(color=color))
    assert str(vevent["COLOR"]) == name
    assert str(vevent["X-CALGATE-COLOR"]) == color


@pytest.mark.parametrize(
    ("line", "detail"),
    [
        ("DTSTART:20250101T000000Z", "expected an RRULE, EXRULE, RDATE or EXDATE line"),
        ("RRULE:FREQ=SOMETIMES", "Expected frequency, got: SOMETIMES"),
        ("EXDATE:2025-01-01", "Expected datetime, date, or time. Got: '2025-01-01'"),
        ("no colon here", "Content line could not be parsed into parts: 'no colon here'"),
    ],
)
def test_bad_recurrence_lines_are_invalid(line: str, detail: str) -> None:
    with pytest.raises(InvalidParameters) as raised:
        to_vevent(with_fields(recurrence=("RRULE:FREQ=DAILY", line)))
    assert raised.value.detail.startswith(f"recurrence[1]: {line!r}: {detail}")


def test_recurrence_tzid_unknown_is_invalid() -> None:
    with pytest.raises(InvalidParameters) as raised:
        to_vevent(with_fields(recurrence=("EXDATE;TZID=Mars/Olympus:20250101T100000",)))
    assert raised.value.detail.startswith("recurrence[0]: TZID: unknown time zone 'Mars/Olympus'")


def test_recurrence_windows_tzid_is_written_as_iana() -> None:
    vevent = to_vevent(
        with_fields(recurrence=("EXDATE;TZID=Eastern Standard Time:20250101T100000",))
    )
    assert lines(vevent)[6] == "EXDATE;TZID=America/New_York:20250101T100000"


CALENDAR = Calendar(
    id="cal-1",
    account_id="acc-1",
    name="Team",
    description="Our team",
    timezone="Europe/Paris",
    background_color="#1A73E8",
)


def test_calendar_header() -> None:
    vcalendar = icalendar.Calendar.from_ical(calendar_to_ics(CALENDAR, []))
    assert lines(vcalendar) == [
        "VERSION:2.0",
        "PRODID:-//calgate//calgate//EN",
        "CALSCALE:GREGORIAN",
        "X-WR-CALDESC:Our team",
        "X-WR-CALNAME:Team",
        "COLOR:dodgerblue",
        "X-APPLE-CALENDAR-COLOR:#1A73E8",
        "X-WR-TIMEZONE:Europe/Paris",
    ]
    assert vcalendar.subcomponents == []


def test_output_is_crlf_and_folded() -> None:
    data = calendar_to_ics(CALENDAR, [EVENT])
    assert data.startswith(b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\n")
    assert data.endswith(b"END:VEVENT\r\nEND:VCALENDAR\r\n")
    assert max(len(line) for line in data.split(b"\r\n")) <= 75
    assert (
        b"ATTENDEE;CN=Ann;PARTSTAT=ACCEPTED;ROLE=REQ-PARTICIPANT;RSVP=TRUE:mailto:an\r\n n@" in data
    )


def _vtimezone_span(data: bytes) -> dict[str, str]:
    vcalendar = icalendar.Calendar.from_ical(data)
    return {timezone.tz_name: str(timezone["COMMENT"]) for timezone in vcalendar.timezones}


def test_vtimezone_covers_the_years_used() -> None:
    data = calendar_to_ics(CALENDAR, [EVENT])  # 2025, RRULE with UNTIL in 2025
    assert _vtimezone_span(data) == {
        PARIS: "This timezone only works from 2025-01-01 to 2026-01-01."
    }
    vcalendar = icalendar.Calendar.from_ical(data)
    [paris] = vcalendar.timezones
    parts = [*paris.standard, *paris.daylight]
    assert all("RDATE" not in part for part in parts)
    assert sorted(part.decoded("DTSTART") for part in parts) == [
        dt.datetime(2025, 1, 1, 0, 0),
        dt.datetime(2025, 3, 30, 2, 0),  # onsets are wall times before the change
        dt.datetime(2025, 10, 26, 3, 0),
    ]


def test_open_series_extends_the_vtimezone() -> None:
    open_series = with_fields(recurrence=("RRULE:FREQ=WEEKLY;BYDAY=FR",))
    later = dataclasses.replace(
        EVENT,
        ical_uid="later",
        fields=dataclasses.replace(
            FIELDS,
            start=EventTime(wall=dt.datetime(2027, 6, 1, 9), tz="Asia/Kolkata"),
            end=EventTime(wall=dt.datetime(2027, 6, 1, 10), tz="Asia/Kolkata"),
            recurrence=(),
        ),
    )
    data = calendar_to_ics(CALENDAR, [open_series, later])
    assert _vtimezone_span(data) == {
        "Asia/Kolkata": "This timezone only works from 2027-01-01 to 2028-01-01.",
        PARIS: f"This timezone only works from 2025-01-01 to {2025 + OPEN_SERIES_YEARS + 1}-01-01.",
    }


def test_vcalendar_for_a_caldav_resource_or_a_mail() -> None:
    resource = to_vcalendar([to_vevent(EVENT)])
    assert lines(resource) == [
        "VERSION:2.0",
        "PRODID:-//calgate//calgate//EN",
        "CALSCALE:GREGORIAN",
    ]
    assert [c.name for c in resource.subcomponents] == ["VTIMEZONE", "VEVENT"]
    mail = to_vcalendar([to_vevent(EVENT, hide_attendees=True)], method="REQUEST")
    assert lines(mail)[3] == "METHOD:REQUEST"
