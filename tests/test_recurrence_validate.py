"""Checking recurrence lines: every rule, good and bad, with the exact detail."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from calgate.domain.recurrence import (
    MAX_COUNT,
    MAX_DATES,
    MAX_LINE_LENGTH,
    MAX_LINES,
    validate,
)
from calgate.domain.times import EventTime
from calgate.errors import InvalidParameters

# Monday 5 January 2026, 09:00 in Paris; the same day all-day; and in UTC.
TIMED = EventTime(wall=dt.datetime(2026, 1, 5, 9, 0), tz="Europe/Paris")
ALL_DAY = EventTime(date=dt.date(2026, 1, 5))
IN_UTC = EventTime(wall=dt.datetime(2026, 1, 5, 9, 0), tz="UTC")


@pytest.mark.parametrize(
    ("line", "start", "normalized"),
    [
        ("RRULE:FREQ=WEEKLY;BYDAY=MO", TIMED, "RRULE:FREQ=WEEKLY;BYDAY=MO"),
        ("rrule:freq=weekly;byday=mo,we;wkst=su", TIMED, "RRULE:FREQ=WEEKLY;BYDAY=MO,WE;WKST=SU"),
        (
            "RRULE:BYDAY=MO;INTERVAL=2;FREQ=WEEKLY;COUNT=10",
            TIMED,
            "RRULE:FREQ=WEEKLY;COUNT=10;INTERVAL=2;BYDAY=MO",
        ),
        ("RRULE:FREQ=DAILY;COUNT=10;", TIMED, "RRULE:FREQ=DAILY;COUNT=10"),
        (
            "RRULE:FREQ=DAILY;UNTIL=20261231T225959Z",
            TIMED,
            "RRULE:FREQ=DAILY;UNTIL=20261231T225959Z",
        ),
        (
            "RRULE:FREQ=DAILY;UNTIL=20260101T000000Z",
            IN_UTC,
            "RRULE:FREQ=DAILY;UNTIL=20260101T000000Z",
        ),
        ("RRULE:FREQ=DAILY;UNTIL=20261231", ALL_DAY, "RRULE:FREQ=DAILY;UNTIL=20261231"),
        (f"RRULE:FREQ=DAILY;COUNT={MAX_COUNT}", TIMED, f"RRULE:FREQ=DAILY;COUNT={MAX_COUNT}"),
        ("RRULE:FREQ=MONTHLY;BYDAY=-1FR", TIMED, "RRULE:FREQ=MONTHLY;BYDAY=-1FR"),
        ("RRULE:FREQ=MONTHLY;BYDAY=+2tu,5SU", TIMED, "RRULE:FREQ=MONTHLY;BYDAY=2TU,5SU"),
        ("RRULE:FREQ=MONTHLY;BYMONTHDAY=-1", TIMED, "RRULE:FREQ=MONTHLY;BYMONTHDAY=-1"),
        ("RRULE:FREQ=MONTHLY;BYMONTHDAY=+1,31", TIMED, "RRULE:FREQ=MONTHLY;BYMONTHDAY=1,31"),
        ("RRULE:FREQ=YEARLY;BYDAY=20MO,-53FR", TIMED, "RRULE:FREQ=YEARLY;BYDAY=20MO,-53FR"),
        (
            "RRULE:FREQ=YEARLY;BYWEEKNO=20,-1;BYDAY=MO",
            TIMED,
            "RRULE:FREQ=YEARLY;BYDAY=MO;BYWEEKNO=20,-1",
        ),
        ("RRULE:FREQ=YEARLY;BYYEARDAY=1,-366", TIMED, "RRULE:FREQ=YEARLY;BYYEARDAY=1,-366"),
        ("RRULE:FREQ=HOURLY;BYYEARDAY=100", TIMED, "RRULE:FREQ=HOURLY;BYYEARDAY=100"),
        ("RRULE:FREQ=YEARLY;BYMONTH=1,12", TIMED, "RRULE:FREQ=YEARLY;BYMONTH=1,12"),
        (
            "RRULE:FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1,366",
            TIMED,
            "RRULE:FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1,366",
        ),
        (
            "RRULE:FREQ=HOURLY;INTERVAL=3;BYMINUTE=0,59",
            TIMED,
            "RRULE:FREQ=HOURLY;INTERVAL=3;BYMINUTE=0,59",
        ),
        (
            "RRULE:FREQ=DAILY;BYSECOND=0;BYMINUTE=0;BYHOUR=0,23",
            TIMED,
            "RRULE:FREQ=DAILY;BYSECOND=0;BYMINUTE=0;BYHOUR=0,23",
        ),
        ("RRULE:FREQ=MINUTELY;BYSECOND=0,60", TIMED, "RRULE:FREQ=MINUTELY;BYSECOND=0,60"),
        ("RRULE:FREQ=SECONDLY;INTERVAL=30", TIMED, "RRULE:FREQ=SECONDLY;INTERVAL=30"),
        (
            "RRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
            TIMED,
            "RRULE:FREQ=YEARLY;BYMONTHDAY=29;BYMONTH=2",
        ),
        ("EXRULE:FREQ=WEEKLY;BYDAY=WE", TIMED, "EXRULE:FREQ=WEEKLY;BYDAY=WE"),
        ("RDATE;VALUE=DATE:20260110,20260111", ALL_DAY, "RDATE;VALUE=DATE:20260110,20260111"),
        ("exdate;value=date:20260112", ALL_DAY, "EXDATE;VALUE=DATE:20260112"),
        (
            "RDATE;TZID=Europe/Paris:20260110T100000",
            TIMED,
            "RDATE;TZID=Europe/Paris:20260110T100000",
        ),
        (
            'RDATE;TZID="Asia/Kolkata":20260110T100000',
            TIMED,
            "RDATE;TZID=Asia/Kolkata:20260110T100000",
        ),
        (
            "rdate;tzid=Romance Standard Time:20260110t100000",
            TIMED,
            "RDATE;TZID=Europe/Paris:20260110T100000",
        ),
        (
            "EXDATE;VALUE=DATE-TIME;TZID=America/New_York:20260112T030000",
            TIMED,
            "EXDATE;TZID=America/New_York:20260112T030000",
        ),
        (
            "RDATE;VALUE=PERIOD:20260110T100000Z/PT1H,20260111T100000Z/20260111T120000Z",
            TIMED,
            "RDATE;VALUE=PERIOD:20260110T100000Z/PT1H,20260111T100000Z/20260111T120000Z",
        ),
        (
            "RDATE;VALUE=PERIOD;TZID=Europe/Paris:20260110T100000/PT90M",
            TIMED,
            "RDATE;TZID=Europe/Paris;VALUE=PERIOD:20260110T100000/PT1H30M",
        ),
        (
            "EXDATE:20260112T080000Z,20260114T090000",
            TIMED,
            "EXDATE:20260112T080000Z,20260114T090000",
        ),
        ("  RRULE:FREQ=DAILY  ", TIMED, "RRULE:FREQ=DAILY"),
    ],
)
def test_good_lines_are_normalized(line: str, start: EventTime, normalized: str) -> None:
    assert validate([line], start) == (normalized,)
    assert validate([normalized], start) == (normalized,)


def test_lines_keep_their_order_and_several_rrules_are_kept() -> None:
    lines = ["EXDATE:20260112T080000Z", "RRULE:FREQ=WEEKLY;BYDAY=MO", "RRULE:FREQ=WEEKLY;BYDAY=FR"]
    assert validate(lines, TIMED) == tuple(lines)
    assert validate([], TIMED) == ()


PARTS = "FREQ, UNTIL, COUNT, INTERVAL, BYSECOND, BYMINUTE, BYHOUR, BYDAY, BYMONTHDAY, BYYEARDAY"
PARTS += ", BYWEEKNO, BYMONTH, BYSETPOS, WKST"
RANGE_1_31 = "(1..31 or -31..-1)"


@pytest.mark.parametrize(
    ("line", "start", "problem"),
    [
        # the line itself
        (
            "FREQ=WEEKLY",
            TIMED,
            "not an iCalendar property line (expected e.g. 'RRULE:FREQ=WEEKLY;BYDAY=MO')",
        ),
        (
            "DTSTART:20260105T090000Z",
            TIMED,
            "'DTSTART' is not a recurrence property (expected RRULE, EXRULE, RDATE or EXDATE)",
        ),
        (
            "RRULE;FREQ=DAILY",
            TIMED,
            "RRULE takes no parameters (got FREQ); the rule follows 'RRULE:'",
        ),
        (
            "EXRULE;X-A=1:FREQ=DAILY",
            TIMED,
            "EXRULE takes no parameters (got X-A); the rule follows 'EXRULE:'",
        ),
        (
            "RRULE:FREQ=DAILY\nRRULE:FREQ=WEEKLY",
            TIMED,
            "the line contains a line break; give each property as its own line",
        ),
        # rule parts
        ("RRULE:", TIMED, "the rule is empty; FREQ is required (e.g. FREQ=WEEKLY)"),
        ("RRULE:INTERVAL=2", TIMED, "FREQ is required (e.g. FREQ=WEEKLY)"),
        ("RRULE:FREQ=DAILY;FOO=1", TIMED, f"'FOO' is not a rule part (expected {PARTS})"),
        ("RRULE:FREQ=DAILY;BYEASTER=0", TIMED, f"'BYEASTER' is not a rule part (expected {PARTS})"),
        ("RRULE:FREQ=DAILY;COUNT", TIMED, "rule part 'COUNT' is not NAME=VALUE"),
        ("RRULE:FREQ=DAILY;;COUNT=2", TIMED, "rule part '' is not NAME=VALUE"),
        ("RRULE:FREQ=DAILY;COUNT=", TIMED, "COUNT has no value"),
        ("RRULE:FREQ=DAILY;freq=WEEKLY", TIMED, "rule part FREQ is given twice"),
        (
            "RRULE:FREQ=MONTHLY;RSCALE=HEBREW",
            TIMED,
            "rule part RSCALE (RFC 7529 calendar scales) is not supported",
        ),
        (
            "RRULE:FREQ=FORTNIGHTLY",
            TIMED,
            "FREQ value 'FORTNIGHTLY' is not one of SECONDLY, MINUTELY, HOURLY, DAILY, WEEKLY, "
            "MONTHLY, YEARLY",
        ),
        # COUNT, INTERVAL, UNTIL
        ("RRULE:FREQ=DAILY;COUNT=0", TIMED, "COUNT value '0' is not a positive integer"),
        ("RRULE:FREQ=DAILY;COUNT=-1", TIMED, "COUNT value '-1' is not a positive integer"),
        ("RRULE:FREQ=DAILY;COUNT=1.5", TIMED, "COUNT value '1.5' is not a positive integer"),
        (
            f"RRULE:FREQ=DAILY;COUNT={MAX_COUNT + 1}",
            TIMED,
            f"COUNT value {MAX_COUNT + 1} is above the limit of {MAX_COUNT}",
        ),
        ("RRULE:FREQ=DAILY;INTERVAL=0", TIMED, "INTERVAL value '0' is not a positive integer"),
        ("RRULE:FREQ=DAILY;INTERVAL=+2", TIMED, "INTERVAL value '+2' is not a positive integer"),
        (
            "RRULE:FREQ=DAILY;COUNT=5;UNTIL=20270101T000000Z",
            TIMED,
            "COUNT and UNTIL cannot both be given (RFC 5545: one or the other)",
        ),
        (
            "RRULE:FREQ=DAILY;UNTIL=20260201",
            TIMED,
            "UNTIL value '20260201' must be a UTC date-time (YYYYMMDDTHHMMSSZ) because the "
            "event start has a time zone",
        ),
        (
            "RRULE:FREQ=DAILY;UNTIL=20260201",
            IN_UTC,
            "UNTIL value '20260201' must be a UTC date-time (YYYYMMDDTHHMMSSZ) because the "
            "event start has a time zone",
        ),
        (
            "RRULE:FREQ=DAILY;UNTIL=20260201T090000",
            TIMED,
            "UNTIL value '20260201T090000' must be in UTC (YYYYMMDDTHHMMSSZ) because the "
            "event start has a time zone",
        ),
        (
            "RRULE:FREQ=DAILY;UNTIL=20260201T000000Z",
            ALL_DAY,
            "UNTIL value '20260201T000000Z' must be a date (YYYYMMDD) because the event is all-day",
        ),
        (
            "RRULE:FREQ=DAILY;UNTIL=TOMORROW",
            TIMED,
            "UNTIL value 'TOMORROW' is not a date (YYYYMMDD) or a UTC date-time (YYYYMMDDTHHMMSSZ)",
        ),
        (
            "RRULE:FREQ=DAILY;UNTIL=PT1H",
            TIMED,
            "UNTIL value 'PT1H' is not a date (YYYYMMDD) or a UTC date-time (YYYYMMDDTHHMMSSZ)",
        ),
        (
            "RRULE:FREQ=DAILY;UNTIL=20260231",
            ALL_DAY,
            "UNTIL value '20260231' is not a date (YYYYMMDD) or a UTC date-time (YYYYMMDDTHHMMSSZ)",
        ),
        # BYxxx ranges
        ("RRULE:FREQ=MINUTELY;BYSECOND=61", TIMED, "BYSECOND value '61' is out of range (0..60)"),
        ("RRULE:FREQ=HOURLY;BYMINUTE=60", TIMED, "BYMINUTE value '60' is out of range (0..59)"),
        ("RRULE:FREQ=DAILY;BYHOUR=24", TIMED, "BYHOUR value '24' is out of range (0..23)"),
        ("RRULE:FREQ=DAILY;BYHOUR=-1", TIMED, "BYHOUR value '-1' is out of range (0..23)"),
        ("RRULE:FREQ=DAILY;BYHOUR=9AM", TIMED, "BYHOUR value '9AM' is not an integer (0..23)"),
        (
            "RRULE:FREQ=MONTHLY;BYMONTHDAY=0",
            TIMED,
            f"BYMONTHDAY value '0' is out of range {RANGE_1_31}",
        ),
        (
            "RRULE:FREQ=MONTHLY;BYMONTHDAY=32",
            TIMED,
            f"BYMONTHDAY value '32' is out of range {RANGE_1_31}",
        ),
        (
            "RRULE:FREQ=MONTHLY;BYMONTHDAY=-32",
            TIMED,
            f"BYMONTHDAY value '-32' is out of range {RANGE_1_31}",
        ),
        (
            "RRULE:FREQ=MONTHLY;BYMONTHDAY=1,,2",
            TIMED,
            f"BYMONTHDAY value '' is not an integer {RANGE_1_31}",
        ),
        (
            "RRULE:FREQ=YEARLY;BYYEARDAY=367",
            TIMED,
            "BYYEARDAY value '367' is out of range (1..366 or -366..-1)",
        ),
        (
            "RRULE:FREQ=YEARLY;BYWEEKNO=54",
            TIMED,
            "BYWEEKNO value '54' is out of range (1..53 or -53..-1)",
        ),
        ("RRULE:FREQ=YEARLY;BYMONTH=0", TIMED, "BYMONTH value '0' is out of range (1..12)"),
        ("RRULE:FREQ=YEARLY;BYMONTH=13", TIMED, "BYMONTH value '13' is out of range (1..12)"),
        (
            "RRULE:FREQ=YEARLY;BYMONTH=5L",
            TIMED,
            "BYMONTH value '5L' is a leap month (RFC 7529), not supported",
        ),
        (
            "RRULE:FREQ=MONTHLY;BYDAY=MO;BYSETPOS=367",
            TIMED,
            "BYSETPOS value '367' is out of range (1..366 or -366..-1)",
        ),
        (
            "RRULE:FREQ=MONTHLY;BYDAY=MO;BYSETPOS=0",
            TIMED,
            "BYSETPOS value '0' is out of range (1..366 or -366..-1)",
        ),
        # BYDAY and WKST
        ("RRULE:FREQ=WEEKLY;BYDAY=XX", TIMED, "BYDAY value 'XX' is not a weekday (MO..SU)"),
        ("RRULE:FREQ=WEEKLY;BYDAY=MONDAY", TIMED, "BYDAY value 'MONDAY' is not a weekday (MO..SU)"),
        ("RRULE:FREQ=WEEKLY;BYDAY=MO,", TIMED, "BYDAY value '' is not a weekday (MO..SU)"),
        (
            "RRULE:FREQ=MONTHLY;BYDAY=+MO",
            TIMED,
            "BYDAY value '+MO' has a sign but no ordinal (e.g. -1FR)",
        ),
        (
            "RRULE:FREQ=MONTHLY;BYDAY=0MO",
            TIMED,
            "BYDAY value '0MO' has ordinal 0; ordinals are 1..53 or -53..-1",
        ),
        (
            "RRULE:FREQ=YEARLY;BYDAY=-54MO",
            TIMED,
            "BYDAY value '-54MO' has ordinal 54; ordinals are 1..53 or -53..-1",
        ),
        (
            "RRULE:FREQ=WEEKLY;BYDAY=1MO",
            TIMED,
            "BYDAY value '1MO' has an ordinal, which is only allowed with FREQ=MONTHLY or "
            "FREQ=YEARLY (not FREQ=WEEKLY)",
        ),
        (
            "RRULE:FREQ=DAILY;BYDAY=-1FR",
            TIMED,
            "BYDAY value '-1FR' has an ordinal, which is only allowed with FREQ=MONTHLY or "
            "FREQ=YEARLY (not FREQ=DAILY)",
        ),
        (
            "RRULE:FREQ=MONTHLY;BYDAY=6MO",
            TIMED,
            "BYDAY value '6MO' is out of range for FREQ=MONTHLY (ordinals 1..5 or -5..-1)",
        ),
        (
            "RRULE:FREQ=YEARLY;BYWEEKNO=1;BYDAY=1MO",
            TIMED,
            "BYDAY value '1MO' has an ordinal, which BYWEEKNO does not allow",
        ),
        ("RRULE:FREQ=WEEKLY;WKST=XX", TIMED, "WKST value 'XX' is not a weekday (MO..SU)"),
        ("RRULE:FREQ=WEEKLY;WKST=1MO", TIMED, "WKST value '1MO' is not a weekday (MO..SU)"),
        # BYxxx and FREQ
        (
            "RRULE:FREQ=MONTHLY;BYWEEKNO=1",
            TIMED,
            "BYWEEKNO is not allowed with FREQ=MONTHLY (only with FREQ=YEARLY)",
        ),
        (
            "RRULE:FREQ=DAILY;BYYEARDAY=1",
            TIMED,
            "BYYEARDAY is not allowed with FREQ=DAILY (only with FREQ=YEARLY, FREQ=HOURLY, "
            "FREQ=MINUTELY, FREQ=SECONDLY)",
        ),
        (
            "RRULE:FREQ=WEEKLY;BYMONTHDAY=1",
            TIMED,
            "BYMONTHDAY is not allowed with FREQ=WEEKLY (only with FREQ=YEARLY, FREQ=MONTHLY, "
            "FREQ=DAILY, FREQ=HOURLY, FREQ=MINUTELY, FREQ=SECONDLY)",
        ),
        (
            "RRULE:FREQ=MONTHLY;BYSETPOS=1",
            TIMED,
            "BYSETPOS needs another BYxxx rule part to select from",
        ),
        # all-day events
        (
            "RRULE:FREQ=HOURLY",
            ALL_DAY,
            "FREQ=HOURLY is not allowed because the event is all-day (use DAILY or longer)",
        ),
        (
            "RRULE:FREQ=DAILY;BYHOUR=9",
            ALL_DAY,
            "BYHOUR is not allowed because the event is all-day",
        ),
        (
            "RRULE:FREQ=DAILY;BYMINUTE=0",
            ALL_DAY,
            "BYMINUTE is not allowed because the event is all-day",
        ),
        # rules without occurrences
        (
            "RRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
            TIMED,
            "the rule never produces an occurrence (none in the 400 years after the event start)",
        ),
        (
            "RRULE:FREQ=DAILY;BYMONTH=4;BYMONTHDAY=31",
            TIMED,
            "the rule never produces an occurrence (none in the 400 years after the event start)",
        ),
        (
            "RRULE:FREQ=MONTHLY;INTERVAL=12;BYMONTH=3",
            TIMED,
            "the rule never produces an occurrence (none in the 400 years after the event start)",
        ),
        (
            "EXRULE:FREQ=MONTHLY;BYDAY=MO;BYMONTHDAY=1,2;BYSETPOS=3",
            TIMED,
            "the rule never produces an occurrence (none in the 400 years after the event start)",
        ),
        (
            "RRULE:FREQ=HOURLY;INTERVAL=2;BYHOUR=10",
            TIMED,
            "the rule never produces an occurrence (none in the 400 years after the event start)",
        ),
        (
            "RRULE:FREQ=MINUTELY;BYSECOND=60",
            TIMED,
            "BYSECOND=60 (a leap second) never occurs: calendar time has none",
        ),
        # RDATE and EXDATE
        (
            "RDATE;X-FOO=1:20260110T100000Z",
            TIMED,
            "parameter X-FOO is not allowed on RDATE (only TZID and VALUE)",
        ),
        (
            "RDATE;TZID=Europe/Paris,Asia/Kolkata:20260110T100000",
            TIMED,
            "parameter TZID must have one value",
        ),
        (
            "EXDATE;VALUE=PERIOD:20260110T100000Z/PT1H",
            TIMED,
            "VALUE=PERIOD is not allowed on EXDATE (use DATE-TIME or DATE)",
        ),
        (
            "RDATE;VALUE=TEXT:tomorrow",
            TIMED,
            "VALUE=TEXT is not allowed on RDATE (use DATE-TIME or DATE or PERIOD)",
        ),
        (
            "RDATE;TZID=Mars/Olympus_Mons:20260110T100000",
            TIMED,
            "TZID 'Mars/Olympus_Mons' is not a known time zone",
        ),
        (
            "EXDATE;VALUE=DATE;TZID=Europe/Paris:20260110",
            ALL_DAY,
            "TZID cannot be used with VALUE=DATE (dates have no time zone)",
        ),
        (
            "EXDATE:20260110T100000Z",
            ALL_DAY,
            "EXDATE values must be dates (EXDATE;VALUE=DATE:YYYYMMDD) because the event is all-day",
        ),
        (
            "RDATE:20260110",
            ALL_DAY,
            "RDATE values must be dates (RDATE;VALUE=DATE:YYYYMMDD) because the event is all-day",
        ),
        (
            "EXDATE;VALUE=DATE:20260110",
            TIMED,
            "EXDATE values must be date-times because the event start has a time (VALUE=DATE "
            "is for all-day events)",
        ),
        ("EXDATE:", TIMED, "EXDATE has no value"),
        (
            "EXDATE:20260110",
            TIMED,
            "value '20260110' is not a date-time (YYYYMMDDTHHMMSS, with Z for UTC)",
        ),
        (
            "EXDATE:2026-01-10T10:00:00",
            TIMED,
            "value '2026-01-10T10:00:00' is not a date-time (YYYYMMDDTHHMMSS, with Z for UTC)",
        ),
        (
            "EXDATE:20260110T100000,,20260111T100000",
            TIMED,
            "value '' is not a date-time (YYYYMMDDTHHMMSS, with Z for UTC)",
        ),
        (
            "EXDATE;TZID=Europe/Paris:20260110T250000",
            TIMED,
            "value '20260110T250000' is not a date-time (YYYYMMDDTHHMMSS)",
        ),
        (
            "EXDATE;TZID=Europe/Paris:20260110T100000Z",
            TIMED,
            "value '20260110T100000Z' is in UTC (Z), which the TZID parameter does not allow",
        ),
        ("EXDATE;VALUE=DATE:20260231", ALL_DAY, "value '20260231' is not a date (YYYYMMDD)"),
        (
            "RDATE;VALUE=PERIOD:20260110T100000Z",
            TIMED,
            "value '20260110T100000Z' is not a period (start/end or start/duration)",
        ),
        (
            "RDATE;VALUE=PERIOD:20260110T100000Z/SOON",
            TIMED,
            "value '20260110T100000Z/SOON' is not a period (start/end or start/duration)",
        ),
        (
            "RDATE;VALUE=PERIOD:20260110T100000Z/20260110T090000Z",
            TIMED,
            "period '20260110T100000Z/20260110T090000Z' must end after it starts, in the same "
            "time form",
        ),
        (
            "RDATE;VALUE=PERIOD:20260110T100000Z/PT0S",
            TIMED,
            "period '20260110T100000Z/PT0S' must have a positive duration",
        ),
    ],
)
def test_bad_lines_name_the_line_and_the_part(line: str, start: EventTime, problem: str) -> None:
    with pytest.raises(InvalidParameters) as raised:
        validate(["RRULE:FREQ=WEEKLY", line], start)
    assert raised.value.detail == f"recurrence[1]: {line!r}: {problem}"
    assert raised.value.status == 400
    assert raised.value.error.type == "errors/invalid_parameters"


def test_too_many_lines() -> None:
    lines = ["RRULE:FREQ=DAILY"] * (MAX_LINES + 1)
    with pytest.raises(InvalidParameters) as raised:
        validate(lines, TIMED)
    assert raised.value.detail == "recurrence: 51 lines; at most 50 recurrence lines are allowed"
    assert len(validate(lines[:MAX_LINES], TIMED)) == MAX_LINES


def test_too_long_a_line_is_quoted_shortened() -> None:
    values = ",".join(f"2026{m:02d}{d:02d}T100000Z" for m in range(1, 13) for d in range(1, 29))
    line = ("RDATE:" + values)[: MAX_LINE_LENGTH + 1].rstrip(",")
    line = line if len(line) > MAX_LINE_LENGTH else line + "0"
    with pytest.raises(InvalidParameters) as raised:
        validate([line], TIMED)
    quoted = repr(line[:100] + "…")
    assert raised.value.detail == (
        f"recurrence[0]: {quoted}: the line has {len(line)} characters; at most 1000 are allowed"
    )


def test_at_most_max_dates_values_in_all_lines() -> None:
    day = dt.date(2026, 1, 1)
    values = [(day + dt.timedelta(days=n)).strftime("%Y%m%d") for n in range(MAX_DATES + 1)]
    lines = [f"EXDATE;VALUE=DATE:{','.join(values[n : n + 100])}" for n in range(0, 1001, 100)]
    with pytest.raises(InvalidParameters) as raised:
        validate(lines, ALL_DAY)
    assert raised.value.detail == (
        "recurrence: 1001 RDATE and EXDATE values; at most 1000 are allowed in total"
    )
    assert len(validate(lines[:-1], ALL_DAY)) == 10


def test_a_string_is_not_a_list_of_lines() -> None:
    with pytest.raises(InvalidParameters) as raised:
        validate("RRULE:FREQ=DAILY", TIMED)
    assert raised.value.detail == "recurrence: expected a list of lines, got one string"
    with pytest.raises(InvalidParameters) as raised:
        validate(["RRULE:FREQ=DAILY", 7], TIMED)  # type: ignore[list-item]  # JSON can send it
    assert raised.value.detail == "recurrence[1]: expected a string"


@pytest.mark.parametrize(
    "line",
    [
        "RRULE:FREQ=SECONDLY;BYMONTH=4;BYMONTHDAY=31",
        "RRULE:FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30",
        "RRULE:FREQ=WEEKLY;BYDAY=MO,TU;BYSETPOS=3",
        "RRULE:FREQ=DAILY;BYHOUR=9,17;BYSETPOS=-3",
        "RRULE:FREQ=DAILY;INTERVAL=7;BYDAY=TU",  # Mondays only: a full search
    ],
)
def test_a_rule_that_never_occurs_is_told_quickly(line: str) -> None:
    started = time.perf_counter()
    with pytest.raises(InvalidParameters, match="never produces an occurrence"):
        validate([line], TIMED)
    assert time.perf_counter() - started < 0.25  # walking to the year 9999 takes seconds
