"""Graph recurrence and RFC 5545 rule repeat on the same days, for generated rules and patterns.

``graph_days`` below expands a Graph ``patternedRecurrence`` as the Graph documentation describes
it (index: the n-th instance "of the allowed days ... counted from the first instance in the
month", where the days are one weekday or Exchange's day, weekday or weekend day; with another
set "the event falls on the first day that satisfies the pattern"; weeks begin on
firstDayOfWeek; the range's dates are local dates) plus Outlook's clamp of a day past the
month's end to its last day. dateutil expands the RFC 5545 side. Whatever ``to_graph`` accepts
must repeat on exactly the RFC days; whatever ``from_graph`` writes must repeat on exactly the
Graph days.
"""

from __future__ import annotations

import calendar
import datetime as dt
import itertools
from collections.abc import Iterator
from typing import Any

from dateutil.rrule import rrulestr
from hypothesis import event, given, settings
from hypothesis import strategies as st

from calgate.domain.graph_recurrence import from_graph, to_graph
from calgate.domain.times import EventTime
from calgate.errors import FeatureNotImplemented, InvalidParameters

NAMES = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"]
CODES = ["SU", "MO", "TU", "WE", "TH", "FR", "SA"]
INDEX = {"first": 0, "second": 1, "third": 2, "fourth": 3, "last": -1}
LIMIT, YEARS = 80, 6
# The sets a relative pattern counts as one kind of day: day, weekday, weekend day.
EXCHANGE_SETS = [set(NAMES), set(NAMES[1:6]), {NAMES[0], NAMES[6]}]


def name(day: dt.date) -> str:
    return NAMES[day.isoweekday() % 7]


def in_month(pattern: dict[str, Any], year: int, month: int) -> dt.date:
    length = calendar.monthrange(year, month)[1]
    if pattern["type"].startswith("absolute"):
        return dt.date(year, month, min(pattern["dayOfMonth"], length))  # Outlook clamps
    days = [dt.date(year, month, d) for d in range(1, length + 1)]
    wanted, n = set(pattern["daysOfWeek"]), INDEX[pattern.get("index", "first")]
    if len(wanted) == 1 or wanted in EXCHANGE_SETS:
        return [d for d in days if name(d) in wanted][n]
    # Another set: "the event falls on the first day that satisfies the pattern".
    return min([d for d in days if name(d) == weekday][n] for weekday in wanted)


def candidates(pattern: dict[str, Any], first: dt.date) -> Iterator[dt.date]:
    step, kind = pattern["interval"], pattern["type"]
    if kind == "daily":
        yield from (first + dt.timedelta(days=k * step) for k in itertools.count())
    elif kind == "weekly":
        shift = (first.isoweekday() % 7 - NAMES.index(pattern["firstDayOfWeek"])) % 7
        week = first - dt.timedelta(days=shift)
        for k in itertools.count(0, step):
            for offset in range(7):
                day = week + dt.timedelta(days=7 * k + offset)
                if day >= first and name(day) in pattern["daysOfWeek"]:
                    yield day
    else:
        yearly = kind.endswith("Yearly")
        for k in itertools.count(0, step):
            if yearly:
                year, month = first.year + k, pattern["month"]
            else:
                year, month = (
                    first.year + (first.month - 1 + k) // 12,
                    (first.month - 1 + k) % 12 + 1,
                )
            day = in_month(pattern, year, month)
            if day >= first:
                yield day


def graph_days(recurrence: dict[str, Any]) -> list[dt.date]:
    pattern, span = recurrence["pattern"], recurrence["range"]
    first = dt.date.fromisoformat(span["startDate"])
    last = dt.date.fromisoformat(span.get("endDate", "9999-12-31"))
    count = span["numberOfOccurrences"] if span["type"] == "numbered" else LIMIT
    horizon = first.replace(year=first.year + YEARS, day=1)
    found: list[dt.date] = []
    for day in candidates(pattern, first):
        if day > last or day > horizon or len(found) == min(count, LIMIT):
            break
        found.append(day)
    return found


def rfc_days(line: str, start: EventTime) -> list[dt.date]:
    first = start.aware if start.wall is not None else start.aware.replace(tzinfo=None)
    horizon = first.date().replace(year=first.year + YEARS, day=1)
    found: list[dt.date] = []
    for instant in rrulestr(line.removeprefix("RRULE:"), dtstart=first):
        if instant.date() > horizon or len(found) == LIMIT:
            break
        assert instant.time() == first.time()  # Outlook repeats at the start time
        found.append(instant.date())
    return found


ZONES = ["Europe/Paris", "America/New_York", "Australia/Lord_Howe", "UTC"]


@st.composite
def starts(draw: st.DrawFn) -> EventTime:
    day = draw(st.dates(dt.date(2024, 1, 1), dt.date(2026, 12, 31)))
    if draw(st.booleans()):
        return EventTime(date=day)
    at = draw(st.sampled_from([dt.time(0, 30), dt.time(10), dt.time(23, 30)]))  # no DST gaps
    return EventTime(wall=dt.datetime.combine(day, at), tz=draw(st.sampled_from(ZONES)))


@st.composite
def rules(draw: st.DrawFn, start: EventTime) -> str:
    """Rules biased towards what Outlook can hold, with the near misses it cannot."""

    def some(values: list[Any], least: int = 1, most: int = 2) -> list[Any]:
        chosen = st.lists(st.sampled_from(values), min_size=least, max_size=most, unique=True)
        return draw(chosen)

    def join(values: list[Any]) -> str:
        return ",".join(str(value) for value in values)

    freq = draw(st.sampled_from(["DAILY", "WEEKLY", "MONTHLY", "MONTHLY", "YEARLY", "YEARLY"]))
    parts = [f"FREQ={freq}", f"INTERVAL={draw(st.sampled_from([1, 1, 2, 3, 6, 12]))}"]
    ordinals = some([1, 2, 3, 4, -1, 1, 2, 3, 4, -1, 5, -2], 1, draw(st.sampled_from([1, 1, 2])))
    days = some(CODES, 1, 7)
    shape = draw(st.sampled_from(["", "days", "ordinal", "setpos", "monthday", "mixed"]))
    if shape == "days":
        parts.append(f"BYDAY={join(days)}")
    elif shape == "ordinal":  # one weekday mostly, sometimes two
        pairs = zip(ordinals * 7, days[: draw(st.sampled_from([1, 1, 1, 2]))], strict=False)
        parts.append(f"BYDAY={join([f'{n}{code}' for n, code in pairs])}")
    elif shape == "setpos":
        parts.append(f"BYDAY={join(days)};BYSETPOS={join(ordinals)}")
    elif shape == "monthday":
        parts.append(f"BYMONTHDAY={join(some([1, 6, 15, 28, 29, 30, 31, -1, -2]))}")
    elif shape == "mixed":
        parts.append(f"BYMONTHDAY={join(some([1, 13, -1]))};BYDAY={join(days)}")
    if draw(st.integers(0, 9)) < (8 if freq == "YEARLY" else 1):
        months = some([1, 2, 4, 7, 11], 1, draw(st.sampled_from([1, 1, 1, 2])))
        parts.append(f"BYMONTH={join(months)}")
    if draw(st.booleans()):
        parts.append(f"WKST={draw(st.sampled_from(CODES))}")
    end = draw(st.sampled_from(["", "COUNT", "UNTIL"]))
    if end == "COUNT":
        parts.append(f"COUNT={draw(st.integers(1, 40))}")
    elif end == "UNTIL":
        later = start.utc + dt.timedelta(minutes=draw(st.integers(0, 900 * 24 * 60)))
        text = f"{later:%Y%m%dT%H%M%SZ}" if start.wall is not None else f"{later:%Y%m%d}"
        parts.append(f"UNTIL={text}")
    return ";".join(parts)


@settings(max_examples=1000, deadline=None)
@given(st.data())
def test_what_to_graph_accepts_repeats_on_the_rule_days(data: st.DataObject) -> None:
    start = data.draw(starts())
    line = f"RRULE:{data.draw(rules(start))}"
    try:
        result = to_graph([line], start)
    except (FeatureNotImplemented, InvalidParameters) as exc:
        event(f"refused: {type(exc).__name__}")
        return  # refused out loud: nothing approximated
    assert result is not None
    event(result.recurrence["pattern"]["type"])
    expected = rfc_days(line, start)
    assert graph_days(result.recurrence) == expected
    assert rfc_days(from_graph(result.recurrence, start)[0], start) == expected


@st.composite
def patterns(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["daily", "weekly", "absolute", "relative"]))
    interval = draw(st.sampled_from([1, 2, 3, 6, 12]))
    days = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=7, unique=True))
    if kind == "daily":
        return {"type": "daily", "interval": interval}
    if kind == "weekly":
        first = draw(st.sampled_from(NAMES))
        return {"type": kind, "interval": interval, "daysOfWeek": days, "firstDayOfWeek": first}
    period = draw(st.sampled_from(["Monthly", "Yearly"]))
    pattern: dict[str, Any] = {"type": kind + period, "interval": interval}
    if period == "Yearly":
        pattern["month"] = draw(st.integers(1, 12))
    if kind == "absolute":
        most = 31 if period == "Monthly" else calendar.monthrange(2024, pattern["month"])[1]
        return {**pattern, "dayOfMonth": draw(st.integers(1, most))}
    return {**pattern, "daysOfWeek": days, "index": draw(st.sampled_from(list(INDEX)))}


@st.composite
def spans(draw: st.DrawFn, start: EventTime) -> dict[str, Any]:
    first = start.aware.date()
    span: dict[str, Any] = {"startDate": first.isoformat(), "recurrenceTimeZone": start.tz}
    kind = draw(st.sampled_from(["noEnd", "numbered", "endDate"]))
    if kind == "numbered":
        return {**span, "type": kind, "numberOfOccurrences": draw(st.integers(1, 40))}
    if kind == "endDate":
        last = first + dt.timedelta(days=draw(st.integers(0, 900)))
        return {**span, "type": kind, "endDate": last.isoformat()}
    return {**span, "type": kind}


@settings(max_examples=600, deadline=None)
@given(st.data())
def test_what_from_graph_writes_repeats_on_the_graph_days(data: st.DataObject) -> None:
    start = data.draw(starts())
    recurrence = {"pattern": data.draw(patterns()), "range": data.draw(spans(start))}
    (line,) = from_graph(recurrence, start)
    assert rfc_days(line, start) == graph_days(recurrence)
