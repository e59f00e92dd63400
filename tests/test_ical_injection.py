"""No text a client sends can start a new property, parameter or component in the output."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import Any

import icalendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calgate.domain.ical import calendar_to_ics, parse_ics, to_vevent
from calgate.domain.model import Attendee, Calendar, Conference, Event, EventFields, Organizer
from calgate.domain.times import EventTime
from calgate.errors import InvalidParameters

UTC = dt.UTC
CALENDAR = Calendar(id="cal-1", account_id="acc-1", name="Work")
EVIL = "\r\nATTENDEE:mailto:evil@example.org"

# The properties a plain event with a title has; an injection would add to this set.
PLAIN = {
    "UID", "DTSTAMP", "CREATED", "LAST-MODIFIED", "SEQUENCE", "DTSTART", "DTEND", "SUMMARY",
    "TRANSP",
}  # fmt: skip


def event(**changes: Any) -> Event:
    fields = EventFields(
        title="x",
        start=EventTime(wall=dt.datetime(2025, 5, 28, 10), tz="UTC"),
        end=EventTime(wall=dt.datetime(2025, 5, 28, 11), tz="UTC"),
    )
    return Event(
        id="evt-1",
        calendar_id="cal-1",
        ical_uid="uid-1",
        fields=dataclasses.replace(fields, **changes),
        created_at=dt.datetime(2025, 1, 1, tzinfo=UTC),
        updated_at=dt.datetime(2025, 1, 1, tzinfo=UTC),
    )


def only_vevent(data: bytes) -> icalendar.Event:
    [vevent] = icalendar.Calendar.from_ical(data).events
    return vevent


def assert_clean_lines(data: bytes) -> None:
    """Every physical line ends in CRLF and holds no other CR or LF."""
    assert data.endswith(b"\r\n")
    for line in data[:-2].split(b"\r\n"):
        assert b"\r" not in line
        assert b"\n" not in line


TITLES = [
    # (title, what it reads back as)
    ("a\nb", "a\nb"),
    ("a\r\nb", "a\nb"),  # TEXT has one line break: CRLF reads back as LF
    ("a\rb", "a\nb"),  # and so does a lone CR
    (EVIL, "\nATTENDEE:mailto:evil@example.org"),
    ("\nEND:VEVENT\nBEGIN:VEVENT\nUID:other", "\nEND:VEVENT\nBEGIN:VEVENT\nUID:other"),
    ("semi;colon", "semi;colon"),
    ("com,ma", "com,ma"),
    ("back\\slash", "back\\slash"),
    ("C:\\New folder\\notes", "C:\\New folder\\notes"),  # \N and \n are not line breaks here
    ("\\n\\N\\,\\;", "\\n\\N\\,\\;"),
    ("ends with backslash\\", "ends with backslash\\"),
    ('quote " and colon: x', 'quote " and colon: x'),
    ("tab\there", "tab\there"),
    ("nul\x00 vt\x0b ff\x0c esc\x1b del\x7f", "nul vt ff esc del"),  # not allowed in TEXT
    ("line\u2028sep\u2029para\x85nel", "line\u2028sep\u2029para\x85nel"),
    ("long " * 40 + "é" * 40 + EVIL, "long " * 40 + "é" * 40 + EVIL.replace("\r\n", "\n")),
]


@pytest.mark.parametrize(("title", "expected"), TITLES)
def test_title_never_makes_a_new_property(title: str, expected: str) -> None:
    data = calendar_to_ics(CALENDAR, [event(title=title)])
    assert_clean_lines(data)
    vevent = only_vevent(data)
    assert set(vevent) == PLAIN
    assert vevent.errors == []
    assert str(vevent["SUMMARY"]) == expected
    [parsed] = parse_ics(data)
    assert parsed.fields.title == expected
    assert parsed.fields.attendees == ()


# Characters that matter to a content line, mixed into any text.
AWKWARD = st.sampled_from(["\r", "\n", "\r\n", ";", ",", ":", "\\", "\\n", "\\N", '"', "^", "\x00"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=8), AWKWARD), max_size=12).map("".join))
def test_any_title_round_trips_as_one_summary(title: str) -> None:
    data = calendar_to_ics(CALENDAR, [event(title=title, location=title)])
    assert_clean_lines(data)
    expected = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", "", title)
    expected = expected.replace("\r\n", "\n").replace("\r", "\n")
    vevent = only_vevent(data)
    texts = {"SUMMARY", "LOCATION"} if title else set()
    assert set(vevent) == (PLAIN - {"SUMMARY"}) | texts
    [parsed] = parse_ics(data)
    assert (parsed.fields.title, parsed.fields.location) == (expected, expected)


@pytest.mark.parametrize(("text", "expected"), TITLES)
def test_description_and_location_never_make_a_new_property(text: str, expected: str) -> None:
    data = calendar_to_ics(CALENDAR, [event(body=text, location=text)])
    assert_clean_lines(data)
    vevent = only_vevent(data)
    assert set(vevent) == PLAIN | {"DESCRIPTION", "LOCATION"}
    assert str(vevent["DESCRIPTION"]) == expected
    assert str(vevent["LOCATION"]) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ('Eve "Boss"' + EVIL, 'Eve "Boss"\nATTENDEE:mailto:evil@example.org'),
        ("a;ROLE=CHAIR:mailto:x@example.org", "a;ROLE=CHAIR:mailto:x@example.org"),
        ("caret ^ and ^n", "caret ^ and ^n"),
        ("cr\ronly", "cr\nonly"),
    ],
)
def test_names_and_comments_stay_inside_their_parameter(name: str, expected: str) -> None:
    source = event(
        attendees=(Attendee("ann@example.org", name, comment=name),),
        is_attendees_list_hidden=False,
    )
    source = dataclasses.replace(source, organizer=Organizer("org@example.org", name))
    data = calendar_to_ics(CALENDAR, [source])
    assert_clean_lines(data)
    vevent = only_vevent(data)
    assert set(vevent) == PLAIN | {"ATTENDEE", "ORGANIZER"}
    assert str(vevent["ATTENDEE"]) == "mailto:ann@example.org"
    assert vevent["ATTENDEE"].params["CN"] == expected
    assert vevent["ATTENDEE"].params["ROLE"] == "REQ-PARTICIPANT"
    assert vevent["ORGANIZER"].params["CN"] == expected
    [parsed] = parse_ics(data)
    assert parsed.fields.attendees == (Attendee("ann@example.org", expected, comment=expected),)
    assert parsed.organizer == Organizer("org@example.org", expected)


def test_calendar_name_and_uid_are_escaped() -> None:
    calendar = dataclasses.replace(CALENDAR, name="Team" + EVIL, description="d" + EVIL)
    source = dataclasses.replace(event(), ical_uid="uid,1;2" + EVIL)
    data = calendar_to_ics(calendar, [source])
    assert_clean_lines(data)
    vcalendar = icalendar.Calendar.from_ical(data)
    # icalendar keeps x-properties verbatim: the escaped form is what it holds.
    assert str(vcalendar["X-WR-CALNAME"]) == "Team\\nATTENDEE:mailto:evil@example.org"
    assert str(vcalendar["X-WR-CALDESC"]) == "d\\nATTENDEE:mailto:evil@example.org"
    assert set(vcalendar) == {
        "VERSION", "PRODID", "CALSCALE", "X-WR-CALNAME", "X-WR-CALDESC", "X-WR-TIMEZONE",
        "COLOR", "X-APPLE-CALENDAR-COLOR",
    }  # fmt: skip
    assert set(only_vevent(data)) == PLAIN
    assert [parsed.uid for parsed in parse_ics(data)] == [
        "uid,1;2\nATTENDEE:mailto:evil@example.org"
    ]


@pytest.mark.parametrize(
    ("changes", "detail"),
    [
        (
            {"attendees": (Attendee("a@example.org" + EVIL),)},
            "attendees[0].email: 'a@example.org\\r\\nATTENDEE:mailto:evil@example.org' holds "
            "a space or control character",
        ),
        (
            {"attendees": (Attendee("a b@example.org"),)},
            "attendees[0].email: 'a b@example.org' holds a space or control character",
        ),
        (
            {"conference": Conference("zoom", "https://zoom.us/j/1\nX-EVIL:1")},
            "conference.url: 'https://zoom.us/j/1\\nX-EVIL:1' holds a space or control character",
        ),
        (
            {"recurrence": ("RRULE:FREQ=DAILY" + EVIL,)},
            "recurrence[0]: 'RRULE:FREQ=DAILY\\r\\nATTENDEE:mailto:evil@example.org': a "
            "recurrence line holds one line of text",
        ),
    ],
)
def test_addresses_and_rules_with_line_breaks_are_refused(
    changes: dict[str, Any], detail: str
) -> None:
    with pytest.raises(InvalidParameters) as raised:
        to_vevent(event(**changes))
    assert raised.value.detail == detail


def test_organizer_email_with_line_break_is_refused() -> None:
    with pytest.raises(InvalidParameters) as raised:
        to_vevent(event(), organizer=Organizer("o@example.org\r\nX:1"))
    assert raised.value.detail == (
        "organizer.email: 'o@example.org\\r\\nX:1' holds a space or control character"
    )


def test_conference_id_and_colour_are_escaped() -> None:
    source = event(conference=Conference("zoom", "https://zoom.us/j/1", "1" + EVIL))
    data = calendar_to_ics(CALENDAR, [source])
    assert_clean_lines(data)
    vevent = only_vevent(data)
    assert set(vevent) == PLAIN | {
        "CONFERENCE",
        "X-CALGATE-CONFERENCE-PROVIDER",
        "X-CALGATE-CONFERENCE-ID",
    }
    [parsed] = parse_ics(data)
    assert parsed.fields.conference == Conference(
        "zoom", "https://zoom.us/j/1", "1\nATTENDEE:mailto:evil@example.org"
    )
