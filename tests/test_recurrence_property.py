"""calgate's expansion against an independent one (recurring-ical-events) on random series."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import icalendar
import recurring_ical_events
from dateutil.rrule import rrulestr
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from calgate.domain.recurrence import (
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
ZONES = ("UTC", "Europe/Paris", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata")
NO_DST = ("UTC", "Asia/Kolkata")
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
EXAMPLES = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@dataclass(frozen=True)
class Case:
    start: EventTime
    end: EventTime
    parts: dict[str, str]
    """The RRULE's parts, without COUNT."""
    count: int | None
    window: tuple[dt.datetime, dt.datetime]

    @property
    def rule(self) -> str:
        parts = dict(self.parts)
        if self.count is not None:
            parts["COUNT"] = str(self.count)
        return ";".join(f"{name}={value}" for name, value in parts.items())


def weekdays(draw: st.DrawFn, ordinals: bool) -> str:
    days = draw(st.lists(st.sampled_from(WEEKDAYS), min_size=1, max_size=3, unique=True))
    if ordinals and draw(st.booleans()):
        return ",".join(f"{draw(st.sampled_from((1, 2, 3, 4, -1, -2)))}{day}" for day in days)
    return ",".join(days)


@st.composite
def cases(draw: st.DrawFn) -> Case:
    zone = draw(st.sampled_from(ZONES))
    all_day = draw(st.integers(0, 3)) == 0
    day = draw(st.dates(dt.date(2020, 1, 1), dt.date(2030, 12, 31)))
    if all_day:
        start = EventTime(date=day)
        end = EventTime(date=day + dt.timedelta(days=draw(st.integers(1, 3))))
    else:
        minutes = draw(st.sampled_from((0, 15, 30, 45)))
        local = dt.datetime.combine(day, dt.time(draw(st.integers(0, 23)), minutes))
        instant = local.replace(tzinfo=UTC) - dt.timedelta(hours=draw(st.integers(-12, 12)))
        start = EventTime.at(instant, zone)  # a wall time that exists in the zone
        length = draw(st.sampled_from((15, 60, 90, 24 * 60, 3 * 24 * 60)))
        end = start.shifted(dt.timedelta(minutes=length))
    freqs = ["DAILY", "WEEKLY", "MONTHLY", "YEARLY"]
    if not all_day and zone in NO_DST:
        freqs.append("HOURLY")
    freq = draw(st.sampled_from(freqs))
    parts = {"FREQ": freq}
    if draw(st.booleans()):
        parts["INTERVAL"] = str(draw(st.integers(1, 3)))
    if draw(st.booleans()):
        parts["BYDAY"] = weekdays(draw, ordinals=freq in ("MONTHLY", "YEARLY"))
    if freq != "WEEKLY" and draw(st.integers(0, 2)) == 0:
        monthdays = st.sampled_from((1, 2, 10, 15, 28, 29, 30, 31, -1, -2))
        parts["BYMONTHDAY"] = ",".join(map(str, draw(st.sets(monthdays, min_size=1, max_size=3))))
    if draw(st.integers(0, 2)) == 0:
        months = st.sets(st.integers(1, 12), min_size=1, max_size=4)
        parts["BYMONTH"] = ",".join(map(str, sorted(draw(months))))
    if freq == "YEARLY" and "BYDAY" not in parts and draw(st.integers(0, 4)) == 0:
        parts["BYYEARDAY"] = str(draw(st.sampled_from((1, 100, 200, 366, -1))))
    if freq in ("MONTHLY", "YEARLY") and "BYDAY" in parts and draw(st.integers(0, 2)) == 0:
        parts["BYSETPOS"] = str(draw(st.sampled_from((1, 2, -1))))
    if freq == "WEEKLY" and draw(st.booleans()):
        parts["WKST"] = draw(st.sampled_from(WEEKDAYS))
    if freq == "HOURLY" and draw(st.booleans()):
        parts["BYHOUR"] = ",".join(
            map(str, draw(st.sets(st.integers(0, 23), min_size=1, max_size=4)))
        )
    count = None
    bound = draw(st.sampled_from(("count", "until", "none")))
    if bound == "count":
        count = draw(st.integers(1, 30))
    elif bound == "until":
        until = start.utc + dt.timedelta(hours=draw(st.integers(0, 3 * 365 * 24)))
        until_day = until.date() if all_day else None
        parts["UNTIL"] = (
            until_day.strftime("%Y%m%d") if until_day else until.strftime("%Y%m%dT%H%M%SZ")
        )
    window_start = start.utc + dt.timedelta(hours=draw(st.integers(-10 * 24, 3 * 365 * 24)))
    window_end = window_start + dt.timedelta(hours=draw(st.integers(1, 90 * 24)))
    return Case(start, end, parts, count, (window_start, window_end))


def vevent(
    case: Case, rule: str | None, exdates: list[Any], rdates: list[Any]
) -> icalendar.Calendar:
    """The series as the icalendar package models it, for the independent expansion."""
    event = icalendar.Event()
    event.add("uid", "property-test")
    for name, value in (("dtstart", case.start), ("dtend", case.end)):
        event.add(name, value.date if value.date else value.aware)
    if rule:
        event.add("rrule", icalendar.vRecur.from_ical(rule))
    if exdates:
        event.add("exdate", exdates)
    if rdates:
        event.add("rdate", rdates)
    calendar = icalendar.Calendar()
    calendar.add_component(event)
    return calendar


def independent(case: Case, exdates: list[Any], rdates: list[Any]) -> list[dt.date]:
    """recurring-ical-events' occurrence starts: UTC instants, or dates for all-day events."""
    rule: str | None = case.rule
    if case.count is not None:
        # RFC 5545: DTSTART counts as the first occurrence; recurring-ical-events adds it on top.
        dtstart = (
            case.start.aware if case.start.date is None else case.start.utc.replace(tzinfo=None)
        )
        first = rrulestr(case.rule, dtstart=dtstart)[0]
        if first != dtstart:
            rule = (
                None
                if case.count == 1
                else case.rule.replace(f"COUNT={case.count}", f"COUNT={case.count - 1}")
            )
    found = recurring_ical_events.of(vevent(case, rule, exdates, rdates)).between(*case.window)
    starts = [occurrence["DTSTART"].dt for occurrence in found]
    if case.start.date is not None:
        return sorted(starts)
    return sorted(start.astimezone(UTC) for start in starts)


def ours(case: Case, lines: list[str]) -> list[dt.date]:
    times = expand(case.start, case.end, lines, *case.window, limit=100_000)
    return [t.date if t.date else t.utc for t in times]


def exdate_line(case: Case, chosen: list[dt.date], zulu: bool) -> str:
    if case.start.date is not None:
        return "EXDATE;VALUE=DATE:" + ",".join(d.strftime("%Y%m%d") for d in chosen)
    if zulu or case.start.tz == "UTC":
        return "EXDATE:" + ",".join(d.strftime("%Y%m%dT%H%M%SZ") for d in chosen)
    instants = [d for d in chosen if isinstance(d, dt.datetime)]
    walls = [EventTime.at(instant, case.start.tz).aware for instant in instants]
    return f"EXDATE;TZID={case.start.tz}:" + ",".join(w.strftime("%Y%m%dT%H%M%S") for w in walls)


@given(cases(), st.data())
@EXAMPLES
def test_expansion_matches_recurring_ical_events(case: Case, data: st.DataObject) -> None:
    lines = ["RRULE:" + case.rule]
    try:
        validate(lines, case.start)
    except InvalidParameters as error:
        assert "never produces an occurrence" in error.detail
        reject()
    expected = independent(case, [], [])
    assert ours(case, lines) == expected

    # Remove a few of those occurrences and add a few dates, in each value form.
    chosen = (
        data.draw(st.lists(st.sampled_from(expected), max_size=3, unique=True)) if expected else []
    )
    rdate_days = data.draw(st.lists(st.integers(-30, 400), max_size=2, unique=True))
    rdates: list[Any] = []
    if case.start.date is not None:
        rdates = [case.start.date + dt.timedelta(days=n) for n in rdate_days]
        if rdates:
            lines.append("RDATE;VALUE=DATE:" + ",".join(d.strftime("%Y%m%d") for d in rdates))
    else:
        rdates = [case.start.utc + dt.timedelta(hours=n * 7) for n in rdate_days]
        if rdates:
            lines.append("RDATE:" + ",".join(d.strftime("%Y%m%dT%H%M%SZ") for d in rdates))
    exdates: list[Any] = list(chosen)
    if chosen:
        lines.append(exdate_line(case, chosen, zulu=data.draw(st.booleans())))
    assert ours(case, lines) == independent(case, exdates, rdates)


@given(cases())
@EXAMPLES
def test_occurrences_are_members_with_round_tripping_tokens(case: Case) -> None:
    lines = ["RRULE:" + case.rule]
    try:
        times = expand(case.start, case.end, lines, *case.window, limit=5)
    except InvalidParameters:
        reject()
    for occurrence in times:
        assert is_occurrence(case.start, case.end, lines, occurrence)
        assert parse_occurrence_token(occurrence_token(occurrence), case.start) == occurrence
        if occurrence.date is None:  # every time here is on a quarter hour
            later = occurrence.shifted(dt.timedelta(minutes=1))
            assert not is_occurrence(case.start, case.end, lines, later)


@given(cases())
@EXAMPLES
def test_bounds_and_windows_agree_with_the_whole_expansion(case: Case) -> None:
    lines = ["RRULE:" + case.rule]
    limit = 300
    try:
        everything = expand(case.start, case.end, lines, None, None, limit=limit)
    except InvalidParameters:
        reject()
    cut = len(everything) == limit
    first, last = series_bounds(case.start, case.end, lines)
    duration = case.end.utc - case.start.utc
    assert first == everything[0].utc
    if case.count is None and "UNTIL" not in case.parts:
        assert last is None
    elif not cut:
        assert last == everything[-1].utc + duration
    lo, hi = case.window
    windowed = expand(case.start, case.end, lines, lo, hi, limit=limit)
    if cut:
        windowed = [t for t in windowed if t.utc <= everything[-1].utc]
    assert windowed == [t for t in everything if t.utc < hi and t.utc + duration > lo]
