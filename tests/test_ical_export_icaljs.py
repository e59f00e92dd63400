"""Exports read the same in Mozilla's ical.js (Thunderbird, Nextcloud, web calendars) and icalendar.

Regression for issue 13, item 19: ical.js reads only the first value of an RDATE property in a
VTIMEZONE observance and skips the DTSTART of an observance that has RDATEs, so events in the
first year of the exported zone came out an hour off across daylight saving changes. Each zone's
export is expanded by ical.js itself (``tests/js/expand.mjs``, installed by scripts/setup-tests),
and every occurrence's UTC instant must be calgate's; icalendar, reading the file's VTIMEZONE,
must give the same instants too.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
from itertools import zip_longest
from pathlib import Path

import icalendar
import pytest

from calgate.domain import zones
from calgate.domain.ical import calendar_to_ics
from calgate.domain.model import Calendar, Event, EventFields
from calgate.domain.recurrence import expand
from calgate.domain.times import EventTime

UTC = dt.UTC
JS = Path(__file__).parent / "js"
YEARS = 4
CREATED = dt.datetime(2025, 1, 1, tzinfo=UTC)

# zone -> first year of the export
ZONES = {
    "Europe/Paris": 2026,
    "America/New_York": 2005,  # the US rules changed in 2007
    "Australia/Sydney": 2026,  # summer time over New Year
    "America/Sao_Paulo": 2016,  # rules changed in 2018; no summer time since 2019
    "Asia/Tehran": 2019,  # changes on Persian calendar dates; none since 2023
    "Asia/Kolkata": 2026,  # no summer time
    "Australia/Lord_Howe": 2026,  # half-hour changes
    "Africa/Casablanca": 2026,  # an hour back for Ramadan, on dates that move every year
}


def _node() -> str:
    node = shutil.which("node")
    if node is None or not (JS / "node_modules" / "ical.js" / "package.json").is_file():
        reason = "node or ical.js (in tests/js) is missing: run scripts/setup-tests"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return node


def _event(uid: str, zone: str, start: dt.datetime, minutes: int, *lines: str) -> Event:
    fields = EventFields(
        title=uid,
        start=EventTime(wall=start, tz=zone),
        end=EventTime(wall=start + dt.timedelta(minutes=minutes), tz=zone),
        recurrence=lines,
    )
    return Event(uid, "cal", uid, fields, CREATED, CREATED)


def _changes(zone: str, first: int) -> list[dt.datetime]:
    """The UTC hours that end with a change of offset (found hour by hour)."""
    tz = zones.zone(zone)
    hour = dt.datetime(first, 1, 1, tzinfo=UTC)
    found: list[dt.datetime] = []
    while hour.year < first + YEARS:
        if (
            hour.astimezone(tz).utcoffset()
            != (hour + dt.timedelta(hours=1)).astimezone(tz).utcoffset()
        ):
            found.append(hour)
        hour += dt.timedelta(hours=1)
    return found


def _events(zone: str, first: int) -> list[Event]:
    """Daily and weekly series over the years, and a short event on each side of every change."""
    last = f"{first + YEARS - 1}1231T235959Z"
    new_year = dt.datetime(first, 1, 1, 4)
    sunday = new_year + dt.timedelta(days=6 - new_year.weekday())  # ical.js needs DTSTART in it
    events = [
        _event("daily", zone, dt.datetime(first, 1, 1, 12), 60, f"RRULE:FREQ=DAILY;UNTIL={last}"),
        _event("sundays", zone, sunday, 30, "RRULE:FREQ=WEEKLY;BYDAY=SU"),
    ]
    tz = zones.zone(zone)
    for hour in _changes(zone, first):
        # 90 minutes from the change, so the wall time is neither skipped nor repeated
        for name, instant in (
            ("before", hour - dt.timedelta(minutes=90)),
            ("after", hour + dt.timedelta(minutes=150)),
        ):
            wall = instant.astimezone(tz).replace(tzinfo=None)
            events.append(_event(f"{name}-{instant:%Y%m%dT%H%M}", zone, wall, 20))
    return events


def _text(instant: dt.datetime) -> str:
    return f"{instant.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"


def _mismatches(
    events: list[Event], lo: dt.datetime, hi: dt.datetime
) -> tuple[int, list[tuple[str, str, str]], list[tuple[str, str, str]]]:
    """How many occurrences calgate finds in ``[lo, hi)``, and those ical.js or icalendar misread.

    Both read the export; icalendar with the file's VTIMEZONE (not the IANA zone of the TZID).
    """
    data = calendar_to_ics(Calendar("cal", "acc", "Zones"), events)
    answer = subprocess.run(
        [_node(), str(JS / "expand.mjs"), _text(lo), _text(hi)],
        input=data,
        capture_output=True,
        check=True,
        timeout=60,
    )
    icaljs: dict[str, list[list[str]]] = json.loads(answer.stdout)
    [vtimezone] = icalendar.Calendar.from_ical(data).timezones
    read = vtimezone.to_tz(lookup_tzid=False)
    count = 0
    in_icaljs: list[tuple[str, str, str]] = []
    in_icalendar: list[tuple[str, str, str]] = []
    for event in events:
        fields = event.fields
        starts = expand(fields.start, fields.end, fields.recurrence, lo, hi, limit=5000)
        ours = [f"{_text(start.utc)}/{_text(start.utc + fields.duration)}" for start in starts]
        theirs = ["/".join(span) for span in icaljs[event.ical_uid]]
        count += len(ours)
        in_icaljs += [
            (event.ical_uid, a, b) for a, b in zip_longest(ours, theirs, fillvalue="") if a != b
        ]
        for start in starts:
            assert start.wall is not None
            if start.wall.replace(tzinfo=read).astimezone(UTC) != start.utc:
                in_icalendar.append((event.ical_uid, f"{start.wall}", _text(start.utc)))
    return count, in_icaljs, in_icalendar


@pytest.mark.parametrize("zone", list(ZONES))
def test_icaljs_and_icalendar_read_the_export_as_calgate_expands_it(zone: str) -> None:
    first = ZONES[zone]
    lo, hi = dt.datetime(first, 1, 1, tzinfo=UTC), dt.datetime(first + YEARS, 1, 1, tzinfo=UTC)
    count, in_icaljs, in_icalendar = _mismatches(_events(zone, first), lo, hi)
    assert count > 365 * YEARS
    assert (len(in_icaljs), in_icaljs[:3]) == (0, [])
    assert (len(in_icalendar), in_icalendar[:3]) == (0, [])


@pytest.mark.parametrize(
    "zone", ["Europe/Paris", "America/New_York", "Australia/Sydney", "Asia/Jerusalem"]
)
def test_a_yearly_rule_holds_past_the_covered_years(zone: str) -> None:
    """An endless series covers ten years; readers keep the zone's rule after them."""
    sundays = _event("sundays", zone, dt.datetime(2026, 1, 4, 12), 60, "RRULE:FREQ=WEEKLY")
    lo, hi = dt.datetime(2045, 1, 1, tzinfo=UTC), dt.datetime(2049, 1, 1, tzinfo=UTC)
    count, in_icaljs, _ = _mismatches([sundays], lo, hi)
    assert count == 209
    assert (len(in_icaljs), in_icaljs[:3]) == (0, [])


@pytest.mark.parametrize("zone", list(ZONES))
def test_observances_every_reader_takes_whole(zone: str) -> None:
    """One value per RDATE property, and an observance with RDATEs lists its DTSTART as one."""
    first = ZONES[zone]
    data = calendar_to_ics(Calendar("cal", "acc", "Zones"), _events(zone, first))
    [vtimezone] = icalendar.Calendar.from_ical(data).timezones
    for part in [*vtimezone.standard, *vtimezone.daylight]:
        rdates = part.get("RDATE", [])
        rdates = rdates if isinstance(rdates, list) else [rdates]
        values = [item.dt for rdate in rdates for item in rdate.dts]
        assert len(values) == len(rdates)
        assert not values or part.decoded("DTSTART") in values
        assert not (values and "RRULE" in part)


def test_values_from_year_1000_to_9999() -> None:
    """tzdata's changes up to 2111, then its yearly rules: exact in every year, and short."""
    zone = "America/New_York"
    years = (1950, 2026, 2150, 9999)
    walls = [dt.datetime(year, month, 1, 12) for year in years for month in (1, 7)]
    events = [_event(f"{wall:%Y%m%d}", zone, wall, 60) for wall in walls]
    # out of the window: local mean time has seconds, and ical.js reads years before 100 as 19xx
    events.append(_event("year-1000", zone, dt.datetime(1000, 6, 1, 12), 60))
    lo, hi = dt.datetime(1900, 1, 1, tzinfo=UTC), dt.datetime(9999, 12, 31, tzinfo=UTC)
    count, in_icaljs, in_icalendar = _mismatches(events, lo, hi)
    assert (count, in_icaljs, in_icalendar) == (8, [], [])
    data = calendar_to_ics(Calendar("cal", "acc", "Zones"), events)
    [vtimezone] = icalendar.Calendar.from_ical(data).timezones
    assert len(vtimezone.subcomponents) < 20
