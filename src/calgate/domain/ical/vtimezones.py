"""One VTIMEZONE for each TZID a calendar uses, built from the ``tzdata`` zone.

Each VTIMEZONE lists the zone's real transitions (``icalendar.Timezone.from_tzinfo``) from
1 January of the first year a value in that zone falls in to 1 January after the last. A series
without an end (an RRULE with COUNT or with neither COUNT nor UNTIL) counts as lasting
:data:`OPEN_SERIES_YEARS` years after its last dated value. Past the covered years the last
observance holds; readers that know the IANA name (nearly all do) use their own rules anyway.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, Final

from icalendar import Event as VEvent
from icalendar import Timezone, vDDDLists, vDDDTypes, vRecur

from calgate.domain import zones

OPEN_SERIES_YEARS: Final = 10


def _years(value: Any) -> list[int]:
    if isinstance(value, vDDDLists):
        return [year for item in value.dts for year in _years(item)]
    if isinstance(value, vDDDTypes):
        inner = value.dt
        if isinstance(inner, tuple):  # a PERIOD
            inner = inner[0]
        return [inner.year] if isinstance(inner, dt.date) else []
    return []


def _span(vevent: VEvent) -> tuple[set[str], int, int] | None:
    """The TZIDs one VEVENT uses and the years its zoned values cover."""
    tzids: set[str] = set()
    years: list[int] = []
    open_ended = False
    for _name, value in vevent.property_items(recursive=False, sorted=False):
        if isinstance(value, vRecur):
            until = value.get("UNTIL")
            if until:
                years.extend(item.year for item in until)
            else:
                open_ended = True
            continue
        params = getattr(value, "params", None)
        tzid = params.get("TZID") if params is not None else None
        if tzid:
            tzids.add(str(tzid))
            years.extend(_years(value))
    if not tzids or not years:
        return None
    last = max(years) + (OPEN_SERIES_YEARS if open_ended else 0)
    return tzids, min(years), last


def vtimezones(vevents: Iterable[VEvent]) -> list[Timezone]:
    """The VTIMEZONE components for ``vevents``, in TZID order."""
    spans: dict[str, tuple[int, int]] = {}
    for vevent in vevents:
        span = _span(vevent)
        if span is None:
            continue
        tzids, first, last = span
        for tzid in tzids:
            low, high = spans.get(tzid, (first, last))
            spans[tzid] = (min(low, first), max(high, last))
    return [
        Timezone.from_tzinfo(
            zones.zone(tzid),
            tzid=tzid,
            first_date=dt.date(first, 1, 1),
            last_date=dt.date(min(last + 1, dt.MAXYEAR), 1, 1),
        )
        for tzid, (first, last) in sorted(spans.items())
    ]
