"""Naming one occurrence: the recurrence-id token of an occurrence id, and EXDATEs."""

from __future__ import annotations

import re
from collections.abc import Sequence

from calgate.domain.recurrence import ical
from calgate.domain.recurrence.dates import DateList, date_value
from calgate.domain.recurrence.limits import MAX_LINE_LENGTH
from calgate.domain.recurrence.series import Line, parse, validate
from calgate.domain.times import EventTime
from calgate.errors import InvalidParameters

_DATE = re.compile(r"[0-9]{8}")
_UTC = re.compile(r"[0-9]{8}T[0-9]{6}Z")


def occurrence_token(t: EventTime) -> str:
    """The recurrence-id part of an occurrence id (``{master_id}_{token}``, as Google does it).

    ``20260120T133000Z`` (the start in UTC, to the second) for a timed occurrence, ``20260120``
    for an all-day one.
    """
    if t.date is not None:
        return ical.write_date(t.date)
    return ical.write_datetime(t.utc.replace(microsecond=0))


def parse_occurrence_token(token: str, start: EventTime) -> EventTime:
    """The occurrence start a token names, in the series start's zone.

    Raises :class:`~calgate.errors.InvalidParameters` when the token is not of the series' kind;
    whether the time is an occurrence at all is :func:`~.is_occurrence`'s question.
    """
    if start.is_all_day:
        if _DATE.fullmatch(token):
            try:
                return EventTime(date=ical.read_date(token))
            except ValueError:
                pass
        raise InvalidParameters(
            f"occurrence id: {token!r} is not a date like 20260120 (the series is all-day)"
        )
    if _UTC.fullmatch(token):
        try:
            instant = ical.read_datetime(token)
        except ValueError:
            pass
        else:
            try:
                return EventTime.at(instant, start.tz)
            except OverflowError:  # a wall time after the year 9999 in the series' zone
                pass
    raise InvalidParameters(
        f"occurrence id: {token!r} is not a UTC date-time like 20260120T133000Z "
        "(the series has timed occurrences)"
    )


def add_exdate(lines: Sequence[str], start: EventTime, occurrence: EventTime) -> tuple[str, ...]:
    """The lines with an EXDATE that removes ``occurrence``, normalized and checked.

    The EXDATE is ``VALUE=DATE`` for an all-day series, UTC (``Z``) for a series in UTC or for
    the second of two equal wall times (a ``TZID`` wall time names the first), and a ``TZID``
    wall time otherwise. It joins the last EXDATE line of the same form while that line
    stays within the length limit. Removing an occurrence twice changes nothing.
    """
    series = parse(lines, start)
    if occurrence.is_all_day != start.is_all_day:
        kind = "an all-day date" if start.is_all_day else "a date-time"
        raise InvalidParameters(f"occurrence: expected {kind}, like the series start")
    instant = occurrence.utc.replace(microsecond=0)
    if instant in series.exdates:
        return series.lines
    value, params = date_value(occurrence, start)
    added = DateList("EXDATE", tuple(sorted(params.items())), (value,), (instant,))
    items: list[Line] = list(series.items)
    for index in reversed(range(len(items))):
        item = items[index]
        if isinstance(item, DateList) and item.name == "EXDATE" and item.params == added.params:
            merged = item.with_value(value, instant)
            if len(merged.to_ical()) <= MAX_LINE_LENGTH:
                items[index] = merged
                return validate([item.to_ical() for item in items], start)
            break
    items.append(added)
    return validate([item.to_ical() for item in items], start)
