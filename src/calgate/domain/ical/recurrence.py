"""calgate's recurrence lines (``RRULE:…``, ``EXDATE;TZID=…:…``) as typed iCalendar properties.

Writing parses each line with ``icalendar``'s own content-line parser and value types, so a line
is never pasted into the output. Reading renders the typed property back to one line, with zone
names made IANA (Windows or custom VTIMEZONE zones: see :mod:`.instants`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from icalendar import Event as VEvent
from icalendar import vDDDLists
from icalendar.parser import Contentline, Parameters

from calgate.domain import zones
from calgate.domain.ical.instants import aware, read_time
from calgate.domain.ical.tables import RECURRENCE_PROPERTIES
from calgate.domain.ical.text import has_control
from calgate.errors import InvalidParameters

_TYPES = VEvent.types_factory


def to_property(line: str, where: str) -> tuple[str, Any]:
    """The property name and typed value of one recurrence line."""
    if has_control(line):
        raise InvalidParameters(f"{where}: {line!r}: a recurrence line holds one line of text")
    try:
        # icalendar leaves this constructor unannotated.
        name, params, value = Contentline(line).parts()  # type: ignore[no-untyped-call]
    except ValueError as error:
        raise InvalidParameters(f"{where}: {line!r}: {error}") from None
    name = name.upper()
    if name not in RECURRENCE_PROPERTIES:
        raise InvalidParameters(
            f"{where}: {line!r}: expected an RRULE, EXRULE, RDATE or EXDATE line"
        )
    tzid = params.get("TZID")
    if tzid:
        params["TZID"] = zones.resolve(tzid, f"{where}: TZID")
    factory: Any = _TYPES.for_property(name, params.get("VALUE"))
    try:
        parsed = factory.from_ical(value, params["TZID"]) if tzid else factory.from_ical(value)
    except (ValueError, TypeError) as error:
        raise InvalidParameters(f"{where}: {line!r}: {error}") from None
    prop = factory(parsed)
    prop.params = params
    return name, prop


def _read_value(value: Any, tzid: str | None, floating_tz: str, where: str) -> Any:
    if isinstance(value, tuple):  # a PERIOD: start and end or duration
        return tuple(_read_value(part, tzid, floating_tz, where) for part in value)
    if isinstance(value, dt.timedelta):
        return value
    return aware(read_time(value, tzid, floating_tz, where))


def to_line(name: str, prop: Any, floating_tz: str, where: str) -> str:
    """One recurrence line for a typed property read from a file."""
    if name in ("RRULE", "EXRULE"):
        return str(Contentline.from_parts(name, Parameters(), prop))
    tzid = prop.params.get("TZID")
    values = [_read_value(item.dt, tzid, floating_tz, where) for item in prop.dts]
    typed = vDDDLists(values)
    params = Parameters(typed.params)
    if values and all(isinstance(value, tuple) for value in values):
        params["VALUE"] = "PERIOD"
    elif values and not any(isinstance(value, dt.datetime) for value in values):
        params["VALUE"] = "DATE"
    return str(Contentline.from_parts(name, params, typed))


def canonical(lines: Iterable[str]) -> tuple[str, ...]:
    """``lines`` as :func:`calgate.domain.ical.parse_ics` gives them back after an export.

    RRULE lines first, then EXRULE, RDATE and EXDATE (the order of the lines of one kind kept),
    each in ``icalendar``'s canonical form (``FREQ`` first, TZIDs as IANA names).
    """
    props = [to_property(line, f"recurrence[{index}]") for index, line in enumerate(lines)]
    return tuple(
        to_line(name, prop, "UTC", name)
        for kind in RECURRENCE_PROPERTIES
        for name, prop in props
        if name == kind
    )
