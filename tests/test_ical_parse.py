"""parse_ics on real-world input: zones, missing ends, vendors' extras, and bad files."""

from __future__ import annotations

import datetime as dt

import pytest

from calgate.domain.ical import MAX_IMPORT_EVENTS, ParsedEvent, iter_ics, parse_ics
from calgate.domain.model import Attendee, Conference, EventFields, Organizer
from calgate.domain.times import EventTime
from calgate.errors import ContentTooLarge, InvalidParameters

UTC = dt.UTC


def ics(*lines: str) -> str:
    return "\r\n".join(["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//EN", *lines, ""]) + (
        "END:VCALENDAR\r\n"
    )


def vevent(*lines: str) -> list[str]:
    return ["BEGIN:VEVENT", "UID:u1", *lines, "END:VEVENT"]


def one(data: str | bytes, floating_tz: str = "UTC") -> ParsedEvent:
    [parsed] = parse_ics(data, floating_tz=floating_tz)
    return parsed


def wall(tz: str, year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> EventTime:
    return EventTime(wall=dt.datetime(year, month, day, hour, minute), tz=tz)


def date(year: int, month: int, day: int) -> EventTime:
    return EventTime(date=dt.date(year, month, day))


# (DTSTART/DTEND/DURATION lines) -> (start, end)
TIMES = {
    "utc": (
        ["DTSTART:20250528T100000Z", "DTEND:20250528T113000Z"],
        (wall("UTC", 2025, 5, 28, 10), wall("UTC", 2025, 5, 28, 11, 30)),
    ),
    "iana": (
        ["DTSTART;TZID=Europe/Paris:20250528T100000", "DTEND;TZID=Europe/Paris:20250528T110000"],
        (wall("Europe/Paris", 2025, 5, 28, 10), wall("Europe/Paris", 2025, 5, 28, 11)),
    ),
    "windows_names": (
        [
            "DTSTART;TZID=Romance Standard Time:20250528T100000",
            "DTEND;TZID=Eastern Standard Time:20250528T060000",
        ],
        (wall("Europe/Paris", 2025, 5, 28, 10), wall("America/New_York", 2025, 5, 28, 6)),
    ),
    "vendor_path_tzids": (
        [
            "DTSTART;TZID=/mozilla.org/20050126_1/Europe/Paris:20250528T100000",
            "DTEND;TZID=/freeassociation.sourceforge.net/Tzfile/Australia/Lord_Howe:"
            "20250528T190000",
        ],
        (wall("Europe/Paris", 2025, 5, 28, 10), wall("Australia/Lord_Howe", 2025, 5, 28, 19)),
    ),
    "floating_is_utc": (
        ["DTSTART:20250528T100000", "DTEND:20250528T110000"],
        (wall("UTC", 2025, 5, 28, 10), wall("UTC", 2025, 5, 28, 11)),
    ),
    "all_day": (
        ["DTSTART;VALUE=DATE:20250528", "DTEND;VALUE=DATE:20250530"],
        (date(2025, 5, 28), date(2025, 5, 30)),
    ),
    "all_day_without_end_lasts_a_day": (
        ["DTSTART;VALUE=DATE:20241231"],
        (date(2024, 12, 31), date(2025, 1, 1)),
    ),
    "all_day_end_equal_to_start_lasts_a_day": (
        ["DTSTART;VALUE=DATE:20250528", "DTEND;VALUE=DATE:20250528"],
        (date(2025, 5, 28), date(2025, 5, 29)),
    ),
    "all_day_duration_weeks": (
        ["DTSTART;VALUE=DATE:20250528", "DURATION:P2W"],
        (date(2025, 5, 28), date(2025, 6, 11)),
    ),
    "timed_without_end_lasts_the_standin": (
        ["DTSTART;TZID=Europe/Paris:20250528T100000"],
        (wall("Europe/Paris", 2025, 5, 28, 10), wall("Europe/Paris", 2025, 5, 28, 10, 1)),
    ),
    "timed_end_equal_to_start": (
        ["DTSTART:20250528T100000Z", "DTEND:20250528T100000Z"],
        (wall("UTC", 2025, 5, 28, 10), wall("UTC", 2025, 5, 28, 10, 1)),
    ),
    "zero_duration": (
        ["DTSTART:20250528T100000Z", "DURATION:PT0S"],
        (wall("UTC", 2025, 5, 28, 10), wall("UTC", 2025, 5, 28, 10, 1)),
    ),
    "duration_exact_hours": (
        ["DTSTART;TZID=Europe/Paris:20250330T013000", "DURATION:PT2H"],
        # 01:30 CET + 2 h = 04:30 CEST: the 02:00-03:00 hour does not exist that night
        (wall("Europe/Paris", 2025, 3, 30, 1, 30), wall("Europe/Paris", 2025, 3, 30, 4, 30)),
    ),
    "duration_days_are_wall_clock_days": (
        ["DTSTART;TZID=Europe/Paris:20250329T100000", "DURATION:P1DT1H"],
        (wall("Europe/Paris", 2025, 3, 29, 10), wall("Europe/Paris", 2025, 3, 30, 11)),
    ),
    "start_in_dst_gap_is_the_instant_after": (
        ["DTSTART;TZID=America/New_York:20250309T023000", "DURATION:PT1H"],
        (wall("America/New_York", 2025, 3, 9, 3, 30), wall("America/New_York", 2025, 3, 9, 4, 30)),
    ),
    "ambiguous_start_is_the_first": (
        ["DTSTART;TZID=Europe/Paris:20251026T023000", "DURATION:PT1H"],
        # 02:30 CEST (00:30 UTC) + 1 h = 02:30 CET
        (
            wall("Europe/Paris", 2025, 10, 26, 2, 30),
            EventTime(wall=dt.datetime(2025, 10, 26, 2, 30, fold=1), tz="Europe/Paris"),
        ),
    ),
}


@pytest.mark.parametrize("name", sorted(TIMES))
def test_times(name: str) -> None:
    lines, (start, end) = TIMES[name]
    parsed = one(ics(*vevent(*lines)))
    assert (parsed.fields.start, parsed.fields.end) == (start, end)


def test_ambiguous_start_keeps_the_first_instant() -> None:
    parsed = one(ics(*vevent("DTSTART;TZID=Europe/Paris:20251026T023000", "DURATION:PT1H")))
    assert parsed.fields.start.utc == dt.datetime(2025, 10, 26, 0, 30, tzinfo=UTC)
    assert parsed.fields.end.utc == dt.datetime(2025, 10, 26, 1, 30, tzinfo=UTC)


def test_floating_times_can_be_read_in_a_given_zone() -> None:
    data = ics(*vevent("DTSTART:20250528T100000", "DTEND:20250528T110000"))
    parsed = one(data, floating_tz="Romance Standard Time")
    assert (parsed.fields.start, parsed.fields.end) == (
        wall("Europe/Paris", 2025, 5, 28, 10),
        wall("Europe/Paris", 2025, 5, 28, 11),
    )


OUTLOOK_CUSTOM_ZONE = [
    "BEGIN:VTIMEZONE",
    "TZID:Customized Time Zone",
    "BEGIN:STANDARD",
    "DTSTART:16010101T030000",
    "TZOFFSETFROM:+0200",
    "TZOFFSETTO:+0100",
    "RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=10",
    "END:STANDARD",
    "BEGIN:DAYLIGHT",
    "DTSTART:16010101T020000",
    "TZOFFSETFROM:+0100",
    "TZOFFSETTO:+0200",
    "RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=3",
    "END:DAYLIGHT",
    "END:VTIMEZONE",
]


def test_custom_vtimezone_gives_utc_instants() -> None:
    parsed = one(
        ics(
            *OUTLOOK_CUSTOM_ZONE,
            *vevent(
                "DTSTART;TZID=Customized Time Zone:20250107T100000",
                "DTEND;TZID=Customized Time Zone:20250707T110000",
                "RRULE:FREQ=WEEKLY;BYDAY=TU",
                "EXDATE;TZID=Customized Time Zone:20250114T100000,20250715T100000",
            ),
        )
    )
    assert parsed.fields.start == wall("UTC", 2025, 1, 7, 9)
    assert parsed.fields.end == wall("UTC", 2025, 7, 7, 9)
    assert parsed.fields.recurrence == (
        "RRULE:FREQ=WEEKLY;BYDAY=TU",
        "EXDATE:20250114T090000Z,20250715T080000Z",
    )


def test_custom_vtimezone_with_an_iana_tzid_keeps_the_zone() -> None:
    zone = [line.replace("Customized Time Zone", "Europe/Paris") for line in OUTLOOK_CUSTOM_ZONE]
    parsed = one(ics(*zone, *vevent("DTSTART;TZID=Europe/Paris:20250107T100000")))
    assert parsed.fields.start == wall("Europe/Paris", 2025, 1, 7, 10)


def test_recurrence_lines_are_read_with_zones_normalised() -> None:
    parsed = one(
        ics(
            *vevent(
                "DTSTART;TZID=Europe/Paris:20250106T090000",
                "DTEND;TZID=Europe/Paris:20250106T100000",
                "RRULE:BYDAY=MO;FREQ=WEEKLY;UNTIL=20250630T070000Z",
                "EXRULE:FREQ=MONTHLY;BYDAY=1MO",
                "RDATE:20250108T080000Z",
                "RDATE;VALUE=DATE:20250110",
                "RDATE;VALUE=PERIOD:20250111T080000Z/PT1H",
                "EXDATE;TZID=W. Europe Standard Time:20250113T090000",
                "EXDATE:20250120T090000",
            )
        )
    )
    assert parsed.fields.recurrence == (
        "RRULE:FREQ=WEEKLY;UNTIL=20250630T070000Z;BYDAY=MO",
        "EXRULE:FREQ=MONTHLY;BYDAY=1MO",
        "RDATE:20250108T080000Z",
        "RDATE;VALUE=DATE:20250110",
        "RDATE;VALUE=PERIOD:20250111T080000Z/PT1H",
        "EXDATE;TZID=Europe/Berlin:20250113T090000",
        "EXDATE:20250120T090000Z",
    )


GOOGLE_EXPORT = b"""BEGIN:VCALENDAR\r
PRODID:-//Google Inc//Google Calendar 70.9054//EN\r
VERSION:2.0\r
CALSCALE:GREGORIAN\r
METHOD:PUBLISH\r
X-WR-CALNAME:Team\r
X-WR-TIMEZONE:Europe/Paris\r
BEGIN:VEVENT\r
DTSTART:20250528T080000Z\r
DTEND:20250528T090000Z\r
DTSTAMP:20250601T120000Z\r
ORGANIZER;CN=Olga:mailto:olga@example.org\r
UID:7kukuqrfedlm2f9t0vr42q2kbc@google.com\r
ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED;CN=Olga;X-\r
 NUM-GUESTS=0:mailto:olga@example.org\r
ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=\r
 TRUE;CN=ren\xc3\r
 \xa9@example.org;X-NUM-GUESTS=0:mailto:ren\xc3\xa9@example.org\r
ATTENDEE;CUTYPE=ROOM;ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED;CN=Salle 4;X-NUM-\r
 GUESTS=0:mailto:c_188@resource.calendar.google.com\r
ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT=DELEGATED;CN=Del:\r
 mailto:del@example.org\r
ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=CHAIR;PARTSTAT=TENTATIVE:mailto:chair@ex\r
 ample.org\r
ATTENDEE;CUTYPE=GROUP:urn:uuid:1c6bd7a2-0000-4000-8000-000000000000\r
X-GOOGLE-CONFERENCE:https://meet.google.com/abc-defg-hij\r
CREATED:20250501T100000Z\r
DESCRIPTION:Plan\\, review\\; ship\\nSecond line\\N\\\\o/\r
LAST-MODIFIED:20250502T100000Z\r
LOCATION:Salle 4\r
SEQUENCE:2\r
STATUS:CONFIRMED\r
SUMMARY:Sync \xe2\x9c\x93\r
TRANSP:OPAQUE\r
BEGIN:VALARM\r
ACTION:DISPLAY\r
DESCRIPTION:This is an event reminder\r
TRIGGER:-P0DT0H10M0S\r
END:VALARM\r
END:VEVENT\r
END:VCALENDAR\r
"""


def test_google_export() -> None:
    parsed = one(b"\xef\xbb\xbf" + GOOGLE_EXPORT)
    olga = Organizer("olga@example.org", "Olga")
    assert parsed == ParsedEvent(
        uid="7kukuqrfedlm2f9t0vr42q2kbc@google.com",
        fields=EventFields(
            title="Sync \u2713",
            start=wall("UTC", 2025, 5, 28, 8),
            end=wall("UTC", 2025, 5, 28, 9),
            body="Plan, review; ship\nSecond line\n\\o/",
            location="Salle 4",
            conference=Conference("google_meet", "https://meet.google.com/abc-defg-hij"),
            attendees=(
                Attendee("olga@example.org", "Olga", is_organizer=True, response_status="yes"),
                Attendee("ren\u00e9@example.org", "ren\u00e9@example.org"),
                Attendee(
                    "c_188@resource.calendar.google.com",
                    "Salle 4",
                    is_resource=True,
                    response_status="yes",
                ),
                Attendee("del@example.org", "Del"),
                Attendee("chair@example.org", is_organizer=True, response_status="maybe"),
            ),
        ),
        recurrence_id=None,
        sequence=2,
        is_cancelled=False,
        organizer=olga,
        created_at=dt.datetime(2025, 5, 1, 10, tzinfo=UTC),
        updated_at=dt.datetime(2025, 5, 2, 10, tzinfo=UTC),
    )


def test_outlook_style_extras() -> None:
    parsed = one(
        ics(
            *vevent(
                "DTSTART;TZID=Romance Standard Time:20250528T100000",
                "DTEND;TZID=Romance Standard Time:20250528T110000",
                "CLASS:PRIVATE",
                "TRANSP:TRANSPARENT",
                "STATUS:CANCELLED",
                "ORGANIZER:mailto:boss@example.org",
                "ATTENDEE;ROLE=OPT-PARTICIPANT;PARTSTAT=DECLINED:boss@example.org",
                "ATTENDEE;ROLE=NON-PARTICIPANT:mailto:fyi@example.org",
                "X-MICROSOFT-SKYPETEAMSMEETINGURL:https://teams.microsoft.com/l/meetup-join/x",
                "COLOR:tomato",
            )
        )
    )
    assert parsed.is_cancelled is True
    assert parsed.organizer == Organizer("boss@example.org")
    assert parsed.fields.visibility == "private"
    assert parsed.fields.transparency == "transparent"
    assert parsed.fields.color == "#FF6347"
    assert parsed.fields.conference == Conference(
        "teams", "https://teams.microsoft.com/l/meetup-join/x"
    )
    assert parsed.fields.attendees == (
        Attendee("boss@example.org", optional=True, is_organizer=True, response_status="no"),
        Attendee("fyi@example.org", optional=True),
    )


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["COLOR:#a1b2c3"], "#A1B2C3"),
        (["COLOR:DarkSlateGray"], "#2F4F4F"),
        (["COLOR:not-a-colour"], None),
        (["COLOR:red", "X-CALGATE-COLOR:#d50000"], "#d50000"),
        (["X-CALGATE-COLOR:bogus", "COLOR:navy"], "#000080"),
        ([], None),
    ],
)
def test_colour(lines: list[str], expected: str | None) -> None:
    parsed = one(ics(*vevent("DTSTART;VALUE=DATE:20250528", *lines)))
    assert parsed.fields.color == expected


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (
            [
                "CONFERENCE;VALUE=URI;FEATURE=PHONE;LABEL=Dial-in:tel:+33-1-00-00-00-00",
                "CONFERENCE;VALUE=URI;FEATURE=AUDIO,VIDEO:https://zoom.us/j/99",
            ],
            Conference("zoom", "https://zoom.us/j/99"),
        ),
        (
            ["CONFERENCE;VALUE=URI:https://eu01web.zoom.us/j/1"],
            Conference("zoom", "https://eu01web.zoom.us/j/1"),
        ),
        (
            ["CONFERENCE;VALUE=URI:https://notzoom.us/j/1"],
            Conference("unknown", "https://notzoom.us/j/1"),
        ),
        (["X-CALGATE-CONFERENCE-PROVIDER:teams"], Conference("teams")),
        (["X-CALGATE-CONFERENCE-PROVIDER:skype"], None),
        ([], None),
    ],
)
def test_conference(lines: list[str], expected: Conference | None) -> None:
    parsed = one(ics(*vevent("DTSTART;VALUE=DATE:20250528", *lines)))
    assert parsed.fields.conference == expected


def test_flags_accept_plain_text() -> None:
    parsed = one(
        ics(
            *vevent(
                "DTSTART;VALUE=DATE:20250528",
                "X-CALGATE-HIDE-ATTENDEES:true",
                "X-CALGATE-GUESTS-CAN-MODIFY:FALSE",
            )
        )
    )
    assert parsed.fields.is_attendees_list_hidden is True
    assert parsed.fields.guests_can_modify is False


def test_several_calendars_and_exceptions_in_one_file() -> None:
    first = ics(
        *vevent("DTSTART:20250106T090000Z", "RRULE:FREQ=DAILY", "SUMMARY:Series"),
        *vevent(
            "RECURRENCE-ID:20250107T090000Z",
            "DTSTART:20250107T100000Z",
            "DURATION:PT1H",
            "SUMMARY:Moved",
        ),
    )
    second = ics("BEGIN:VEVENT", "UID:u2", "DTSTART;VALUE=DATE:20250101", "END:VEVENT")
    parsed = parse_ics(first + second)
    assert [(p.uid, p.fields.title, p.recurrence_id) for p in parsed] == [
        ("u1", "Series", None),
        ("u1", "Moved", wall("UTC", 2025, 1, 7, 9)),
        ("u2", "", None),
    ]
    assert list(iter_ics(first + second)) == parsed


def test_missing_uid_gets_a_stable_one() -> None:
    data = ics("BEGIN:VEVENT", "DTSTART;VALUE=DATE:20250101", "SUMMARY:No UID", "END:VEVENT")
    first, again = one(data), one(data)
    assert first.uid == again.uid
    assert first.uid.startswith("calgate-")
    assert len(first.uid) == len("calgate-") + 32
    other = ics("BEGIN:VEVENT", "DTSTART;VALUE=DATE:20250102", "SUMMARY:No UID", "END:VEVENT")
    assert one(other).uid != first.uid


def test_timestamps_and_sequence_defaults() -> None:
    parsed = one(ics(*vevent("DTSTART;VALUE=DATE:20250101", "CREATED:20250101T120000")))
    assert parsed.created_at == dt.datetime(2025, 1, 1, 12, tzinfo=UTC)
    assert parsed.updated_at is None
    assert parsed.sequence == 0


def test_broken_bookkeeping_times_read_as_none() -> None:
    parsed = one(
        ics(
            *vevent(
                "DTSTART;VALUE=DATE:20250101",
                "CREATED:yesterday",
                "LAST-MODIFIED:20250502T100000.000Z",
            )
        )
    )
    assert (parsed.created_at, parsed.updated_at) == (None, None)


BAD = [
    (
        ics(*vevent("DTSTART;TZID=Mars/Olympus:20250101T100000")),
        "VEVENT 1 (UID u1): DTSTART: unknown time zone 'Mars/Olympus' (the file has no VTIMEZONE "
        "for it, and it is not an IANA or Windows zone name)",
    ),
    (
        ics(*vevent("DTSTART:20250101T100000Z", "DTEND:20250101T110000Z", "DURATION:PT1H")),
        "VEVENT 1 (UID u1): DTEND and DURATION: give one of them, not both",
    ),
    (
        ics(*vevent("DTSTART:2025010", "DURATION:PT1H")),
        "VEVENT 1 (UID u1): DTSTART: Expected time, got: 2025010",
    ),
    (
        ics(*vevent("SUMMARY:x")),
        "VEVENT 1 (UID u1): DTSTART: missing (an imported VEVENT needs a start)",
    ),
    (
        ics(*vevent("DTSTART:20250101T100000Z", "DTEND:20250101T090000Z")),
        "VEVENT 1 (UID u1): DTEND: is before DTSTART",
    ),
    (
        ics(*vevent("DTSTART;VALUE=DATE:20250101", "DTEND:20250101T090000Z")),
        "VEVENT 1 (UID u1): DTEND: is a DATE-TIME but DTSTART is a DATE",
    ),
    (
        ics(*vevent("DTSTART:20250101T090000Z", "DTEND;VALUE=DATE:20250102")),
        "VEVENT 1 (UID u1): DTEND: is a DATE but DTSTART is a DATE-TIME",
    ),
    (
        ics(*vevent("DTSTART;VALUE=DATE:20250101", "DURATION:PT1H")),
        "VEVENT 1 (UID u1): DURATION: an all-day event (DTSTART is a DATE) lasts whole days or "
        "weeks",
    ),
    (
        ics(*vevent("DTSTART:20250101T100000Z", "DURATION:-PT1H")),
        "VEVENT 1 (UID u1): DURATION: must not be negative",
    ),
    (
        ics(*vevent("DTSTART:20250101T100000Z", "RRULE:FREQ=FOO")),
        "VEVENT 1 (UID u1): RRULE: Expected frequency, got: FOO",
    ),
    (
        ics(*vevent("DTSTART:20250101T100000Z", "EXDATE:2025")),
        "VEVENT 1 (UID u1): EXDATE: Expected datetime, date, or time. Got: '2025'",
    ),
    (
        ics(*vevent("DTSTART:20250101T100000Z", "EXDATE;TZID=Mars/Olympus:20250102T100000")),
        "VEVENT 1 (UID u1): EXDATE: unknown time zone 'Mars/Olympus' (the file has no VTIMEZONE "
        "for it, and it is not an IANA or Windows zone name)",
    ),
    (
        ics(*vevent("DTSTART:20250101T100000Z", "SEQUENCE:x")),
        "VEVENT 1 (UID u1): SEQUENCE: Expected int, got: x",
    ),
    (
        ics(*vevent("DTSTART:20250101T100000Z", "SEQUENCE:-1")),
        "VEVENT 1 (UID u1): SEQUENCE: -1 is negative",
    ),
    (
        ics(*vevent("DTSTART:20250101T100000Z", "DTSTART:20250101T110000Z")),
        "VEVENT 1 (UID u1): DTSTART: appears 2 times; expected once",
    ),
    (
        ics(*vevent("DTSTART;VALUE=PERIOD:20250101T100000Z/PT1H")),
        "VEVENT 1 (UID u1): DTSTART: expected a DATE or DATE-TIME value",
    ),
    (
        ics(
            "BEGIN:VEVENT",
            "UID:fine",
            "DTSTART;VALUE=DATE:20250101",
            "END:VEVENT",
            "BEGIN:VEVENT",
            "UID:abc",
            "DTSTART:20250101T100000Z",
            "RECURRENCE-ID:2025",
            "END:VEVENT",
        ),
        "VEVENT 2 (UID abc): RECURRENCE-ID: Expected datetime, date, or time. Got: '2025'",
    ),
    (
        "hello world",
        "iCalendar: Content line could not be parsed into parts: 'hello world': "
        "Invalid content line",
    ),
    ("", "iCalendar: no complete VCALENDAR (BEGIN:VCALENDAR … END:VCALENDAR) in the file"),
    (
        "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\n",
        "iCalendar: no complete VCALENDAR (BEGIN:VCALENDAR … END:VCALENDAR) in the file",
    ),
    (
        b"BEGIN:VCALENDAR\r\nX:\xff\r\nEND:VCALENDAR\r\n",
        "iCalendar: not UTF-8 text ('utf-8' codec can't decode byte 0xff in position 19: "
        "invalid start byte)",
    ),
]


@pytest.mark.parametrize(("data", "detail"), BAD)
def test_bad_input_names_the_component_and_property(data: str | bytes, detail: str) -> None:
    with pytest.raises(InvalidParameters) as raised:
        parse_ics(data)
    assert raised.value.detail == detail
    assert raised.value.status == 400


def test_unknown_floating_zone_is_invalid() -> None:
    with pytest.raises(InvalidParameters) as raised:
        parse_ics(ics(*vevent("DTSTART;VALUE=DATE:20250101")), floating_tz="Nowhere")
    assert raised.value.detail.startswith("floating_tz: unknown time zone 'Nowhere'")


def test_too_many_vevents() -> None:
    data = ics(*(["BEGIN:VEVENT", "END:VEVENT"] * (MAX_IMPORT_EVENTS + 1)))
    with pytest.raises(ContentTooLarge) as raised:
        parse_ics(data)
    assert raised.value.detail == "iCalendar: more than 100000 VEVENTs in one file"
    assert raised.value.error.type == "errors/content_too_large"
