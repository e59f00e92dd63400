"""Free/busy: which events block time, and busy intervals merged and clipped to a window.

Pure functions over intervals; times are epoch microseconds (UTC), spans half-open
``[start, end)``. Nothing here knows HTTP, SQL or a provider.

Rules (docs/availability.md)
    - cancelled events, transparent events and invitations the account declined are free;
    - an invitation the account answered "maybe" is tentative, everything else busy;
    - an all-day event is busy from midnight to midnight in the calendar's zone;
    - merged intervals never overlap: where busy and tentative meet, busy wins.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from calgate.domain import recurrence, zones
from calgate.domain.model import Event, EventFields
from calgate.domain.times import EventTime

Status = Literal["busy", "tentative"]
Span = tuple[int, int]

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_US = dt.timedelta(microseconds=1)
# An all-day date is stored as floating midnight UTC; in a calendar's zone its midnight lies
# within this of it (zones run from UTC-12 to UTC+14).
ALL_DAY_SLACK = dt.timedelta(hours=15)


def to_us(instant: dt.datetime) -> int:
    """An aware datetime as epoch microseconds."""
    return (instant - _EPOCH) // _US


def from_us(us: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(microseconds=us)


@dataclass(frozen=True, slots=True)
class Busy:
    start: int
    end: int
    status: Status = "busy"


def status_of(fields: EventFields, is_cancelled: bool, emails: Iterable[str] = ()) -> Status | None:
    """How an event blocks the time of the account whose addresses are ``emails``:
    ``None`` when it does not (cancelled, transparent, declined by the account)."""
    if is_cancelled or fields.transparency == "transparent":
        return None
    mine = {e.lower() for e in emails if e}
    if mine:
        for attendee in fields.attendees:
            if attendee.email.lower() in mine:
                if attendee.response_status == "no":
                    return None
                if attendee.response_status == "maybe":
                    return "tentative"
    return "busy"


def instant_of(time: EventTime, calendar_zone: str) -> int:
    """A timed bound's instant; an all-day date's midnight in the calendar's zone."""
    if time.date is not None:
        midnight = dt.datetime.combine(time.date, dt.time())
        return to_us(midnight.replace(tzinfo=zones.zone(calendar_zone)))
    return to_us(time.utc)


def span_of(start: EventTime, end: EventTime, calendar_zone: str) -> Span:
    return instant_of(start, calendar_zone), instant_of(end, calendar_zone)


def union(spans: Iterable[Span]) -> list[Span]:
    """Sorted, non-overlapping spans covering the same time (touching spans are joined)."""
    out: list[Span] = []
    for start, end in sorted(s for s in spans if s[0] < s[1]):
        if out and start <= out[-1][1]:
            if end > out[-1][1]:
                out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def subtract(spans: Sequence[Span], holes: Sequence[Span]) -> list[Span]:
    """``spans`` minus ``holes``; both sorted and non-overlapping."""
    out: list[Span] = []
    i = 0
    for start, end in spans:
        while i < len(holes) and holes[i][1] <= start:
            i += 1
        j = i
        cursor = start
        while j < len(holes) and holes[j][0] < end:
            if holes[j][0] > cursor:
                out.append((cursor, holes[j][0]))
            cursor = max(cursor, holes[j][1])
            j += 1
        if cursor < end:
            out.append((cursor, end))
    return out


def merge(intervals: Iterable[Busy], start: int, end: int) -> list[Busy]:
    """Clip to ``[start, end)``, sort and merge; busy wins over tentative where they meet."""
    busy: list[Span] = []
    tentative: list[Span] = []
    for i in intervals:
        s, e = max(i.start, start), min(i.end, end)
        if s < e:
            (busy if i.status == "busy" else tentative).append((s, e))
    return merged_spans(busy, tentative)


Occurrence = tuple[int, int, str]
"""An occurrence of a series: start, end (epoch microseconds) and its recurrence token."""


def series_occurrences(
    master: Event,
    start: dt.datetime,
    end: dt.datetime,
    calendar_zone: str,
    budget: recurrence.Budget | None = None,
) -> list[Occurrence]:
    """The occurrences of ``master`` that overlap ``[start, end)`` (all-day ones: within a
    day of it), by the recurrence engine."""
    f = master.fields
    slack = ALL_DAY_SLACK if f.start.is_all_day else dt.timedelta(0)
    first, last = span_of(f.start, f.end, calendar_zone)
    found: list[Occurrence] = []
    for occurrence in recurrence.occurrences(
        f.start, f.end, f.recurrence, start - slack, end + slack, budget=budget
    ):
        s = instant_of(occurrence, calendar_zone)
        if f.start.is_all_day:
            e = instant_of(recurrence.occurrence_end(f.start, f.end, occurrence), calendar_zone)
        else:
            e = s + (last - first)
        found.append((s, e, occurrence.token))
    return found


Expander = Callable[
    [Event, dt.datetime, dt.datetime, str, recurrence.Budget | None], list[Occurrence]
]


def calendar_busy(
    singles: Iterable[Event],
    series: Iterable[Event],
    exceptions: Mapping[str, Mapping[str, Event]],
    start: dt.datetime,
    end: dt.datetime,
    calendar_zone: str,
    emails: Sequence[str] = (),
    budget: recurrence.Budget | None = None,
    expand: Expander = series_occurrences,
) -> list[Busy]:
    """The busy time of one calendar in ``[start, end)``, merged: its single events and stored
    modified occurrences (``singles``), and the occurrences of each series in ``series`` (by
    ``expand``) that no stored exception in ``exceptions[series id][token]`` replaces."""
    lo, hi = to_us(start), to_us(end)
    # Spans by status, clipped as they are found (a series' remembered occurrences cover whole
    # 30-day buckets, often twice the window): no object per occurrence on this hot path.
    spans: dict[Status, list[Span]] = {"busy": [], "tentative": []}
    for event in singles:
        status = status_of(event.fields, event.is_cancelled, emails)
        if status is not None:
            s, e = span_of(event.fields.start, event.fields.end, calendar_zone)
            if s < hi and e > lo:
                spans[status].append((max(s, lo), min(e, hi)))
    for master in series:
        status = status_of(master.fields, master.is_cancelled, emails)
        if status is None:
            continue
        replaced = exceptions.get(master.id)
        found = spans[status]
        occurrences = expand(master, start, end, calendar_zone, budget)
        if replaced:
            found += [
                (max(s, lo), min(e, hi))
                for s, e, token in occurrences
                if s < hi and e > lo and token not in replaced
            ]
        else:
            found += [(max(s, lo), min(e, hi)) for s, e, _ in occurrences if s < hi and e > lo]
    return merged_spans(spans["busy"], spans["tentative"])


def merged_spans(busy: Iterable[Span], tentative: Iterable[Span]) -> list[Busy]:
    """Busy and tentative spans (already clipped) sorted and merged; busy wins where they
    meet."""
    hard = union(busy)
    soft = subtract(union(tentative), hard)
    merged = [Busy(s, e, "busy") for s, e in hard] + [Busy(s, e, "tentative") for s, e in soft]
    merged.sort(key=lambda b: b.start)
    return merged
