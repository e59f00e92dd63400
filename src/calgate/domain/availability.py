"""Availability: working hours in their own zone, and the slots where enough people are free.

Pure functions; instants are epoch microseconds (UTC), spans half-open ``[start, end)``.

Working hours are wall-clock times in their own zone. A moment is working time when its wall
clock, in that zone, falls inside one of that weekday's spans. So a 09:00-17:00 day stays
09:00-17:00 local on the day the clocks change; a span the clocks skip that day (02:00-03:00 on
a spring-forward night in Paris) has no moment and is skipped; a span inside an hour that
happens twice covers both passes.

A participant is free for a slot ``[s, s + duration)`` when the slot lies inside one working
span (when working hours are given) and no busy or tentative interval meets
``[s - buffer_before, s + duration + buffer_after)``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from calgate.domain import zones
from calgate.domain.freebusy import Busy, Span, from_us, union

_US = dt.timedelta(microseconds=1)
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTE = 60_000_000
HOUR = 60 * MINUTE
DAY = 24 * HOUR


@dataclass(frozen=True, slots=True)
class WorkingHours:
    """``days[weekday]`` (0 = Monday) holds wall-clock spans in minutes after midnight
    (``end`` may be 1440, the next midnight)."""

    time_zone: str
    days: Mapping[int, tuple[tuple[int, int], ...]]


@dataclass(frozen=True, slots=True)
class Participant:
    key: str
    busy: Sequence[Busy]
    working_hours: WorkingHours | None = None
    optional: bool = False


@dataclass(frozen=True, slots=True)
class Request:
    start: int
    end: int
    duration: int
    interval: int
    participants: Sequence[Participant]
    buffer_before: int = 0
    buffer_after: int = 0
    min_required: int | None = None  # default: every non-optional participant


@dataclass(frozen=True, slots=True)
class Slot:
    start: int
    end: int
    free: tuple[str, ...] = ()


def offset_segments(time_zone: str, start: int, end: int) -> list[tuple[int, int, int]]:
    """``[start, end)`` cut where the zone's UTC offset changes: ``(from, to, offset)``.
    Offsets are probed every hour and each change is found to the microsecond."""
    tz = zones.zone(time_zone)

    def offset(us: int) -> int:
        delta = from_us(us).astimezone(tz).utcoffset() or dt.timedelta()
        return delta // _US

    out: list[tuple[int, int, int]] = []
    seg_start, current = start, offset(start)
    probe = start
    while probe < end:
        step = min(probe + HOUR, end)
        if offset(step - 1) == current:
            probe = step
            continue
        # The first instant of the new offset is in (lo, hi]: probe itself, or found by halving.
        lo, hi = probe, probe if offset(probe) != current else step - 1
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if offset(mid) == current:
                lo = mid
            else:
                hi = mid
        out.append((seg_start, hi, current))
        seg_start, current, probe = hi, offset(hi), hi
    out.append((seg_start, end, current))
    return out


def working_spans(hours: WorkingHours, start: int, end: int) -> list[Span]:
    """The moments of ``[start, end)`` whose wall clock in ``hours.time_zone`` is working time."""
    spans: list[Span] = []
    for seg_start, seg_end, offset in offset_segments(hours.time_zone, start, end):
        wall_start, wall_end = seg_start + offset, seg_end + offset
        day = wall_start - wall_start % DAY  # local midnight, as wall microseconds
        while day < wall_end:
            weekday = from_us(day).weekday()
            for first, last in hours.days.get(weekday, ()):
                lo = max(day + first * MINUTE, wall_start)
                hi = min(day + last * MINUTE, wall_end)
                if lo < hi:
                    spans.append((lo - offset, hi - offset))
            day += DAY
    return union(spans)


def _blocked(busy: Sequence[Busy], buffer_before: int, buffer_after: int) -> list[Span]:
    """Busy time widened so that a slot is free exactly when it does not meet it: a slot
    ``[s, e)`` with its buffers meets ``b`` when ``[b.start - after, b.end + before)`` meets it."""
    return union((b.start - buffer_after, b.end + buffer_before) for b in busy)


def _bits(lo: int, hi: int, count: int) -> int:
    """Slots ``lo`` to ``hi - 1`` (clamped to ``0..count``) as a bit mask."""
    lo, hi = max(lo, 0), min(hi, count)
    return ((1 << (hi - lo)) - 1) << lo if lo < hi else 0


def _free_mask(
    r: Request, count: int, blocked: Sequence[Span], working: Sequence[Span] | None
) -> int:
    """Bit ``i`` set: slot ``i`` (``[s, s + duration)``, ``s = start + i * interval``) is
    clear of ``blocked`` and, when ``working`` is given, inside one working span. Each span
    turns into the range of slot numbers it touches: work follows the spans, not the slots."""
    base, step, length = r.start, r.interval, r.duration
    free = _bits(0, count, count)
    if working is not None:
        # s >= w_start and s + duration <= w_end
        free = 0
        for w_start, w_end in working:
            first = -((base - w_start) // step)  # ceil((w_start - base) / step)
            free |= _bits(first, (w_end - length - base) // step + 1, count)
    for b_start, b_end in blocked:
        # s > b_start - duration and s < b_end
        first = (b_start - length - base) // step + 1
        free &= ~_bits(first, -((base - b_end) // step), count)
    return free


def slot_starts(start: int, end: int, duration: int, interval: int) -> range:
    """Slot starts: ``start``, then every ``interval``, while the slot ends by ``end``."""
    return range(start, end - duration + 1, interval)


def slots(request: Request) -> list[Slot]:
    r = request
    count = len(slot_starts(r.start, r.end, r.duration, r.interval))
    masks: list[tuple[str, bool, int]] = []
    for p in r.participants:
        blocked = _blocked(p.busy, r.buffer_before, r.buffer_after)
        working = None
        if p.working_hours is not None:
            working = working_spans(p.working_hours, r.start, r.end)
        masks.append((p.key, p.optional, _free_mask(r, count, blocked, working)))
    required = [mask for _, optional, mask in masks if not optional]
    need = len(required) if r.min_required is None else r.min_required
    if need >= len(required):  # everyone: the slots free in every mask
        chosen = _bits(0, count, count)
        for mask in required:
            chosen &= mask
    else:
        chosen = 0
        for mask in required:
            chosen |= mask
    found: list[Slot] = []
    while chosen:
        low = chosen & -chosen
        chosen ^= low
        i = low.bit_length() - 1
        if sum((mask >> i) & 1 for mask in required) < need:
            continue
        s = r.start + i * r.interval
        found.append(Slot(s, s + r.duration, tuple(k for k, _, m in masks if (m >> i) & 1)))
    return found


def parse_clock(text: str) -> int | None:
    """``"HH:MM"`` (00:00..24:00) as minutes after midnight, else ``None``."""
    if len(text) != 5 or text[2] != ":" or not (text[:2] + text[3:]).isdigit():
        return None
    hours, minutes = int(text[:2]), int(text[3:])
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        return None
    return hours * 60 + minutes
