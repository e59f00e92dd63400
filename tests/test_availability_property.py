"""Free/busy and availability against a brute-force, minute-by-minute oracle written here.

Random calendars (single, all-day, daily, weekly and all-day weekly series with EXDATEs,
modified or cancelled occurrences, transparent, cancelled, declined and tentative invitations),
random zones for events, calendars and working hours, and windows around daylight saving
changes. The oracle never calls calgate's recurrence engine nor its interval code: occurrences
are wall times plus whole days, placed with zoneinfo; busy and working time are sets of minutes.
"""

from __future__ import annotations

import datetime as dt
import itertools
import zoneinfo
from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calgate.domain import availability as av
from calgate.domain import freebusy as fb
from calgate.domain.model import Attendee, Event, EventFields
from calgate.domain.times import EventTime
from calgate.freebusy.occurrences import OccurrenceCache

UTC = dt.UTC
ZONES = (
    "UTC",
    "Europe/Paris",
    "America/New_York",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "America/Santiago",
    "Pacific/Kiritimati",
)
# Windows start the day before a change in one of the zones above (2026).
CHANGES = (
    dt.datetime(2026, 3, 8, tzinfo=UTC),  # New York, spring
    dt.datetime(2026, 3, 29, tzinfo=UTC),  # Paris, spring
    dt.datetime(2026, 4, 5, tzinfo=UTC),  # Lord Howe and Santiago, autumn
    dt.datetime(2026, 10, 25, tzinfo=UTC),  # Paris, autumn
    dt.datetime(2026, 11, 1, tzinfo=UTC),  # New York, autumn
)
ME = "me@example.org"
STEP = {"daily": 1, "weekly": 7, "all_day_weekly": 7}  # days between occurrences of series
MIN = dt.timedelta(minutes=1)
EXAMPLES = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@dataclass(frozen=True)
class Spec:
    """One event as the oracle sees it."""

    kind: str  # single | all_day | daily | weekly | all_day_weekly
    wall: dt.datetime  # naive wall start (all-day: midnight of its date)
    tz: str
    minutes: int  # duration (all-day: days * 1440)
    count: int
    excluded: frozenset[int]  # occurrence numbers removed by EXDATE
    moved: dict[int, tuple[int, bool]]  # occurrence -> (shift in minutes, cancelled)
    transparent: bool
    cancelled: bool
    answer: str  # the account's response: yes | no | maybe | none


def _aware(wall: dt.datetime, tz: str) -> dt.datetime:
    return wall.replace(tzinfo=zoneinfo.ZoneInfo(tz)).astimezone(UTC)


@st.composite
def specs(draw: st.DrawFn, base: dt.datetime) -> Spec:
    kind = draw(st.sampled_from(("single", "all_day", "daily", "weekly", "all_day_weekly")))
    day = base.date() + dt.timedelta(days=draw(st.integers(-9, 4)))
    if kind.startswith("all_day"):
        wall = dt.datetime.combine(day, dt.time())
        minutes = 1440 * draw(st.integers(1, 3))
    else:
        wall = dt.datetime.combine(
            day, dt.time(draw(st.integers(0, 23)), draw(st.sampled_from((0, 15, 30, 45))))
        )
        minutes = draw(st.integers(1, 16)) * 15
    count = draw(st.integers(2, 12)) if kind in STEP else 1
    excluded = (
        frozenset(draw(st.lists(st.integers(1, count - 1), max_size=2)))
        if count > 1
        else frozenset()
    )
    moved: dict[int, tuple[int, bool]] = {}
    if count > 1 and kind != "all_day_weekly" and draw(st.booleans()):
        n = draw(st.integers(1, count - 1).filter(lambda i: i not in excluded))
        moved[n] = (draw(st.integers(-8, 8)) * 15, draw(st.booleans()))
    return Spec(
        kind,
        wall,
        draw(st.sampled_from(ZONES)),
        minutes,
        count,
        excluded,
        moved,
        draw(st.booleans()) and draw(st.booleans()),
        draw(st.integers(0, 9)) == 0,
        draw(st.sampled_from(("yes", "no", "maybe", "none", "none"))),
    )


# ---- the oracle -------------------------------------------------------------------------------


def oracle_occurrences(
    spec: Spec, calendar_zone: str
) -> list[tuple[dt.datetime, dt.datetime, bool]]:
    """(start, end, blocks?) of every occurrence, exceptions applied."""
    step = STEP.get(spec.kind, 0)
    out = []
    for n in range(spec.count):
        if n in spec.excluded:
            continue
        wall = spec.wall + dt.timedelta(days=step * n)
        if spec.kind.startswith("all_day"):
            start = _aware(wall, calendar_zone)
            end = _aware(wall + dt.timedelta(minutes=spec.minutes), calendar_zone)
            out.append((start, end, True))
            continue
        start = _aware(wall, spec.tz)
        blocks = True
        if n in spec.moved:
            shift, cancelled = spec.moved[n]
            start, blocks = start + dt.timedelta(minutes=shift), not cancelled
        out.append((start, start + dt.timedelta(minutes=spec.minutes), blocks))
    return out


def oracle_minutes(calendar: list[Spec], calendar_zone: str) -> dict[dt.datetime, str]:
    """Busy minute -> "busy" or "tentative"."""
    minutes: dict[dt.datetime, str] = {}
    for spec in calendar:
        if spec.transparent or spec.cancelled or spec.answer == "no":
            continue
        status = "tentative" if spec.answer == "maybe" else "busy"
        for start, end, blocks in oracle_occurrences(spec, calendar_zone):
            t = start
            while blocks and t < end:
                if minutes.get(t) != "busy":
                    minutes[t] = status
                t += MIN
    return minutes


def oracle_working(hours: dict[int, list[tuple[int, int]]], tz: str, t: dt.datetime) -> bool:
    local = t.astimezone(zoneinfo.ZoneInfo(tz))
    minute = local.hour * 60 + local.minute
    return any(a <= minute < b for a, b in hours.get(local.weekday(), ()))


# ---- calgate's side ---------------------------------------------------------------------------

NOW = dt.datetime(2026, 1, 1, tzinfo=UTC)
CACHE = OccurrenceCache(size=200)


def to_events(
    calendar: list[Spec], prefix: str
) -> tuple[list[Event], list[Event], dict[str, dict[str, Event]]]:
    singles: list[Event] = []
    series: list[Event] = []
    exceptions: dict[str, dict[str, Event]] = {}
    for i, spec in enumerate(calendar):
        attendees = () if spec.answer == "none" else (Attendee(ME, response_status=spec.answer),)  # type: ignore[arg-type]
        if spec.kind.startswith("all_day"):
            start = EventTime(date=spec.wall.date())
            end = EventTime(date=spec.wall.date() + dt.timedelta(days=spec.minutes // 1440))
        else:
            start = EventTime(wall=spec.wall, tz=spec.tz)
            end = EventTime.at(start.utc + dt.timedelta(minutes=spec.minutes), spec.tz)
        lines: tuple[str, ...] = ()
        if spec.kind in STEP:
            freq = "DAILY" if spec.kind == "daily" else "WEEKLY"
            lines = (f"RRULE:FREQ={freq};COUNT={spec.count}",)
            if spec.excluded:
                walls = [
                    spec.wall + dt.timedelta(days=STEP[spec.kind] * n)
                    for n in sorted(spec.excluded)
                ]
                if spec.kind == "all_day_weekly":
                    values = ",".join(w.strftime("%Y%m%d") for w in walls)
                    lines += (f"EXDATE;VALUE=DATE:{values}",)
                else:
                    values = ",".join(w.strftime("%Y%m%dT%H%M%S") for w in walls)
                    lines += (f"EXDATE;TZID={spec.tz}:{values}",)
        fields = EventFields(
            title=f"e{i}",
            start=start,
            end=end,
            attendees=attendees,
            transparency="transparent" if spec.transparent else "opaque",
            recurrence=lines,
        )
        event = Event(
            f"{prefix}{i}", "cal", f"{prefix}{i}@x", fields, NOW, NOW, is_cancelled=spec.cancelled
        )
        if not lines:
            singles.append(event)
            continue
        series.append(event)
        step = STEP[spec.kind]
        for n, (shift, cancelled) in spec.moved.items():
            original = EventTime(wall=spec.wall + dt.timedelta(days=step * n), tz=spec.tz)
            moved_start = EventTime.at(original.utc + dt.timedelta(minutes=shift), spec.tz)
            moved_end = EventTime.at(moved_start.utc + dt.timedelta(minutes=spec.minutes), spec.tz)
            exception = Event(
                f"{event.id}_{original.token}",
                "cal",
                event.ical_uid,
                EventFields(
                    title="moved",
                    start=moved_start,
                    end=moved_end,
                    attendees=attendees,
                    transparency=fields.transparency,
                ),
                NOW,
                NOW,
                is_cancelled=cancelled or spec.cancelled,
                master_event_id=event.id,
                recurrence_id=original,
            )
            singles.append(exception)
            exceptions.setdefault(event.id, {})[original.token] = exception
    return singles, series, exceptions


@st.composite
def working_hours(draw: st.DrawFn) -> tuple[str, dict[int, list[tuple[int, int]]]]:
    tz = draw(st.sampled_from(ZONES))
    days: dict[int, list[tuple[int, int]]] = {}
    for weekday in range(7):
        spans = []
        for _ in range(draw(st.integers(0, 2))):
            a = draw(st.integers(0, 47)) * 30
            b = draw(st.integers(a // 30 + 1, 48)) * 30
            spans.append((a, b))
        days[weekday] = spans
    return tz, days


@st.composite
def cases(draw: st.DrawFn) -> dict[str, object]:
    base = draw(st.sampled_from(CHANGES)) + dt.timedelta(minutes=draw(st.integers(-48, 48)) * 30)
    start = base - dt.timedelta(days=1)
    end = start + dt.timedelta(minutes=draw(st.integers(2, 8)) * 6 * 60)
    people = []
    for _ in range(draw(st.integers(1, 3))):
        people.append(
            {
                "calendar": draw(st.lists(specs(base), max_size=6)),
                "zone": draw(st.sampled_from(ZONES)),
                "hours": draw(st.none() | working_hours()),
                "optional": draw(st.booleans()) and draw(st.booleans()),
            }
        )
    return {
        "start": start,
        "end": end,
        "people": people,
        "duration": draw(st.integers(1, 8)) * 15,
        "interval": draw(st.sampled_from((15, 30, 60))),
        "before": draw(st.sampled_from((0, 0, 5, 15))),
        "after": draw(st.sampled_from((0, 0, 10, 30))),
        "least": draw(st.integers(0, 3)),
    }


@EXAMPLES
@given(cases())
def test_free_busy_and_availability_match_the_minute_oracle(case: dict[str, object]) -> None:
    start, end = case["start"], case["end"]
    assert isinstance(start, dt.datetime) and isinstance(end, dt.datetime)
    people = case["people"]
    assert isinstance(people, list)
    duration, interval = int(case["duration"]), int(case["interval"])  # type: ignore[call-overload]
    before, after = int(case["before"]), int(case["after"])  # type: ignore[call-overload]
    lo, hi = start - dt.timedelta(minutes=before), end + dt.timedelta(minutes=after)

    participants = []
    oracle_busy = []
    for k, person in enumerate(people):
        singles, series, exceptions = to_events(person["calendar"], f"p{k}e")
        # Free/busy over the window: exactly the oracle's busy minutes, merged.
        shown = fb.calendar_busy(singles, series, exceptions, start, end, person["zone"], (ME,))
        # The same through the occurrence cache, shared by every example: the same ids come
        # back with other content, so a key missing part of a series' content shows here.
        cached = fb.calendar_busy(
            singles, series, exceptions, start, end, person["zone"], (ME,), None, CACHE
        )
        assert cached == shown
        minutes = oracle_minutes(person["calendar"], person["zone"])
        expected = {t: s for t, s in minutes.items() if start <= t < end}
        got: dict[dt.datetime, str] = {}
        for b in shown:
            t = fb.from_us(b.start)
            while t < fb.from_us(b.end):
                got[t] = b.status
                t += MIN
        assert got == expected
        assert all(a.end < b.start or a.status != b.status for a, b in itertools.pairwise(shown))
        # Availability reads busy time over the window widened by the buffers.
        busy = fb.calendar_busy(singles, series, exceptions, lo, hi, person["zone"], (ME,))
        hours = None
        if person["hours"] is not None:
            tz, days = person["hours"]
            hours = av.WorkingHours(tz, {d: tuple(s) for d, s in days.items()})
        participants.append(av.Participant(f"p{k}", busy, hours, person["optional"]))
        oracle_busy.append(set(minutes))

    required = sum(1 for p in people if not p["optional"])
    least = min(int(case["least"]), required) or None  # type: ignore[call-overload]
    if required == 0:
        least = 0
    request = av.Request(
        fb.to_us(start),
        fb.to_us(end),
        duration * 60_000_000,
        interval * 60_000_000,
        participants,
        before * 60_000_000,
        after * 60_000_000,
        least,
    )
    got_slots = [(fb.from_us(s.start), s.free) for s in av.slots(request)]

    expected_slots = []
    s = start
    need = required if least is None else least
    while s + dt.timedelta(minutes=duration) <= end:
        free = []
        for k, person in enumerate(people):
            t = s - dt.timedelta(minutes=before)
            ok = True
            while ok and t < s + dt.timedelta(minutes=duration + after):
                ok = t not in oracle_busy[k]
                if (
                    ok
                    and person["hours"] is not None
                    and s <= t < s + dt.timedelta(minutes=duration)
                ):
                    ok = oracle_working(person["hours"][1], person["hours"][0], t)
                t += MIN
            if ok:
                free.append(f"p{k}")
        count = sum(1 for k, p in enumerate(people) if f"p{k}" in free and not p["optional"])
        if count >= need:
            expected_slots.append((s, tuple(free)))
        s += dt.timedelta(minutes=interval)
    assert got_slots == expected_slots
