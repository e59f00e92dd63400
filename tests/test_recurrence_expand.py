"""Expanding series: DST in several zones, calendar edge cases, exclusions, windows and caps."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence

import pytest

from calgate.domain.recurrence import MAX_OCCURRENCES, expand
from calgate.domain.times import EventTime

UTC = dt.UTC


def at(tz: str, year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> EventTime:
    return EventTime(wall=dt.datetime(year, month, day, hour, minute), tz=tz)


def day(year: int, month: int, day: int) -> EventTime:
    return EventTime(date=dt.date(year, month, day))


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0
) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, second, us, tzinfo=UTC)


def shown(times: Sequence[EventTime]) -> list[str]:
    """Each occurrence as the wire shows it: its wall time with its offset, or its date."""
    return [t.date.isoformat() if t.date else t.aware.isoformat() for t in times]


def run(
    start: EventTime,
    lines: list[str],
    window: tuple[dt.datetime | None, dt.datetime | None] = (None, None),
    length: dt.timedelta = dt.timedelta(hours=1),
    limit: int = MAX_OCCURRENCES,
) -> list[str]:
    end = start.shifted(length)
    return shown(expand(start, end, lines, window[0], window[1], limit=limit))


# Daylight saving time -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "rule", "expected"),
    [
        # Paris springs forward on 29 March 2026 and falls back on 25 October 2026.
        (
            at("Europe/Paris", 2026, 3, 27, 9),
            "RRULE:FREQ=DAILY;COUNT=4",
            [
                "2026-03-27T09:00:00+01:00",
                "2026-03-28T09:00:00+01:00",
                "2026-03-29T09:00:00+02:00",
                "2026-03-30T09:00:00+02:00",
            ],
        ),
        (
            at("Europe/Paris", 2026, 10, 24, 9),
            "RRULE:FREQ=DAILY;COUNT=3",
            ["2026-10-24T09:00:00+02:00", "2026-10-25T09:00:00+01:00", "2026-10-26T09:00:00+01:00"],
        ),
        # 02:30 does not exist on 29 March: it moves forward by the gap, to 03:30.
        (
            at("Europe/Paris", 2026, 3, 28, 2, 30),
            "RRULE:FREQ=DAILY;COUNT=3",
            ["2026-03-28T02:30:00+01:00", "2026-03-29T03:30:00+02:00", "2026-03-30T02:30:00+02:00"],
        ),
        # 02:30 happens twice on 25 October: the first one counts.
        (
            at("Europe/Paris", 2026, 10, 24, 2, 30),
            "RRULE:FREQ=DAILY;COUNT=3",
            ["2026-10-24T02:30:00+02:00", "2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"],
        ),
        # New York: 8 March and 1 November 2026.
        (
            at("America/New_York", 2026, 3, 7, 2, 30),
            "RRULE:FREQ=DAILY;COUNT=3",
            ["2026-03-07T02:30:00-05:00", "2026-03-08T03:30:00-04:00", "2026-03-09T02:30:00-04:00"],
        ),
        (
            at("America/New_York", 2026, 10, 25, 1, 30),
            "RRULE:FREQ=WEEKLY;COUNT=3",
            ["2026-10-25T01:30:00-04:00", "2026-11-01T01:30:00-04:00", "2026-11-08T01:30:00-05:00"],
        ),
        # Lord Howe shifts by 30 minutes: back on 5 April, forward on 4 October 2026.
        (
            at("Australia/Lord_Howe", 2026, 4, 4, 9),
            "RRULE:FREQ=DAILY;COUNT=2",
            ["2026-04-04T09:00:00+11:00", "2026-04-05T09:00:00+10:30"],
        ),
        (
            at("Australia/Lord_Howe", 2026, 10, 3, 2, 15),
            "RRULE:FREQ=DAILY;COUNT=3",
            ["2026-10-03T02:15:00+10:30", "2026-10-04T02:45:00+11:00", "2026-10-05T02:15:00+11:00"],
        ),
        # Kolkata has no DST: the same offset all year.
        (
            at("Asia/Kolkata", 2026, 3, 28, 9),
            "RRULE:FREQ=MONTHLY;COUNT=3",
            ["2026-03-28T09:00:00+05:30", "2026-04-28T09:00:00+05:30", "2026-05-28T09:00:00+05:30"],
        ),
    ],
)
def test_wall_clock_time_is_kept_across_dst(
    start: EventTime, rule: str, expected: list[str]
) -> None:
    assert run(start, [rule]) == expected


def test_dst_instants_in_utc() -> None:
    start = at("Europe/Paris", 2026, 3, 28, 9)
    times = expand(
        start, start.shifted(dt.timedelta(hours=1)), ["RRULE:FREQ=DAILY"], None, None, limit=2
    )
    assert [t.utc for t in times] == [utc(2026, 3, 28, 8), utc(2026, 3, 29, 7)]
    assert [t.tz for t in times] == ["Europe/Paris", "Europe/Paris"]


def test_a_window_just_after_the_gap_sees_the_moved_occurrence() -> None:
    # 02:30 on 29 March is read as 03:30 (01:30 UTC): later than the 03:20 the window starts at.
    start = at("Europe/Paris", 2026, 3, 27, 2, 30)
    window = (utc(2026, 3, 29, 1, 20), utc(2026, 3, 29, 1, 25))
    twenty_minutes = dt.timedelta(minutes=20)
    assert run(start, ["RRULE:FREQ=DAILY"], window, twenty_minutes) == []
    window = (utc(2026, 3, 29, 1, 45), utc(2026, 3, 29, 2))
    assert run(start, ["RRULE:FREQ=DAILY"], window, twenty_minutes) == ["2026-03-29T03:30:00+02:00"]


def test_a_window_ending_in_the_repeated_hour_sees_the_first_pass() -> None:
    # On 25 October 02:45 is first read with +02:00 (00:45 UTC); the window ends at 02:20 +01:00.
    start = at("Europe/Paris", 2026, 10, 23, 2, 45)
    window = (utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 1, 20))
    assert run(start, ["RRULE:FREQ=DAILY"], window) == ["2026-10-25T02:45:00+02:00"]


def test_hourly_over_the_gap_keeps_one_instance_per_instant() -> None:
    # Walls 00:30, 01:30, 02:30 (skipped: 03:30) and 03:30: the last two are the same instant.
    assert run(at("Europe/Paris", 2026, 3, 29, 0, 30), ["RRULE:FREQ=HOURLY;COUNT=4"]) == [
        "2026-03-29T00:30:00+01:00",
        "2026-03-29T01:30:00+01:00",
        "2026-03-29T03:30:00+02:00",
    ]


def test_minutely_over_the_gap_comes_out_in_time_order() -> None:
    # Walls 01:40, 02:00, 02:20, 02:40 are read with +01:00, then 03:00, 03:20 with +02:00.
    assert run(
        at("Europe/Paris", 2026, 3, 29, 1, 40), ["RRULE:FREQ=MINUTELY;INTERVAL=20;COUNT=6"]
    ) == [
        "2026-03-29T01:40:00+01:00",
        "2026-03-29T03:00:00+02:00",
        "2026-03-29T03:20:00+02:00",
        "2026-03-29T03:40:00+02:00",
    ]


# Calendar edge cases --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "rule", "expected"),
    [
        (day(2024, 2, 29), "RRULE:FREQ=YEARLY;COUNT=3", ["2024-02-29", "2028-02-29", "2032-02-29"]),
        (
            at("UTC", 2024, 2, 29, 12),
            "RRULE:FREQ=YEARLY;UNTIL=20360301T000000Z",
            [
                "2024-02-29T12:00:00+00:00",
                "2028-02-29T12:00:00+00:00",
                "2032-02-29T12:00:00+00:00",
                "2036-02-29T12:00:00+00:00",
            ],
        ),
        (
            day(2025, 2, 28),
            "RRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=-1;COUNT=4",
            ["2025-02-28", "2026-02-28", "2027-02-28", "2028-02-29"],
        ),
        (
            day(2026, 1, 31),
            "RRULE:FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=4",
            ["2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30"],
        ),
        # The 31st is skipped in months that have none (RFC 5545).
        (
            day(2026, 1, 31),
            "RRULE:FREQ=MONTHLY;COUNT=4",
            ["2026-01-31", "2026-03-31", "2026-05-31", "2026-07-31"],
        ),
        # The last weekday of the month.
        (
            day(2026, 1, 30),
            "RRULE:FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1;COUNT=4",
            ["2026-01-30", "2026-02-27", "2026-03-31", "2026-04-30"],
        ),
        # The second Tuesday and the last Friday.
        (
            day(2026, 1, 13),
            "RRULE:FREQ=MONTHLY;BYDAY=2TU,-1FR;COUNT=4",
            ["2026-01-13", "2026-01-30", "2026-02-10", "2026-02-27"],
        ),
        # Thanksgiving: the fourth Thursday of November.
        (
            day(2026, 11, 26),
            "RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=4TH;COUNT=3",
            ["2026-11-26", "2027-11-25", "2028-11-23"],
        ),
        # The Monday of ISO week 20, every other year.
        (
            day(2026, 5, 11),
            "RRULE:FREQ=YEARLY;INTERVAL=2;BYWEEKNO=20;BYDAY=MO;COUNT=3",
            ["2026-05-11", "2028-05-15", "2030-05-13"],
        ),
        (
            day(2026, 1, 1),
            "RRULE:FREQ=YEARLY;BYYEARDAY=1,-1;COUNT=4",
            ["2026-01-01", "2026-12-31", "2027-01-01", "2027-12-31"],
        ),
        (
            day(2026, 1, 5),
            "RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,FR;COUNT=5",
            ["2026-01-05", "2026-01-09", "2026-01-19", "2026-01-23", "2026-02-02"],
        ),
        # WKST decides which weeks INTERVAL=2 keeps (RFC 5545's own example).
        (
            day(1997, 8, 5),
            "RRULE:FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST=MO",
            ["1997-08-05", "1997-08-10", "1997-08-19", "1997-08-24"],
        ),
        (
            day(1997, 8, 5),
            "RRULE:FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST=SU",
            ["1997-08-05", "1997-08-17", "1997-08-19", "1997-08-31"],
        ),
        (
            at("Asia/Kolkata", 2026, 1, 5, 9),
            "RRULE:FREQ=DAILY;BYHOUR=9,17;BYMINUTE=0,30;COUNT=5",
            [
                "2026-01-05T09:00:00+05:30",
                "2026-01-05T09:30:00+05:30",
                "2026-01-05T17:00:00+05:30",
                "2026-01-05T17:30:00+05:30",
                "2026-01-06T09:00:00+05:30",
            ],
        ),
    ],
)
def test_calendar_cases(start: EventTime, rule: str, expected: list[str]) -> None:
    assert run(start, [rule], length=dt.timedelta(days=1)) == expected


def test_until_at_the_last_occurrence_is_inclusive() -> None:
    start = at("Europe/Paris", 2026, 1, 5, 9)  # 08:00 UTC
    assert run(start, ["RRULE:FREQ=WEEKLY;UNTIL=20260126T080000Z"]) == [
        "2026-01-05T09:00:00+01:00",
        "2026-01-12T09:00:00+01:00",
        "2026-01-19T09:00:00+01:00",
        "2026-01-26T09:00:00+01:00",
    ]
    assert len(run(start, ["RRULE:FREQ=WEEKLY;UNTIL=20260126T075959Z"])) == 3


def test_until_date_of_an_all_day_series_is_inclusive() -> None:
    assert run(
        day(2026, 1, 5), ["RRULE:FREQ=DAILY;UNTIL=20260108"], length=dt.timedelta(days=1)
    ) == [
        "2026-01-05",
        "2026-01-06",
        "2026-01-07",
        "2026-01-08",
    ]


def test_dtstart_is_the_first_instance_and_counts_for_count() -> None:
    # Monday start, Tuesday rule: DTSTART and two Tuesdays make COUNT=3.
    assert run(day(2026, 1, 5), ["RRULE:FREQ=WEEKLY;BYDAY=TU;COUNT=3"]) == [
        "2026-01-05",
        "2026-01-06",
        "2026-01-13",
    ]
    assert run(day(2026, 1, 5), ["RRULE:FREQ=WEEKLY;BYDAY=TU;COUNT=1"]) == ["2026-01-05"]
    assert run(day(2026, 1, 5), []) == ["2026-01-05"]


# Exclusions and extra dates -------------------------------------------------------------------

WEEKLY_PARIS = at("Europe/Paris", 2026, 1, 5, 9)
FOUR_MONDAYS = "RRULE:FREQ=WEEKLY;COUNT=4"


@pytest.mark.parametrize(
    "exdate",
    [
        "EXDATE;TZID=Europe/Paris:20260112T090000",
        "EXDATE;TZID=America/New_York:20260112T030000",
        "EXDATE;TZID=Romance Standard Time:20260112T090000",
        "EXDATE:20260112T080000Z",
        "EXDATE:20260112T090000",
        "EXDATE:20260101T000000Z,20260112T080000Z",
    ],
)
def test_exdate_removes_the_occurrence_at_that_instant(exdate: str) -> None:
    assert run(WEEKLY_PARIS, [FOUR_MONDAYS, exdate]) == [
        "2026-01-05T09:00:00+01:00",
        "2026-01-19T09:00:00+01:00",
        "2026-01-26T09:00:00+01:00",
    ]


def test_exdate_at_another_time_removes_nothing() -> None:
    lines = [FOUR_MONDAYS, "EXDATE;TZID=Europe/Paris:20260112T100000"]
    assert len(run(WEEKLY_PARIS, lines)) == 4


def test_exdate_can_remove_dtstart() -> None:
    lines = [FOUR_MONDAYS, "EXDATE;TZID=Europe/Paris:20260105T090000"]
    assert run(WEEKLY_PARIS, lines)[0] == "2026-01-12T09:00:00+01:00"


def test_rdates_join_in_order_without_repeats() -> None:
    lines = [
        "RDATE;TZID=Asia/Kolkata:20260110T120000",
        FOUR_MONDAYS,
        "RDATE:20260112T080000Z,20260201T080000Z",
        "RDATE;VALUE=PERIOD:20260103T100000Z/PT2H",
    ]
    assert run(WEEKLY_PARIS, lines) == [
        "2026-01-03T11:00:00+01:00",
        "2026-01-05T09:00:00+01:00",
        "2026-01-10T07:30:00+01:00",
        "2026-01-12T09:00:00+01:00",
        "2026-01-19T09:00:00+01:00",
        "2026-01-26T09:00:00+01:00",
        "2026-02-01T09:00:00+01:00",
    ]


def test_exdate_wins_over_rdate() -> None:
    lines = [FOUR_MONDAYS, "RDATE:20260201T080000Z", "EXDATE:20260201T080000Z"]
    assert run(WEEKLY_PARIS, lines)[-1] == "2026-01-26T09:00:00+01:00"


def test_exrule_removes_its_occurrences() -> None:
    lines = ["RRULE:FREQ=DAILY;COUNT=10", "EXRULE:FREQ=WEEKLY;BYDAY=SA,SU"]
    assert run(day(2026, 1, 5), lines) == [
        "2026-01-05",
        "2026-01-06",
        "2026-01-07",
        "2026-01-08",
        "2026-01-09",
        "2026-01-12",
        "2026-01-13",
        "2026-01-14",
    ]


def test_endless_exrule_in_a_window() -> None:
    lines = ["RRULE:FREQ=DAILY", "EXRULE:FREQ=DAILY;INTERVAL=2"]
    window = (utc(2030, 1, 1), utc(2030, 1, 8))
    # 5 January 2026 + 2·n days are out; 1 January 2030 is day 1457 (odd): in.
    assert run(day(2026, 1, 5), lines, window, dt.timedelta(days=1)) == [
        "2030-01-01",
        "2030-01-03",
        "2030-01-05",
        "2030-01-07",
    ]


def test_several_rrules_merge() -> None:
    lines = ["RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=2", "RRULE:FREQ=WEEKLY;BYDAY=MO,WE;COUNT=3"]
    assert run(day(2026, 1, 5), lines) == ["2026-01-05", "2026-01-07", "2026-01-12"]


def test_all_day_series_with_dates() -> None:
    lines = [
        "RRULE:FREQ=WEEKLY;BYDAY=MO,FR;UNTIL=20260123",
        "EXDATE;VALUE=DATE:20260109,20260119",
        "RDATE;VALUE=DATE:20260101",
    ]
    times = expand(day(2026, 1, 5), day(2026, 1, 6), lines, None, None)
    assert times == [
        day(2026, 1, 1),
        day(2026, 1, 5),
        day(2026, 1, 12),
        day(2026, 1, 16),
        day(2026, 1, 23),
    ]


# Windows ---------------------------------------------------------------------------------------

DAILY_UTC = at("UTC", 2026, 1, 5, 9)


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        # started before the window, still running in it: in
        ((utc(2026, 1, 7, 9, 30), utc(2026, 1, 8, 9)), ["2026-01-07T09:00:00+00:00"]),
        # ends exactly when the window starts: out; starts when it ends: out
        ((utc(2026, 1, 7, 10), utc(2026, 1, 8, 9)), []),
        ((utc(2026, 1, 7, 10), utc(2026, 1, 8, 9, 0, 0, 1)), ["2026-01-08T09:00:00+00:00"]),
        ((None, utc(2026, 1, 6, 9)), ["2026-01-05T09:00:00+00:00"]),
        (
            (utc(2026, 1, 8, 9, 59), None),
            ["2026-01-08T09:00:00+00:00", "2026-01-09T09:00:00+00:00"],
        ),
        ((utc(2026, 1, 1), utc(2026, 1, 5, 9)), []),
        ((utc(2026, 1, 12), utc(2026, 1, 13)), []),
        # an empty window is a point in time
        ((utc(2026, 1, 6, 9), utc(2026, 1, 6, 9)), ["2026-01-06T09:00:00+00:00"]),
        ((utc(2026, 1, 8), utc(2026, 1, 7)), []),
    ],
)
def test_window_overlap(
    window: tuple[dt.datetime | None, dt.datetime | None], expected: list[str]
) -> None:
    assert run(DAILY_UTC, ["RRULE:FREQ=DAILY;COUNT=5"], window) == expected


def test_window_in_another_offset() -> None:
    paris_midnight = dt.datetime(2026, 1, 7, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    window = (paris_midnight, paris_midnight + dt.timedelta(days=1))
    assert run(DAILY_UTC, ["RRULE:FREQ=DAILY;COUNT=5"], window) == ["2026-01-07T09:00:00+00:00"]


def test_multi_day_all_day_occurrence_overlaps_a_window_in_its_middle() -> None:
    lines = ["RRULE:FREQ=WEEKLY;COUNT=3"]  # 5-7, 12-14 and 19-21 January
    three_days = dt.timedelta(days=3)
    assert run(
        day(2026, 1, 5), lines, (utc(2026, 1, 13, 12), utc(2026, 1, 13, 13)), three_days
    ) == ["2026-01-12"]
    assert run(day(2026, 1, 5), lines, (utc(2026, 1, 8), utc(2026, 1, 12)), three_days) == []


def test_zero_length_event() -> None:
    lines = ["RRULE:FREQ=DAILY;COUNT=3"]
    window = (utc(2026, 1, 6, 9), utc(2026, 1, 7, 9))
    assert run(DAILY_UTC, lines, window, dt.timedelta(0)) == ["2026-01-06T09:00:00+00:00"]


def test_naive_window_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="window_start must be an aware datetime"):
        expand(DAILY_UTC, DAILY_UTC, [], dt.datetime(2026, 1, 1), None)


# Caps and speed --------------------------------------------------------------------------------


def test_endless_series_stops_at_the_limit() -> None:
    times = run(DAILY_UTC, ["RRULE:FREQ=DAILY"])
    assert len(times) == MAX_OCCURRENCES == 1000
    assert times[-1] == "2028-09-30T09:00:00+00:00"  # 999 days later
    assert run(DAILY_UTC, ["RRULE:FREQ=SECONDLY"], limit=3) == [
        "2026-01-05T09:00:00+00:00",
        "2026-01-05T09:00:01+00:00",
        "2026-01-05T09:00:02+00:00",
    ]
    assert run(DAILY_UTC, ["RRULE:FREQ=DAILY"], limit=0) == []


def test_window_far_from_the_start_is_reached_without_walking_there() -> None:
    window = (utc(9000, 3, 1), utc(9000, 3, 3))
    started = time.perf_counter()
    assert run(at("America/New_York", 2000, 1, 1, 9), ["RRULE:FREQ=DAILY"], window) == [
        "9000-03-01T09:00:00-05:00",
        "9000-03-02T09:00:00-05:00",
    ]
    # 2026-01-05 09:00 + 7·n minutes; the first one on or after 8000-01-01 00:00 is at 00:04.
    one_minute = dt.timedelta(minutes=1)
    rule = ["RRULE:FREQ=MINUTELY;INTERVAL=7"]
    assert run(DAILY_UTC, rule, (utc(8000, 1, 1), None), one_minute, limit=2) == [
        "8000-01-01T00:04:00+00:00",
        "8000-01-01T00:11:00+00:00",
    ]
    assert time.perf_counter() - started < 1  # walking 7000 years of days would take minutes


def test_ten_year_daily_series_in_a_month_window_is_fast() -> None:
    start = at("Europe/Paris", 2020, 1, 1, 9)
    end = start.shifted(dt.timedelta(hours=1))
    lines = ["RRULE:FREQ=DAILY;UNTIL=20291231T230000Z"]
    window = (utc(2027, 3, 1), utc(2027, 4, 1))
    assert len(expand(start, end, lines, *window)) == 31
    started = time.perf_counter()
    for _ in range(20):
        expand(start, end, lines, *window)
    assert (time.perf_counter() - started) / 20 < 0.02  # about half a millisecond here


def test_nothing_after_the_year_9999() -> None:
    start = at("America/New_York", 9999, 12, 29, 20)
    assert run(start, ["RRULE:FREQ=DAILY"]) == [
        "9999-12-29T20:00:00-05:00",
        "9999-12-30T20:00:00-05:00",
    ]
