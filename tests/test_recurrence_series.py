"""Series bounds, occurrence ids, membership and EXDATEs added for one occurrence."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from calgate.domain.recurrence import (
    MAX_LINE_LENGTH,
    add_exdate,
    expand,
    is_occurrence,
    occurrence_token,
    parse_occurrence_token,
    series_bounds,
    validate,
)
from calgate.domain.times import EventTime
from calgate.errors import InvalidParameters

UTC = dt.UTC
HOUR = dt.timedelta(hours=1)
PARIS = EventTime(wall=dt.datetime(2026, 1, 5, 9), tz="Europe/Paris")  # Monday, 08:00 UTC
PARIS_END = PARIS.shifted(HOUR)
ALL_DAY = EventTime(date=dt.date(2026, 1, 5))
ALL_DAY_END = EventTime(date=dt.date(2026, 1, 7))  # two days
IN_UTC = EventTime(wall=dt.datetime(2026, 1, 5, 9), tz="UTC")


def utc(year: int, month: int, day: int, hour: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, tzinfo=UTC)


# series_bounds ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "bounds"),
    [
        ([], (utc(2026, 1, 5, 8), utc(2026, 1, 5, 9))),
        (["RRULE:FREQ=WEEKLY;COUNT=4"], (utc(2026, 1, 5, 8), utc(2026, 1, 26, 9))),
        # UNTIL between two occurrences: the last one before it
        (["RRULE:FREQ=WEEKLY;UNTIL=20260131T000000Z"], (utc(2026, 1, 5, 8), utc(2026, 1, 26, 9))),
        (["RRULE:FREQ=WEEKLY;UNTIL=20260126T080000Z"], (utc(2026, 1, 5, 8), utc(2026, 1, 26, 9))),
        # summer time: 09:00 in Paris is 07:00 UTC
        (["RRULE:FREQ=MONTHLY;COUNT=6"], (utc(2026, 1, 5, 8), utc(2026, 6, 5, 8))),
        (["RRULE:FREQ=DAILY"], (utc(2026, 1, 5, 8), None)),
        (["RRULE:FREQ=DAILY;COUNT=3", "RRULE:FREQ=WEEKLY"], (utc(2026, 1, 5, 8), None)),
        (
            ["RRULE:FREQ=DAILY;COUNT=3", "RRULE:FREQ=WEEKLY;COUNT=3"],
            (utc(2026, 1, 5, 8), utc(2026, 1, 19, 9)),
        ),
        # exclusions at both ends
        (
            [
                "RRULE:FREQ=WEEKLY;COUNT=4",
                "EXDATE;TZID=Europe/Paris:20260105T090000,20260126T090000",
            ],
            (utc(2026, 1, 12, 8), utc(2026, 1, 19, 9)),
        ),
        (
            ["RRULE:FREQ=DAILY;COUNT=10", "EXRULE:FREQ=WEEKLY;BYDAY=SA,SU,MO"],
            (utc(2026, 1, 6, 8), utc(2026, 1, 14, 9)),
        ),
        (
            ["RRULE:FREQ=DAILY", "EXDATE;TZID=Europe/Paris:20260105T090000"],
            (utc(2026, 1, 6, 8), None),
        ),
        # RDATEs before and after the rule
        (
            ["RRULE:FREQ=WEEKLY;COUNT=2", "RDATE:20251231T120000Z,20260301T120000Z"],
            (utc(2025, 12, 31, 12), utc(2026, 3, 1, 13)),
        ),
        (
            ["RDATE;VALUE=PERIOD:20260301T120000Z/PT8H"],
            (utc(2026, 1, 5, 8), utc(2026, 3, 1, 13)),
        ),
        # everything excluded: the master's own times
        (
            ["RRULE:FREQ=WEEKLY;COUNT=1", "EXDATE:20260105T080000Z"],
            (utc(2026, 1, 5, 8), utc(2026, 1, 5, 9)),
        ),
    ],
)
def test_series_bounds(lines: list[str], bounds: tuple[dt.datetime, dt.datetime | None]) -> None:
    assert series_bounds(PARIS, PARIS_END, lines) == bounds


def test_series_bounds_of_an_all_day_series() -> None:
    lines = ["RRULE:FREQ=WEEKLY;UNTIL=20260130"]
    assert series_bounds(ALL_DAY, ALL_DAY_END, lines) == (utc(2026, 1, 5), utc(2026, 1, 28))


def test_series_bounds_agree_with_the_expansion() -> None:
    lines = [
        "RRULE:FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1;UNTIL=20281231T235959Z",
        "EXDATE;TZID=Europe/Paris:20281229T090000",
    ]
    times = expand(PARIS, PARIS_END, lines, None, None)
    first, last = series_bounds(PARIS, PARIS_END, lines)
    assert (first, last) == (times[0].utc, times[-1].utc + HOUR)
    assert times[-1].wall == dt.datetime(2028, 11, 30, 9)


def test_series_bounds_of_a_big_count_is_quick() -> None:
    started = time.perf_counter()
    first, last = series_bounds(IN_UTC, IN_UTC.shifted(HOUR), ["RRULE:FREQ=DAILY;COUNT=10000"])
    assert (first, last) == (utc(2026, 1, 5, 9), utc(2026, 1, 5, 10) + dt.timedelta(days=9999))
    assert time.perf_counter() - started < 1


# is_occurrence ---------------------------------------------------------------------------------

SERIES = ["RRULE:FREQ=WEEKLY;COUNT=4", "EXDATE:20260112T080000Z", "RDATE:20260201T120000Z"]


@pytest.mark.parametrize(
    ("candidate", "expected"),
    [
        (PARIS, True),
        (EventTime(wall=dt.datetime(2026, 1, 19, 9), tz="Europe/Paris"), True),
        (EventTime(wall=dt.datetime(2026, 1, 19, 13, 30), tz="Asia/Kolkata"), True),
        (EventTime(wall=dt.datetime(2026, 1, 19, 8), tz="UTC"), True),
        (EventTime(wall=dt.datetime(2026, 2, 1, 12), tz="UTC"), True),
        (EventTime(wall=dt.datetime(2026, 1, 12, 9), tz="Europe/Paris"), False),  # EXDATE
        (EventTime(wall=dt.datetime(2026, 1, 19, 10), tz="Europe/Paris"), False),
        (EventTime(wall=dt.datetime(2026, 2, 2, 9), tz="Europe/Paris"), False),  # past COUNT
        (EventTime(date=dt.date(2026, 1, 19)), False),
    ],
)
def test_is_occurrence(candidate: EventTime, expected: bool) -> None:
    assert is_occurrence(PARIS, PARIS_END, SERIES, candidate) is expected


def test_is_occurrence_of_an_all_day_series() -> None:
    lines = ["RRULE:FREQ=DAILY;INTERVAL=2"]  # 2030-01-02 is 1458 days after 2026-01-05
    assert is_occurrence(ALL_DAY, ALL_DAY_END, lines, EventTime(date=dt.date(2030, 1, 2)))
    assert not is_occurrence(ALL_DAY, ALL_DAY_END, lines, EventTime(date=dt.date(2030, 1, 1)))
    midnight = EventTime(wall=dt.datetime(2030, 1, 2), tz="UTC")
    assert not is_occurrence(ALL_DAY, ALL_DAY_END, lines, midnight)


# Occurrence tokens -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("occurrence", "token"),
    [
        (EventTime(wall=dt.datetime(2026, 1, 20, 14, 30), tz="Europe/Paris"), "20260120T133000Z"),
        (EventTime(wall=dt.datetime(2026, 7, 20, 14, 30), tz="Europe/Paris"), "20260720T123000Z"),
        (EventTime(wall=dt.datetime(2026, 1, 20, 9), tz="Asia/Kolkata"), "20260120T033000Z"),
        (EventTime(wall=dt.datetime(2026, 1, 20, 9, 0, 0, 999), tz="UTC"), "20260120T090000Z"),
        (EventTime(date=dt.date(2026, 1, 20)), "20260120"),
        (EventTime(date=dt.date(999, 1, 2)), "09990102"),
    ],
)
def test_occurrence_token(occurrence: EventTime, token: str) -> None:
    assert occurrence_token(occurrence) == token


def test_token_round_trip_in_the_series_zone() -> None:
    occurrence = parse_occurrence_token("20260720T123000Z", PARIS)
    assert occurrence == EventTime(wall=dt.datetime(2026, 7, 20, 14, 30), tz="Europe/Paris")
    assert occurrence_token(occurrence) == "20260720T123000Z"
    assert parse_occurrence_token("20260120", ALL_DAY) == EventTime(date=dt.date(2026, 1, 20))
    for token in ("20260105T080000Z", "20260119T080000Z"):
        assert is_occurrence(PARIS, PARIS_END, SERIES, parse_occurrence_token(token, PARIS))


WIDE = "".join(chr(0xFF10 + int(digit)) for digit in "20260120")  # full-width digits


@pytest.mark.parametrize(
    ("token", "start", "detail"),
    [
        (
            "20260120",
            PARIS,
            "occurrence id: '20260120' is not a UTC date-time like 20260120T133000Z (the series "
            "has timed occurrences)",
        ),
        (
            "20260120T133000",
            PARIS,
            "occurrence id: '20260120T133000' is not a UTC date-time like 20260120T133000Z (the "
            "series has timed occurrences)",
        ),
        (
            "20261320T133000Z",
            PARIS,
            "occurrence id: '20261320T133000Z' is not a UTC date-time like 20260120T133000Z (the "
            "series has timed occurrences)",
        ),
        (
            "20260120T133000Z",
            ALL_DAY,
            "occurrence id: '20260120T133000Z' is not a date like 20260120 (the series is all-day)",
        ),
        (
            "20260230",
            ALL_DAY,
            "occurrence id: '20260230' is not a date like 20260120 (the series is all-day)",
        ),
        (
            WIDE,
            ALL_DAY,
            f"occurrence id: {WIDE!r} is not a date like 20260120 (the series is all-day)",
        ),
    ],
)
def test_bad_tokens(token: str, start: EventTime, detail: str) -> None:
    with pytest.raises(InvalidParameters) as raised:
        parse_occurrence_token(token, start)
    assert raised.value.detail == detail


# add_exdate ------------------------------------------------------------------------------------

WEEKLY = ["RRULE:FREQ=WEEKLY;COUNT=4"]


def paris(year: int, month: int, day: int, hour: int, minute: int = 0) -> EventTime:
    return EventTime(wall=dt.datetime(year, month, day, hour, minute), tz="Europe/Paris")


def test_add_exdate_in_the_start_zone_and_join_the_line() -> None:
    once = add_exdate(WEEKLY, PARIS, paris(2026, 1, 12, 9))
    assert once == ("RRULE:FREQ=WEEKLY;COUNT=4", "EXDATE;TZID=Europe/Paris:20260112T090000")
    # given in another zone, written in the start's zone, joined to the same line
    kolkata = EventTime(wall=dt.datetime(2026, 1, 19, 13, 30), tz="Asia/Kolkata")
    twice = add_exdate(once, PARIS, kolkata)
    assert twice == (
        "RRULE:FREQ=WEEKLY;COUNT=4",
        "EXDATE;TZID=Europe/Paris:20260112T090000,20260119T090000",
    )
    assert add_exdate(twice, PARIS, kolkata) == twice
    times = expand(PARIS, PARIS_END, twice, None, None)
    assert [t.wall for t in times] == [dt.datetime(2026, 1, 5, 9), dt.datetime(2026, 1, 26, 9)]


def test_add_exdate_forms() -> None:
    assert add_exdate(WEEKLY, IN_UTC, EventTime(wall=dt.datetime(2026, 1, 12, 9), tz="UTC")) == (
        "RRULE:FREQ=WEEKLY;COUNT=4",
        "EXDATE:20260112T090000Z",
    )
    assert add_exdate(WEEKLY, ALL_DAY, EventTime(date=dt.date(2026, 1, 12))) == (
        "RRULE:FREQ=WEEKLY;COUNT=4",
        "EXDATE;VALUE=DATE:20260112",
    )
    # an EXDATE of another form stays as it is
    lines = [*WEEKLY, "EXDATE:20260119T080000Z"]
    assert add_exdate(lines, PARIS, paris(2026, 1, 12, 9)) == (
        "RRULE:FREQ=WEEKLY;COUNT=4",
        "EXDATE:20260119T080000Z",
        "EXDATE;TZID=Europe/Paris:20260112T090000",
    )
    # already excluded under another form: nothing to add
    assert add_exdate(lines, PARIS, paris(2026, 1, 19, 9)) == tuple(lines)


def test_add_exdate_of_a_gap_occurrence_names_the_real_wall_time() -> None:
    start = paris(2026, 3, 28, 2, 30)
    lines = ["RRULE:FREQ=DAILY;COUNT=3"]
    skipped = expand(start, start.shifted(HOUR), lines, None, None)[1]
    assert skipped == paris(2026, 3, 29, 3, 30)
    added = add_exdate(lines, start, skipped)
    assert added[-1] == "EXDATE;TZID=Europe/Paris:20260329T033000"
    assert len(expand(start, start.shifted(HOUR), added, None, None)) == 2


def test_add_exdate_starts_a_new_line_when_the_last_is_full() -> None:
    lines: tuple[str, ...] = ("RRULE:FREQ=DAILY",)
    for n in range(70):
        lines = add_exdate(lines, PARIS, PARIS.shifted(dt.timedelta(days=n)))
    assert len(lines) == 3
    assert all(len(line) <= MAX_LINE_LENGTH for line in lines)
    assert lines[1].count(",") + lines[2].count(",") + 2 == 70
    assert validate(lines, PARIS) == lines
    first = expand(PARIS, PARIS_END, lines, None, None, limit=1)
    assert first == [paris(2026, 3, 16, 9)]


def test_add_exdate_of_the_wrong_kind() -> None:
    with pytest.raises(InvalidParameters) as raised:
        add_exdate(WEEKLY, PARIS, EventTime(date=dt.date(2026, 1, 12)))
    assert raised.value.detail == "occurrence: expected a date-time, like the series start"
    with pytest.raises(InvalidParameters) as raised:
        add_exdate(WEEKLY, ALL_DAY, PARIS)
    assert raised.value.detail == "occurrence: expected an all-day date, like the series start"
