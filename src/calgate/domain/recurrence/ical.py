"""icalendar's readers and writers for recurrence values, with the types calgate relies on.

icalendar leaves some of these functions unannotated; this module is the one place that states
what they return, so the rest of the package is checked strictly.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol, cast

from icalendar.parser import Contentline, Parameters
from icalendar.prop import vDate, vDatetime, vDDDTypes, vFrequency, vPeriod, vWeekday

Period = tuple[dt.datetime, dt.datetime | dt.timedelta]


class Value(Protocol):
    def to_ical(self) -> bytes | str: ...


def read_line(text: str) -> tuple[str, Parameters, str]:
    """Name, parameters and raw value of a content line; ValueError if it is not one."""
    line = Contentline(text)  # type: ignore[no-untyped-call]  # icalendar: unannotated
    return line.raw_parts()


def write_line(name: str, params: dict[str, str], value: Value) -> str:
    return str(Contentline.from_parts(name, Parameters(params), value))


def read_date(text: str) -> dt.date:
    return cast(dt.date, vDate.from_ical(text))  # type: ignore[no-untyped-call]  # unannotated


def read_datetime(text: str) -> dt.datetime:
    """A naive date-time, or an aware one in UTC when it ends in Z."""
    return cast(dt.datetime, vDatetime.from_ical(text))  # type: ignore[no-untyped-call]  # idem


def read_period(text: str) -> Period:
    return cast(Period, vPeriod.from_ical(text))  # type: ignore[no-untyped-call]  # idem


def read_date_or_time(text: str) -> object:
    """A date, date-time, duration, period or time, whichever ``text`` is."""
    return cast(object, vDDDTypes.from_ical(text))  # type: ignore[no-untyped-call]  # idem


def read_frequency(text: str) -> str:
    return str(vFrequency.from_ical(text)).upper()  # type: ignore[no-untyped-call]  # idem


def read_weekday(text: str) -> tuple[str, int]:
    """The weekday (MO..SU) and ordinal (0: none) of a BYDAY or WKST value."""
    value = vWeekday.from_ical(text)  # type: ignore[no-untyped-call]  # idem
    return str(value.weekday).upper(), int(value.relative or 0)


def write_date(value: dt.date) -> str:
    return bytes(vDate(value).to_ical()).decode()  # type: ignore[no-untyped-call]  # idem


def write_datetime(value: dt.datetime) -> str:
    return bytes(vDatetime(value).to_ical()).decode()  # type: ignore[no-untyped-call]  # idem
