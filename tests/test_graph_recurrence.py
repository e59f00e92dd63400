"""RFC 5545 recurrence lines <-> Graph patternedRecurrence: every mapping rule, every 501."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from dateutil.rrule import rrulestr

from calgate.domain.graph_recurrence import GraphRecurrence, from_graph, to_graph
from calgate.domain.times import EventTime
from calgate.errors import FeatureNotImplemented, InvalidParameters, ProviderError

NAMES = {"SU": "sunday", "MO": "monday", "TU": "tuesday", "WE": "wednesday"}
NAMES |= {"TH": "thursday", "FR": "friday", "SA": "saturday"}
ALL = "SU MO TU WE TH FR SA"
WORK = "MO TU WE TH FR"


def timed(wall: str, tz: str = "Europe/Paris") -> EventTime:
    return EventTime(wall=dt.datetime.fromisoformat(wall), tz=tz)


def day(date: str) -> EventTime:
    return EventTime(date=dt.date.fromisoformat(date))


MONDAY = timed("2025-01-06T10:00")  # a Monday, 10:00 in Paris (09:00Z)
JAN31 = timed("2025-01-31T10:00")
NY_LATE = timed("2025-01-06T21:00", "America/New_York")  # 2025-01-07T02:00Z
LORD_HOWE = timed("2025-01-06T08:00", "Australia/Lord_Howe")  # +11: 2025-01-05T21:00Z
LH_MARCH = timed("2025-03-03T08:00", "Australia/Lord_Howe")  # +11 now, +10:30 from April
TROLL = timed("2025-01-06T10:00", "Antarctica/Troll")  # no Windows name
PARIS, EST, LHST = "Romance Standard Time", "Eastern Standard Time", "Lord Howe Standard Time"


def days(codes: str) -> list[str]:
    return [NAMES[code] for code in codes.split()]


# Expected Graph patterns, by type.
def daily(interval: int) -> dict[str, Any]:
    return {"type": "daily", "interval": interval}


def weekly(interval: int, codes: str, first: str = "MO") -> dict[str, Any]:
    week = {"type": "weekly", "interval": interval, "daysOfWeek": days(codes)}
    return {**week, "firstDayOfWeek": NAMES[first]}


def abs_m(day_of_month: int, interval: int = 1) -> dict[str, Any]:
    return {"type": "absoluteMonthly", "interval": interval, "dayOfMonth": day_of_month}


def rel_m(codes: str, index: str, interval: int = 1) -> dict[str, Any]:
    kind = {"type": "relativeMonthly", "interval": interval}
    return {**kind, "daysOfWeek": days(codes), "index": index}


def abs_y(day_of_month: int, month: int, interval: int = 1) -> dict[str, Any]:
    kind = {"type": "absoluteYearly", "interval": interval}
    return {**kind, "dayOfMonth": day_of_month, "month": month}


def rel_y(codes: str, index: str, month: int, interval: int = 1) -> dict[str, Any]:
    return {**rel_m(codes, index, interval), "type": "relativeYearly", "month": month}


def graph(line: str, start: EventTime = MONDAY) -> dict[str, Any]:
    result = to_graph([f"RRULE:{line}"], start)
    assert result is not None
    return result.recurrence


# (RRULE value, start, expected Graph pattern), one block per rule of providers.md
PATTERNS: list[tuple[str, EventTime, dict[str, Any]]] = [
    # DAILY;INTERVAL=n -> daily n (BYHOUR/BYMINUTE/BYSECOND equal to the start time are no news)
    ("FREQ=DAILY", MONDAY, daily(1)),
    ("FREQ=DAILY;INTERVAL=3", MONDAY, daily(3)),
    ("FREQ=DAILY;BYHOUR=10;BYMINUTE=0;BYSECOND=0", MONDAY, daily(1)),
    # DAILY;BYDAY=list (INTERVAL 1) -> weekly 1 with those days
    ("FREQ=DAILY;BYDAY=MO,WE,FR", MONDAY, weekly(1, "MO WE FR")),
    ("FREQ=DAILY;BYDAY=FR,MO;WKST=SU", MONDAY, weekly(1, "MO FR", "SU")),
    # WEEKLY: the start's weekday by default; firstDayOfWeek always sent (RFC default MO)
    ("FREQ=WEEKLY", MONDAY, weekly(1, "MO")),
    ("FREQ=WEEKLY", timed("2025-01-11T10:00"), weekly(1, "SA")),
    ("FREQ=WEEKLY", day("2025-01-12"), weekly(1, "SU")),
    ("FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH;WKST=SU", MONDAY, weekly(2, "TU TH", "SU")),
    ("FREQ=WEEKLY;BYDAY=SA,SU,SA;WKST=SA", MONDAY, weekly(1, "SU SA", "SA")),
    ("freq=weekly;byday=mo", MONDAY, weekly(1, "MO")),
    # MONTHLY without BY*: the start's day; BYMONTHDAY=1..28
    ("FREQ=MONTHLY", MONDAY, abs_m(6)),
    ("FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=15", MONDAY, abs_m(15, 3)),
    ("FREQ=MONTHLY;BYMONTHDAY=28", MONDAY, abs_m(28)),
    # day 31 every 6 or 12 months from January: January and July both have it
    ("FREQ=MONTHLY;INTERVAL=6", JAN31, abs_m(31, 6)),
    ("FREQ=MONTHLY;INTERVAL=12;BYMONTHDAY=31", JAN31, abs_m(31, 12)),
    # BYMONTHDAY=-1: relative, last, over all seven days (the last instance of any day),
    # the same Graph pattern as BYDAY=SU,...,SA;BYSETPOS=-1, which is the same RFC 5545 rule
    ("FREQ=MONTHLY;BYMONTHDAY=-1", MONDAY, rel_m(ALL, "last")),
    ("FREQ=MONTHLY;BYDAY=SU,MO,TU,WE,TH,FR,SA;BYSETPOS=-1", MONDAY, rel_m(ALL, "last")),
    # MONTHLY;BYDAY=nDD (n 1..4 or -1)
    ("FREQ=MONTHLY;BYDAY=+1MO", MONDAY, rel_m("MO", "first")),
    ("FREQ=MONTHLY;BYDAY=2TU", MONDAY, rel_m("TU", "second")),
    ("FREQ=MONTHLY;INTERVAL=2;BYDAY=3WE", MONDAY, rel_m("WE", "third", 2)),
    ("FREQ=MONTHLY;BYDAY=4SU", MONDAY, rel_m("SU", "fourth")),
    ("FREQ=MONTHLY;BYDAY=-1FR", MONDAY, rel_m("FR", "last")),
    # MONTHLY;BYDAY=list;BYSETPOS=n
    ("FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", MONDAY, rel_m(WORK, "last")),
    ("FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=2", MONDAY, rel_m(WORK, "second")),
    ("FREQ=MONTHLY;BYDAY=SA,SU;BYSETPOS=1", MONDAY, rel_m("SU SA", "first")),
    ("FREQ=MONTHLY;BYDAY=MO;BYSETPOS=3", MONDAY, rel_m("MO", "third")),
    # every such weekday of every month is a weekly series
    ("FREQ=MONTHLY;BYDAY=MO,TH", MONDAY, weekly(1, "MO TH")),
    # YEARLY[;BYMONTH=m][;BYMONTHDAY=d] -> absoluteYearly (a day every year of that month has)
    ("FREQ=YEARLY", MONDAY, abs_y(6, 1)),
    ("FREQ=YEARLY;BYMONTH=3", MONDAY, abs_y(6, 3)),
    ("FREQ=YEARLY;INTERVAL=2;BYMONTH=3;BYMONTHDAY=15", MONDAY, abs_y(15, 3, 2)),
    ("FREQ=YEARLY;BYMONTH=1;BYMONTHDAY=31", MONDAY, abs_y(31, 1)),
    ("FREQ=YEARLY;BYMONTH=4;BYMONTHDAY=30", MONDAY, abs_y(30, 4)),
    ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=28", MONDAY, abs_y(28, 2)),
    ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=-1", MONDAY, rel_y(ALL, "last", 2)),
    # YEARLY;BYMONTH=m;BYDAY=nDD (or a list with BYSETPOS) -> relativeYearly
    ("FREQ=YEARLY;BYMONTH=11;BYDAY=4TH", MONDAY, rel_y("TH", "fourth", 11)),
    ("FREQ=YEARLY;INTERVAL=4;BYMONTH=5;BYDAY=-1MO", MONDAY, rel_y("MO", "last", 5, 4)),
    ("FREQ=YEARLY;BYMONTH=3;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=2", MONDAY, rel_y(WORK, "second", 3)),
]


@pytest.mark.parametrize(("line", "start", "pattern"), PATTERNS, ids=[p[0] for p in PATTERNS])
def test_pattern(line: str, start: EventTime, pattern: dict[str, Any]) -> None:
    assert graph(line, start)["pattern"] == pattern


# (RRULE value, start, recurrenceTimeZone, startDate, end: None = noEnd, int = COUNT, str = date)
RANGES: list[tuple[str, EventTime, str, str, int | str | None]] = [
    ("FREQ=DAILY", MONDAY, PARIS, "2025-01-06", None),
    ("FREQ=DAILY;COUNT=10", MONDAY, PARIS, "2025-01-06", 10),
    ("FREQ=DAILY;BYDAY=MO,FR;COUNT=3", MONDAY, PARIS, "2025-01-06", 3),
    # UNTIL at the start time is inclusive; a second before it ends the day before
    ("FREQ=DAILY;UNTIL=20250131T090000Z", MONDAY, PARIS, "2025-01-06", "2025-01-31"),
    ("FREQ=DAILY;UNTIL=20250131T085959Z", MONDAY, PARIS, "2025-01-06", "2025-01-30"),
    ("FREQ=DAILY;UNTIL=20250106T090000Z", MONDAY, PARIS, "2025-01-06", "2025-01-06"),
    # 23:00Z is 00:00 the next day in Paris, before 10:00 there
    ("FREQ=DAILY;UNTIL=20250131T230000Z", MONDAY, PARIS, "2025-01-06", "2025-01-31"),
    # in summer time (UTC+2) 08:00Z is the start time 10:00
    ("FREQ=DAILY;UNTIL=20250630T080000Z", MONDAY, PARIS, "2025-01-06", "2025-06-30"),
    ("FREQ=DAILY;UNTIL=20250630T075959Z", MONDAY, PARIS, "2025-01-06", "2025-06-29"),
    # a floating UNTIL is read in the event's zone
    ("FREQ=DAILY;UNTIL=20250131T100000", MONDAY, PARIS, "2025-01-06", "2025-01-31"),
    ("FREQ=DAILY;UNTIL=20250131T095959", MONDAY, PARIS, "2025-01-06", "2025-01-30"),
    # New York late evening: the UTC date is a day ahead of the local one
    ("FREQ=DAILY", NY_LATE, EST, "2025-01-06", None),
    ("FREQ=DAILY;UNTIL=20250111T020000Z", NY_LATE, EST, "2025-01-06", "2025-01-10"),
    ("FREQ=DAILY;UNTIL=20250111T015959Z", NY_LATE, EST, "2025-01-06", "2025-01-09"),
    # Lord Howe (UTC+11, +10:30 in winter): the UTC date is a day behind the local one
    ("FREQ=DAILY", LORD_HOWE, LHST, "2025-01-06", None),
    ("FREQ=DAILY;UNTIL=20250109T210000Z", LORD_HOWE, LHST, "2025-01-06", "2025-01-10"),
    ("FREQ=DAILY;UNTIL=20250109T205959Z", LORD_HOWE, LHST, "2025-01-06", "2025-01-09"),
    # ... and UNTIL converts at its own date's offset (+10:30), not the start's (+11)
    ("FREQ=DAILY;UNTIL=20250505T213000Z", LH_MARCH, LHST, "2025-03-03", "2025-05-06"),
    ("FREQ=DAILY;UNTIL=20250505T212959Z", LH_MARCH, LHST, "2025-03-03", "2025-05-05"),
    # a zone without a Windows name goes as its IANA name
    ("FREQ=DAILY", TROLL, "Antarctica/Troll", "2025-01-06", None),
    # all-day: a date UNTIL is inclusive; a date-time one counts from midnight UTC
    ("FREQ=DAILY;UNTIL=20250131", day("2025-01-06"), "UTC", "2025-01-06", "2025-01-31"),
    ("FREQ=DAILY;UNTIL=20250131T000000Z", day("2025-01-06"), "UTC", "2025-01-06", "2025-01-31"),
    ("FREQ=DAILY;UNTIL=20250130T235959Z", day("2025-01-06"), "UTC", "2025-01-06", "2025-01-30"),
    ("FREQ=WEEKLY;COUNT=2", day("2025-01-06"), "UTC", "2025-01-06", 2),
]


@pytest.mark.parametrize(
    ("line", "start", "tz", "first", "end"), RANGES, ids=[r[0] for r in RANGES]
)
def test_range(line: str, start: EventTime, tz: str, first: str, end: int | str | None) -> None:
    expected: dict[str, Any] = {"type": "noEnd", "startDate": first, "recurrenceTimeZone": tz}
    if isinstance(end, int):
        expected |= {"type": "numbered", "numberOfOccurrences": end}
    elif end is not None:
        expected |= {"type": "endDate", "endDate": end}
    assert graph(line, start)["range"] == expected


def test_no_recurrence_is_none() -> None:
    assert to_graph([], MONDAY) is None


def test_whole_result() -> None:
    lines = [
        "RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH;WKST=SU;UNTIL=20250331T090000Z",
        "EXDATE;TZID=Europe/Paris:20250116T100000",
    ]
    assert to_graph(lines, MONDAY) == GraphRecurrence(
        recurrence={
            "pattern": {
                "type": "weekly",
                "interval": 2,
                "daysOfWeek": ["tuesday", "thursday"],
                "firstDayOfWeek": "sunday",
            },
            "range": {
                "type": "endDate",
                "startDate": "2025-01-06",
                "endDate": "2025-03-31",
                "recurrenceTimeZone": "Romance Standard Time",
            },
        },
        exdates=(timed("2025-01-16T10:00"),),
    )


CLAMPS = "Outlook clamps to the month's last day, RFC 5545 skips months without it"
COUNTS = "Outlook counts first to fourth, or last; not"
FILTER = "Outlook cannot limit a series to some months"
AT_START = "Outlook repeats at the start time 10:00:00"
ONCE = "Outlook repeats once a day"
DAILY_AT_MOST = "Outlook repeats at most daily"
BOTH = "no Outlook pattern has both"
POSITION = "Outlook picks one weekday position per month"
ONE_DAY = "Outlook picks one weekday per month"
ONE_MONTH = "Outlook's yearly patterns name one month"
BACKWARDS = "Outlook counts no days back from the month's end but the last"
EXRULE = "Outlook has no exclusion rules; send the excluded instants as EXDATE"
RDATE = "Outlook has no extra dates in a series; create them as separate events"
DAY_SETS = (
    "Outlook counts one weekday, every day, Monday to Friday or Saturday and Sunday; "
    "it reads other sets differently"
)


def refused(line: str | list[str], part: str, reason: str, start: EventTime = MONDAY) -> Any:
    """A 501 case: the rule (or all the lines), the part the detail names, and why."""
    lines = [f"RRULE:{line}"] if isinstance(line, str) else line
    return pytest.param(lines, start, f"{part} ({reason})", id=part)


UNSUPPORTED = [
    refused("FREQ=HOURLY", "FREQ=HOURLY", DAILY_AT_MOST),
    refused("FREQ=MINUTELY;INTERVAL=15", "FREQ=MINUTELY", DAILY_AT_MOST),
    refused("FREQ=SECONDLY", "FREQ=SECONDLY", DAILY_AT_MOST),
    refused("FREQ=DAILY;BYHOUR=10,14", "several BYHOUR values", ONCE),
    refused("FREQ=DAILY;BYMINUTE=0,30", "several BYMINUTE values", ONCE),
    refused("FREQ=DAILY;BYSECOND=0,30", "several BYSECOND values", ONCE),
    refused("FREQ=DAILY;BYHOUR=9", "BYHOUR=9", AT_START),
    refused("FREQ=WEEKLY;BYMINUTE=15", "BYMINUTE=15", AT_START),
    refused("FREQ=WEEKLY;BYSECOND=30", "BYSECOND=30", AT_START),
    refused("FREQ=MONTHLY;BYDAY=MO,TU;BYSETPOS=1,-1", "BYSETPOS=1,-1", "Outlook picks one day"),
    refused("FREQ=MONTHLY;BYDAY=5FR", "BYDAY=5FR", f"{COUNTS} 5"),
    refused("FREQ=MONTHLY;BYDAY=-2MO", "BYDAY=-2MO", f"{COUNTS} -2"),
    refused("FREQ=MONTHLY;BYDAY=-5MO", "BYDAY=-5MO", f"{COUNTS} -5"),
    refused("FREQ=YEARLY;BYMONTH=3;BYDAY=-3MO", "BYDAY=-3MO", f"{COUNTS} -3"),
    refused("FREQ=YEARLY;BYDAY=20MO", "BYDAY=20MO", f"{COUNTS} 20"),
    refused("FREQ=MONTHLY;BYDAY=MO,TU;BYSETPOS=5", "BYSETPOS=5", f"{COUNTS} 5"),
    refused("FREQ=MONTHLY;BYDAY=MO;BYSETPOS=-2", "BYSETPOS=-2", f"{COUNTS} -2"),
    refused("FREQ=YEARLY;BYYEARDAY=100", "BYYEARDAY", "Outlook has no day-of-the-year pattern"),
    refused("FREQ=YEARLY;BYWEEKNO=20;BYDAY=MO", "BYWEEKNO", "Outlook has no week-number pattern"),
    refused(
        "FREQ=MONTHLY;BYMONTHDAY=1,15",
        "several BYMONTHDAY values",
        "Outlook repeats on one day of the month",
    ),
    refused("FREQ=MONTHLY;BYMONTHDAY=29", "BYMONTHDAY=29", CLAMPS),
    refused("FREQ=MONTHLY;BYMONTHDAY=30", "BYMONTHDAY=30", CLAMPS),
    refused("FREQ=MONTHLY;BYMONTHDAY=31", "BYMONTHDAY=31", CLAMPS),
    refused("FREQ=MONTHLY", "FREQ=MONTHLY from day 31", CLAMPS, JAN31),
    refused("FREQ=MONTHLY;INTERVAL=2", "FREQ=MONTHLY from day 31", CLAMPS, JAN31),
    refused("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", "BYMONTHDAY=29", CLAMPS),
    refused("FREQ=YEARLY;BYMONTH=4;BYMONTHDAY=31", "BYMONTHDAY=31", CLAMPS),
    refused("FREQ=YEARLY", "FREQ=YEARLY from day 29", CLAMPS, day("2024-02-29")),
    refused("FREQ=MONTHLY;BYMONTHDAY=-2", "BYMONTHDAY=-2", BACKWARDS),
    refused("FREQ=MONTHLY;BYMONTHDAY=-31", "BYMONTHDAY=-31", BACKWARDS),
    refused("FREQ=DAILY;BYMONTH=1", "BYMONTH=1 with FREQ=DAILY", FILTER),
    refused("FREQ=WEEKLY;BYMONTH=1,2", "BYMONTH=1,2 with FREQ=WEEKLY", FILTER),
    refused("FREQ=MONTHLY;BYMONTH=6", "BYMONTH=6 with FREQ=MONTHLY", FILTER),
    refused("FREQ=YEARLY;BYMONTH=1,7", "BYMONTH=1,7 with FREQ=YEARLY", FILTER),
    refused(["RRULE:FREQ=DAILY", "EXRULE:FREQ=WEEKLY"], "EXRULE", EXRULE),
    refused(["RRULE:FREQ=DAILY", "RDATE:20250301T090000Z"], "RDATE", RDATE),
    refused(["EXRULE:FREQ=WEEKLY"], "EXRULE", EXRULE),
    refused(
        ["RRULE:FREQ=DAILY", "RRULE:FREQ=WEEKLY"],
        "several RRULE lines",
        "Outlook holds one pattern per series",
    ),
    refused("RSCALE=GREGORIAN;FREQ=YEARLY", "RSCALE", "Outlook has only the Gregorian calendar"),
    refused(
        "FREQ=DAILY;INTERVAL=2;BYDAY=MO",
        "FREQ=DAILY;INTERVAL=2 with BYDAY",
        "Outlook's weekly days skip no days",
    ),
    refused("FREQ=DAILY;BYMONTHDAY=1", "BYMONTHDAY with FREQ=DAILY", BOTH),
    refused("FREQ=WEEKLY;BYDAY=MO,TU;BYSETPOS=1", "BYSETPOS with FREQ=WEEKLY", BOTH),
    refused(
        "FREQ=MONTHLY;INTERVAL=2;BYDAY=MO",
        "BYDAY=MO without an ordinal or BYSETPOS in FREQ=MONTHLY",
        POSITION,
    ),
    refused(
        "FREQ=YEARLY;BYMONTH=3;BYDAY=MO",
        "BYDAY=MO without an ordinal or BYSETPOS in FREQ=YEARLY",
        POSITION,
    ),
    refused("FREQ=YEARLY;BYDAY=1MO", "BYDAY=1MO without BYMONTH", ONE_MONTH),
    refused("FREQ=YEARLY;BYMONTHDAY=15", "BYMONTHDAY without BYMONTH", ONE_MONTH),
    refused("FREQ=MONTHLY;BYDAY=1MO,3MO", "BYDAY=1MO,3MO", ONE_DAY),
    refused("FREQ=MONTHLY;BYDAY=1MO,TU", "BYDAY=1MO,TU", ONE_DAY),
    # Exchange counts one weekday, every day, Monday-Friday or the weekend; Graph documents that
    # with another set "the event falls on the first day that satisfies the pattern".
    refused("FREQ=MONTHLY;BYDAY=MO,WE;BYSETPOS=2", "BYDAY=MO,WE with BYSETPOS", DAY_SETS),
    refused("FREQ=MONTHLY;BYDAY=MO,TU;BYSETPOS=1", "BYDAY=MO,TU with BYSETPOS", DAY_SETS),
    refused(
        "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR,SA;BYSETPOS=-1",
        "BYDAY=MO,TU,WE,TH,FR,SA with BYSETPOS",
        DAY_SETS,
    ),
    refused("FREQ=YEARLY;BYMONTH=3;BYDAY=TU,TH;BYSETPOS=-1", "BYDAY=TU,TH with BYSETPOS", DAY_SETS),
    refused(
        "FREQ=MONTHLY;BYDAY=1MO;BYSETPOS=1",
        "BYSETPOS with a BYDAY ordinal",
        "Outlook takes one or the other",
    ),
    refused(
        "FREQ=MONTHLY;BYMONTHDAY=13;BYDAY=FR",
        "BYMONTHDAY with BYDAY",
        "Outlook matches a day number or weekdays",
    ),
    refused(
        "FREQ=MONTHLY;BYMONTHDAY=1;BYSETPOS=1",
        "BYSETPOS without BYDAY",
        "Outlook numbers weekdays only",
    ),
]


@pytest.mark.parametrize(("lines", "start", "detail"), UNSUPPORTED)
def test_not_representable_is_501(lines: list[str], start: EventTime, detail: str) -> None:
    with pytest.raises(FeatureNotImplemented) as caught:
        to_graph(lines, start)
    assert caught.value.detail == f"recurrence: Outlook cannot represent {detail}"
    assert (caught.value.status, caught.value.error.type) == (501, "errors/feature_not_implemented")


# (recurrence lines, start, a fragment of the 400 detail); the detail also quotes the line
INVALID: list[tuple[list[str], EventTime, str]] = [
    (["FREQ=DAILY"], MONDAY, "not an iCalendar line"),
    (["RRULE:FREQ=DAILY", "DTSTART:20250106T090000Z"], MONDAY, "expected an RRULE, EXDATE"),
    (["RRULE:FREQ=FOO"], MONDAY, "Expected frequency"),
    (["RRULE:INTERVAL=2"], MONDAY, "FREQ is required"),
    (["RRULE:"], MONDAY, "FREQ is required"),
    (["RRULE:FREQ=DAILY;FREQ=WEEKLY"], MONDAY, "FREQ is given twice"),
    (["RRULE:FREQ=DAILY,WEEKLY"], MONDAY, "FREQ takes one value"),
    (["RRULE:FREQ=DAILY;X-FOO=1"], MONDAY, "unknown rule part 'X-FOO'"),
    (["RRULE:FREQ=DAILY;COUNT=0"], MONDAY, "COUNT must be within 1..2147483647"),
    (["RRULE:FREQ=DAILY;COUNT=x"], MONDAY, "Expected int"),
    (["RRULE:FREQ=DAILY;INTERVAL=0"], MONDAY, "INTERVAL must be within 1..2147483647"),
    (["RRULE:FREQ=DAILY;COUNT=2;UNTIL=20250201T000000Z"], MONDAY, "COUNT and UNTIL"),
    (["RRULE:FREQ=MONTHLY;BYMONTHDAY=0"], MONDAY, "BYMONTHDAY must be within -31..31, not 0"),
    (["RRULE:FREQ=MONTHLY;BYMONTHDAY=32"], MONDAY, "BYMONTHDAY must be within -31..31, not 0"),
    (["RRULE:FREQ=YEARLY;BYMONTH=13"], MONDAY, "BYMONTH must be within 1..12"),
    (["RRULE:FREQ=DAILY;BYHOUR=24"], MONDAY, "BYHOUR must be within 0..23"),
    (["RRULE:FREQ=MONTHLY;BYDAY=0MO"], MONDAY, "BYDAY value '0MO'"),
    (["RRULE:FREQ=MONTHLY;BYDAY=54MO"], MONDAY, "BYDAY value '54MO'"),
    (["RRULE:FREQ=MONTHLY;BYDAY=XX"], MONDAY, "Expected weekday abbreviation"),
    (["RRULE:FREQ=WEEKLY;BYDAY=1MO"], MONDAY, "BYDAY ordinals (such as 1MO) need"),
    (["RRULE:FREQ=DAILY;UNTIL=20250131"], MONDAY, "UNTIL must be a date-time"),
    (["RRULE:FREQ=DAILY;UNTIL=20250106T085959Z"], MONDAY, "UNTIL is before the start"),
    (["RRULE:FREQ=DAILY;UNTIL=20250105"], day("2025-01-06"), "UNTIL is before the start"),
    (["RRULE:FREQ=DAILY;BYHOUR=10"], day("2025-01-06"), "BYHOUR cannot be used with an all-day"),
    (["EXDATE:20250113T090000Z"], MONDAY, "EXDATE needs an RRULE"),
    (["RRULE:FREQ=DAILY", "EXDATE;VALUE=DATE:20250113"], MONDAY, "EXDATE must hold date-times"),
    (["RRULE:FREQ=DAILY", "EXDATE:20250113T000000Z"], day("2025-01-06"), "EXDATE must hold dates"),
    (["RRULE:FREQ=DAILY", "EXDATE:20250113T000000Z/PT1H"], MONDAY, "EXDATE must hold date-times"),
    (["RRULE:FREQ=DAILY", "EXDATE:tomorrow"], MONDAY, "expected dates or date-times"),
    (["RRULE:FREQ=DAILY", "EXDATE;TZID=Mars/Olympus:20250113T100000"], MONDAY, "'Mars/Olympus'"),
]


@pytest.mark.parametrize(("lines", "start", "fragment"), INVALID, ids=[i[2] for i in INVALID])
def test_syntax_errors_are_400_quoting_the_line(
    lines: list[str], start: EventTime, fragment: str
) -> None:
    with pytest.raises(InvalidParameters) as caught:
        to_graph(lines, start)
    assert fragment in caught.value.detail
    assert any(repr(line) in caught.value.detail for line in lines)
    assert caught.value.status == 400


TUE13, TUE20 = timed("2025-01-13T10:00"), timed("2025-01-20T10:00")

# (EXDATE lines, start, the instants expected back: in the event's zone, sorted, no repeats)
EXDATES: list[tuple[list[str], EventTime, tuple[EventTime, ...]]] = [
    (["EXDATE;TZID=Europe/Paris:20250120T100000,20250113T100000"], MONDAY, (TUE13, TUE20)),
    (["EXDATE:20250113T090000Z"], MONDAY, (TUE13,)),
    (["EXDATE;TZID=America/New_York:20250113T040000"], MONDAY, (TUE13,)),
    (["EXDATE;TZID=Eastern Standard Time:20250113T040000"], MONDAY, (TUE13,)),
    (["EXDATE:20250113T100000"], MONDAY, (TUE13,)),  # floating: the event's zone
    (
        ["EXDATE:20250120T090000Z", "EXDATE:20250113T090000Z,20250120T090000Z"],
        MONDAY,
        (TUE13, TUE20),
    ),
    (
        ["EXDATE;VALUE=DATE:20250114,20250113"],
        day("2025-01-06"),
        (day("2025-01-13"), day("2025-01-14")),
    ),
]


@pytest.mark.parametrize(("lines", "start", "expected"), EXDATES, ids=[e[0][-1] for e in EXDATES])
def test_exdates(lines: list[str], start: EventTime, expected: tuple[EventTime, ...]) -> None:
    result = to_graph(["RRULE:FREQ=WEEKLY", *lines], start)
    assert result == GraphRecurrence(graph("FREQ=WEEKLY", start), expected)


# --- Graph -> RFC 5545 -----------------------------------------------------------------------

# What Graph sends for fields a pattern type does not use.
NOISE = {"month": 0, "dayOfMonth": 0, "index": "first", "firstDayOfWeek": "sunday"}


def ends(end: str, tz: str = PARIS) -> dict[str, Any]:
    return {"type": "endDate", "startDate": "2025-01-06", "endDate": end, "recurrenceTimeZone": tz}


def back(pattern: dict[str, Any], line: str, span: Any = None, start: EventTime = MONDAY) -> Any:
    """A from_graph case: Graph's pattern (and range), and the RRULE expected back."""
    recurrence = {"pattern": pattern, "range": span or {"type": "noEnd"}}
    return pytest.param(recurrence, start, f"RRULE:{line}", id=line)


COUNT5 = {"type": "numbered", "numberOfOccurrences": 5, "endDate": "0001-01-01"}
APRIL, FEB = timed("2025-04-06T10:00"), timed("2025-02-06T10:00")

FROM_GRAPH = [
    back({**NOISE, **daily(1), "daysOfWeek": []}, "FREQ=DAILY"),
    back(daily(3), "FREQ=DAILY;COUNT=5;INTERVAL=3", COUNT5),
    back(weekly(1, "MO FR"), "FREQ=WEEKLY;BYDAY=MO,FR"),
    back({**NOISE, **weekly(2, "FR TU", "SU")}, "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,FR;WKST=SU"),
    back({"type": "weekly", "daysOfWeek": ["Monday"]}, "FREQ=WEEKLY;BYDAY=MO;WKST=SU"),
    back({**NOISE, **abs_m(15)}, "FREQ=MONTHLY;BYMONTHDAY=15"),
    # Outlook clamps a day past the month's end to its last day: RFC 5545 can say the same
    back(abs_m(30), "FREQ=MONTHLY;BYMONTHDAY=28,29,30;BYSETPOS=-1"),
    back(abs_m(31, 2), "FREQ=MONTHLY;INTERVAL=2;BYMONTHDAY=-1"),
    back(abs_m(30, 12), "FREQ=MONTHLY;INTERVAL=12;BYMONTHDAY=30"),  # January only
    back(abs_m(31, 6), "FREQ=MONTHLY;INTERVAL=6;BYMONTHDAY=31"),  # January and July
    back(abs_m(31, 6), "FREQ=MONTHLY;INTERVAL=6;BYMONTHDAY=-1", None, APRIL),  # April, October
    back(abs_m(30, 6), "FREQ=MONTHLY;INTERVAL=6;BYMONTHDAY=28,29,30;BYSETPOS=-1", None, FEB),
    back(abs_y(29, 2), "FREQ=YEARLY;BYMONTHDAY=-1;BYMONTH=2"),
    back(abs_y(31, 4), "FREQ=YEARLY;BYMONTHDAY=-1;BYMONTH=4"),
    back({**NOISE, **abs_y(15, 3)}, "FREQ=YEARLY;BYMONTHDAY=15;BYMONTH=3"),
    back({**NOISE, **rel_m("TU", "second")}, "FREQ=MONTHLY;BYDAY=2TU"),
    back({"type": "relativeMonthly", "daysOfWeek": ["friday"]}, "FREQ=MONTHLY;BYDAY=1FR"),
    back(rel_m(WORK, "last"), "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1"),
    back(rel_m(ALL, "last"), "FREQ=MONTHLY;BYMONTHDAY=-1"),
    back(rel_m(ALL, "third"), "FREQ=MONTHLY;BYMONTHDAY=3"),
    back(rel_y("TH", "fourth", 11, 2), "FREQ=YEARLY;INTERVAL=2;BYDAY=4TH;BYMONTH=11"),
    back(rel_y(ALL, "last", 2), "FREQ=YEARLY;BYMONTHDAY=-1;BYMONTH=2"),
    # endDate: UNTIL at the start time on the last date (10:00 in Paris: summer time here)
    back(daily(1), "FREQ=DAILY;UNTIL=20250630T080000Z", ends("2025-06-30")),
    back(daily(1), "FREQ=DAILY;UNTIL=20250111T020000Z", ends("2025-01-10", EST), NY_LATE),
    back(daily(1), "FREQ=DAILY;UNTIL=20250109T210000Z", ends("2025-01-10", LHST), LORD_HOWE),
    # a range in another zone than the event's: the end of its last date there
    back(daily(1), "FREQ=DAILY;UNTIL=20250110T235959Z", ends("2025-01-10", "UTC")),
    # a zone only Outlook knows: the event's zone
    back(daily(1), "FREQ=DAILY;UNTIL=20250110T090000Z", ends("2025-01-10", "Customized Zone")),
    back(daily(1), "FREQ=DAILY;UNTIL=20250110", ends("2025-01-10", "UTC"), day("2025-01-06")),
]


@pytest.mark.parametrize(("recurrence", "start", "line"), FROM_GRAPH)
def test_from_graph(recurrence: dict[str, Any], start: EventTime, line: str) -> None:
    assert from_graph(recurrence, start) == (line,)


BROKEN: list[dict[str, Any]] = [
    {},
    {"pattern": {"type": "hourly", "interval": 1}},
    {"pattern": {"type": "absoluteMonthly", "interval": 1}},
    {"pattern": abs_m(32)},
    {"pattern": abs_y(1, 0)},
    {"pattern": weekly(1, "")},
    {"pattern": {**weekly(1, "MO"), "daysOfWeek": ["funday"]}},
    {"pattern": rel_m("MO", "fifth")},
    {"pattern": daily(1), "range": {"type": "forever"}},
    {"pattern": daily(1), "range": {"type": "endDate"}},
    {"pattern": daily(1), "range": {"type": "numbered", "numberOfOccurrences": 0}},
]


@pytest.mark.parametrize("recurrence", BROKEN, ids=[str(b) for b in BROKEN])
def test_from_graph_refuses_what_it_cannot_read(recurrence: dict[str, Any]) -> None:
    with pytest.raises(ProviderError, match="Outlook sent a recurrence calgate cannot read"):
        from_graph(recurrence, MONDAY)


# --- Round trips: from_graph(to_graph(x)) repeats on the same instants as x ------------------


def occurrences(line: str, start: EventTime, limit: int = 120) -> list[dt.datetime]:
    """The first ``limit`` instants of ``line`` (dateutil), within 12 years of the start."""
    first = start.aware if start.wall is not None else start.aware.replace(tzinfo=None)
    found: list[dt.datetime] = []
    for instant in rrulestr(line.removeprefix("RRULE:"), dtstart=first):
        if len(found) == limit or instant.year > first.year + 12:
            break
        found.append(instant)
    return found


def dateutil_reads(line: str, start: EventTime) -> bool:
    """dateutil wants UNTIL in UTC for a zoned start, and floating for a floating one."""
    until = line.partition("UNTIL=")[2].partition(";")[0]
    return not until or until.endswith("Z") == (start.wall is not None)


ROUND_TRIPS = (
    [(line, start) for line, start, _ in PATTERNS]
    + [(line, start) for line, start, *_ in RANGES if dateutil_reads(line, start)]
    + [
        ("FREQ=WEEKLY;INTERVAL=3;BYDAY=SU,WE;WKST=TH;COUNT=9", MONDAY),
        ("FREQ=MONTHLY;BYMONTHDAY=-1;UNTIL=20261231T230000Z", MONDAY),
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=-1;COUNT=8", day("2024-01-06")),
        ("FREQ=MONTHLY;INTERVAL=2;BYDAY=-1FR;UNTIL=20270101", day("2025-01-06")),
    ]
)


@pytest.mark.parametrize(("line", "start"), ROUND_TRIPS, ids=[r[0] for r in ROUND_TRIPS])
def test_round_trip(line: str, start: EventTime) -> None:
    result = to_graph([f"RRULE:{line}"], start)
    assert result is not None
    (back,) = from_graph(result.recurrence, start)
    assert occurrences(back, start) == occurrences(line, start)
    again = to_graph([back], start)  # what Outlook sends back can be written back again
    assert again is not None
    assert again.recurrence["range"] == result.recurrence["range"]
