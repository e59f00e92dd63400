"""Recurrence lines in, a checked :class:`Series` out (and the normalized lines back)."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass

from calgate.domain import zones
from calgate.domain.recurrence import ical, scan
from calgate.domain.recurrence.budget import Budget
from calgate.domain.recurrence.dates import DateList, parse_dates
from calgate.domain.recurrence.limits import MAX_DATES, MAX_LINE_LENGTH, MAX_LINES, SEARCH_YEARS
from calgate.domain.recurrence.rule import Problem, Rule, parse_rule
from calgate.domain.times import EventTime
from calgate.errors import InvalidParameters

RULE_NAMES = ("RRULE", "EXRULE")
DATE_NAMES = ("RDATE", "EXDATE")
FIELD = "recurrence"


@dataclass(frozen=True, slots=True)
class RuleLine:
    """A checked RRULE or EXRULE line."""

    name: str
    rule: Rule

    def to_ical(self) -> str:
        return ical.write_line(self.name, {}, self.rule.to_ical())


Line = RuleLine | DateList


@dataclass(frozen=True)
class Series:
    """A start and its checked recurrence lines, ready to expand.

    Rules run in wall-clock time from ``dtstart`` (the start's wall time to the second, or
    midnight of an all-day start) in ``zone`` (UTC for all-day events, whose dates count from
    midnight UTC as :class:`EventTime` does). ``dtstart`` keeps ``fold=1`` when the start is the
    second of two equal wall times: see :meth:`instant`.
    """

    start: EventTime
    items: tuple[Line, ...]

    @functools.cached_property
    def lines(self) -> tuple[str, ...]:
        return tuple(item.to_ical() for item in self.items)

    @functools.cached_property
    def dtstart(self) -> dt.datetime:
        if self.start.date is not None:
            return dt.datetime.combine(self.start.date, dt.time())
        assert self.start.wall is not None
        return self.start.wall.replace(microsecond=0)

    @property
    def zone(self) -> dt.tzinfo:
        return dt.UTC if self.start.is_all_day else zones.zone(self.start.tz)

    @functools.cached_property
    def _second_pass_end(self) -> dt.datetime | None:
        """For a DTSTART in the second pass of a repeated hour: a wall time past that pass."""
        if not self.dtstart.fold:
            return None
        first_pass = self.dtstart.replace(tzinfo=self.zone, fold=0).utcoffset()
        second_pass = self.dtstart.replace(tzinfo=self.zone).utcoffset()
        assert first_pass is not None and second_pass is not None
        repeated = first_pass - second_pass
        return self.dtstart + repeated if repeated > dt.timedelta(0) else None

    def instant(self, wall: dt.datetime) -> dt.datetime:
        """The UTC instant of a wall time of the series (its start's, its rules').

        A wall time that happens twice is the first of the two (RFC 5545 section 3.3.5), except
        from a DTSTART that is the second on, in the rest of that same repeated hour: DTSTART
        itself, and the later times a sub-daily rule gives there, are in the second pass.
        """
        end = self._second_pass_end
        if end is not None and self.dtstart <= wall < end:
            wall = wall.replace(fold=1)
        return wall.replace(tzinfo=self.zone).astimezone(dt.UTC)

    @functools.cached_property
    def first(self) -> dt.datetime:
        """DTSTART's instant: always the first instance (RFC 5545), unless an EXDATE drops it."""
        return self.instant(self.dtstart)

    def rules(self, name: str) -> tuple[Rule, ...]:
        return tuple(i.rule for i in self.items if isinstance(i, RuleLine) and i.name == name)

    @functools.cached_property
    def rdates(self) -> tuple[dt.datetime, ...]:
        return tuple(sorted({t for i in self._dates("RDATE") for t in i.instants}))

    @functools.cached_property
    def exdates(self) -> frozenset[dt.datetime]:
        return frozenset(t for i in self._dates("EXDATE") for t in i.instants)

    def _dates(self, name: str) -> tuple[DateList, ...]:
        return tuple(i for i in self.items if isinstance(i, DateList) and i.name == name)

    def event_time(self, instant: dt.datetime) -> EventTime:
        if self.start.is_all_day:
            return EventTime(date=instant.date())
        return EventTime.at(instant, self.start.tz)


def validate(lines: Sequence[str], start: EventTime) -> tuple[str, ...]:
    """Check recurrence lines for an event starting at ``start``; the normalized lines.

    Raises :class:`~calgate.errors.InvalidParameters` naming the line and the part that is wrong.
    """
    return parse(lines, start).lines


def parse(lines: Sequence[str], start: EventTime) -> Series:
    """The checked series (cached: a series is read once, expanded many times)."""
    if isinstance(lines, str):
        raise InvalidParameters(f"{FIELD}: expected a list of lines, got one string")
    if len(lines) > MAX_LINES:
        raise InvalidParameters(
            f"{FIELD}: {len(lines)} lines; at most {MAX_LINES} recurrence lines are allowed"
        )
    for index, line in enumerate(lines):
        if not isinstance(line, str):
            raise InvalidParameters(f"{FIELD}[{index}]: expected a string")
    return _parse(tuple(lines), start, start.wall.fold if start.wall is not None else 0)


@functools.lru_cache(maxsize=1024)
def _parse(lines: tuple[str, ...], start: EventTime, fold: int) -> Series:
    # ``fold`` is part of the key: naive datetimes (so EventTimes) that differ only by it are
    # equal, and the second of two equal wall times must not get the first one's series.
    series = Series(start, ())
    items: list[Line] = []
    for index, line in enumerate(lines):
        try:
            items.append(_line(line, series))
        except Problem as problem:
            raise InvalidParameters(f"{FIELD}[{index}]: {_quote(line)}: {problem}") from None
    dates = sum(len(item.values) for item in items if isinstance(item, DateList))
    if dates > MAX_DATES:
        raise InvalidParameters(
            f"{FIELD}: {dates} RDATE and EXDATE values; at most {MAX_DATES} are allowed in total"
        )
    return Series(start, tuple(items))


def _line(line: str, series: Series) -> Line:
    if len(line) > MAX_LINE_LENGTH:
        raise Problem(f"the line has {len(line)} characters; at most {MAX_LINE_LENGTH} are allowed")
    text = line.strip()
    if "\n" in text or "\r" in text:
        raise Problem("the line contains a line break; give each property as its own line")
    try:
        name, params, value = ical.read_line(text)
    except ValueError:
        raise Problem(
            "not an iCalendar property line (expected e.g. 'RRULE:FREQ=WEEKLY;BYDAY=MO')"
        ) from None
    name = name.upper()
    if name in DATE_NAMES:
        return parse_dates(name, params, value, series.start)
    if name not in RULE_NAMES:
        raise Problem(
            f"{name!r} is not a recurrence property (expected RRULE, EXRULE, RDATE or EXDATE)"
        )
    if params:
        raise Problem(
            f"{name} takes no parameters (got {', '.join(params)}); the rule follows '{name}:'"
        )
    rule = parse_rule(value, all_day=series.start.is_all_day)
    if not scan.occurs(rule, series.dtstart, Budget()):
        raise Problem(
            f"the rule never produces an occurrence (none in the {SEARCH_YEARS} years after "
            "the event start)"
        )
    return RuleLine(name, rule)


def _quote(line: str) -> str:
    return repr(line if len(line) <= 120 else line[:100] + "…")
