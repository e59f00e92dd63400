"""Availability across 10 calendars: calgate's route against the obvious way, same run.

10 participants, each a LOCAL account whose calendar holds 2,000 events of which 200 are series
(weekly, daily, monthly and biweekly rules, some with EXDATEs, 20 with a moved occurrence),
spread over six months in five zones. The question: 30-minute slots, every 30 minutes, in a
30-day window, where all 10 are free.

- calgate: ``POST /api/v1/calendars/availability`` through the real app (httpx on the ASGI app,
  in process: JSON in, store reads, expansion, merging, slots, JSON out).
- reference: the same calendars exported as .ics by calgate, parsed once (not timed), then for
  each question expanded with ``recurring-ical-events`` (``between``), opaque events kept as
  busy intervals, and each slot checked against each participant's intervals in Python.

Both answers are compared slot by slot for every question. Figures: median (p50) and p99 of
``--runs`` questions (each a different 30-day window, the first one left out as warm-up), and
the ratio of the medians. calgate keeps the occurrences of series per 30-day bucket between
questions (calgate.freebusy.occurrences); ``--cold`` forgets them before each question.

    python bench/availability_bench.py                 # SQLite in a temporary directory
    python bench/availability_bench.py --runs 20       # quicker
    python bench/availability_bench.py --cold          # no occurrences kept between questions
    python bench/availability_bench.py --database-url postgresql+asyncpg://postgres@127.0.0.1/bench
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import platform
import random
import statistics
import sys
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any, Literal

import httpx
import icalendar
import recurring_ical_events
from sqlalchemy.engine import Connection

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from calgate.api.app import create_app
from calgate.bootstrap import bootstrap
from calgate.domain.model import Event, EventFields
from calgate.domain.times import EventTime
from calgate.freebusy.local import LocalSource
from calgate.freebusy.occurrences import OccurrenceCache
from calgate.providers.local import bounds_of
from calgate.runtime import Runtime
from calgate.services.ics import IcsService
from calgate.settings import Settings
from calgate.store import accounts as account_store
from calgate.store import events as event_store
from calgate.store.ids import new_id

UTC = dt.UTC
ZONES = ("Europe/Paris", "America/New_York", "Asia/Kolkata", "Australia/Sydney", "UTC")
RULES = (
    "RRULE:FREQ=WEEKLY;BYDAY=MO,WE",
    "RRULE:FREQ=DAILY;COUNT=10",
    "RRULE:FREQ=MONTHLY;BYMONTHDAY=15",
    "RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH",
    "RRULE:FREQ=WEEKLY;BYDAY=FR;COUNT=40",
)
PEOPLE, EVENTS, SERIES, MOVED = 10, 2000, 200, 20
ROUTE = "/api/v1/calendars/availability"
FIRST = dt.datetime(2026, 1, 5)
SPAN_DAYS = 365


def make_events(calendar_id: str, tz: str, rng: random.Random) -> list[Event]:
    now = dt.datetime(2026, 1, 1, tzinfo=UTC)
    events: list[Event] = []
    for n in range(EVENTS):
        wall = FIRST + dt.timedelta(days=rng.randrange(SPAN_DAYS if n >= SERIES else 120))
        wall = wall.replace(hour=7 + rng.randrange(12), minute=rng.choice((0, 15, 30, 45)))
        minutes = rng.choice((30, 45, 60, 90))
        start = EventTime(wall=wall, tz=tz)
        end = EventTime(wall=wall + dt.timedelta(minutes=minutes), tz=tz)
        lines: tuple[str, ...] = ()
        if n < SERIES:
            lines = (RULES[n % len(RULES)],)
            if n % 7 == 0:  # two occurrences removed (a weekly rule hits these, others not)
                skipped = [wall + dt.timedelta(days=7 * k) for k in (3, 4)]
                values = ",".join(w.strftime("%Y%m%dT%H%M%S") for w in skipped)
                lines += (f"EXDATE;TZID={tz}:{values}",)
        transparency: Literal["opaque", "transparent"] = "transparent" if n % 23 == 0 else "opaque"
        fields = EventFields(
            title=f"Event {n}", start=start, end=end, recurrence=lines, transparency=transparency
        )
        event_id = new_id()
        events.append(Event(event_id, calendar_id, f"{event_id}@bench", fields, now, now))
    # Moved occurrences: the 2nd occurrence of some weekly series, two hours later.
    for master in [e for e in events[:SERIES] if "WEEKLY;BYDAY=MO,WE" in e.fields.recurrence[0]]:
        if sum(1 for e in events if e.master_event_id) >= MOVED:
            break
        f = master.fields
        assert f.start.wall is not None
        original = _nth_weekly(f.start.wall, 1)
        recurrence_id = EventTime(wall=original, tz=tz)
        moved = EventTime(wall=original + dt.timedelta(hours=2), tz=tz)
        length = f.end.utc - f.start.utc
        moved_end = EventTime(wall=original + dt.timedelta(hours=2) + length, tz=tz)
        exception = dataclasses.replace(
            master,
            id=f"{master.id}_{recurrence_id.token}",
            fields=dataclasses.replace(f, start=moved, end=moved_end, recurrence=()),
            master_event_id=master.id,
            recurrence_id=recurrence_id,
        )
        events.append(exception)
    return events


def _nth_weekly(start: dt.datetime, n: int) -> dt.datetime:
    """The n-th (from 0) occurrence of a MO,WE rule starting at ``start``."""
    found: list[dt.datetime] = []
    day = start
    while len(found) <= n:
        if day == start or day.weekday() in (0, 2):
            found.append(day)
        day += dt.timedelta(days=1)
    return found[n]


async def fill(runtime: Runtime, tenant: str) -> tuple[list[str], list[str]]:
    accounts, calendars = [], []
    rng = random.Random(15)
    for p in range(PEOPLE):
        tz = ZONES[p % len(ZONES)]

        def setup(conn: Connection, p: int = p, tz: str = tz) -> tuple[str, str]:
            account = account_store.create_account(conn, tenant, "LOCAL", f"person {p}")
            calendar = account_store.create_calendar(
                conn, account.id, "work", timezone=tz, is_default=True
            )
            return account.id, calendar.id

        account_id, calendar_id = await runtime.db.write(setup)
        rows = [(e, bounds_of(e.fields)) for e in make_events(calendar_id, tz, rng)]
        await runtime.db.write(partial(event_store.insert_events, rows=rows))
        accounts.append(account_id)
        calendars.append(calendar_id)
    return accounts, calendars


# the reference ----------------------------------------------------------------------------------


def reference(
    calendars: list[icalendar.Calendar], zones: list[str], start: dt.datetime, end: dt.datetime
) -> list[str]:
    """Slot starts (ISO, UTC) where everyone is free: expand, keep opaque events, check."""
    busy: list[list[tuple[dt.datetime, dt.datetime]]] = []
    for calendar, tz in zip(calendars, zones, strict=True):
        intervals = []
        for vevent in recurring_ical_events.of(calendar).between(start, end):
            if str(vevent.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT":
                continue
            if str(vevent.get("STATUS", "")).upper() == "CANCELLED":
                continue
            s, e = vevent["DTSTART"].dt, vevent["DTEND"].dt
            if not isinstance(s, dt.datetime):  # all-day: midnight to midnight in the zone
                zone = icalendar.timezone.tzp.timezone(tz)
                s = dt.datetime.combine(s, dt.time(), zone)
                e = dt.datetime.combine(e, dt.time(), zone)
            intervals.append((s, e))
        busy.append(intervals)
    found = []
    slot = start
    step = dt.timedelta(minutes=30)
    while slot + step <= end:
        if all(not any(s < slot + step and e > slot for s, e in mine) for mine in busy):
            found.append(slot.strftime("%Y-%m-%dT%H:%M:%S.000Z"))
        slot += step
    return found


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


async def run(url: str | None, runs: int, cold: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), database_url=url, sqlite_synchronous="NORMAL")
        runtime = Runtime.build(settings)
        await runtime.start()
        try:
            first = await bootstrap(runtime)
            assert first is not None
            begin = time.perf_counter()
            accounts, calendar_ids = await fill(runtime, first.tenant_id)
            backend = "PostgreSQL" if url else "SQLite"
            seconds = time.perf_counter() - begin
            print(
                f"filled {PEOPLE} x {EVENTS:,} events ({SERIES} series), {seconds:.1f} s, {backend}"
            )
            ics = IcsService.of(runtime)
            parsed, zones = [], []
            for account_id, calendar_id in zip(accounts, calendar_ids, strict=True):
                calendar, text = await ics.export(first.tenant_id, account_id, calendar_id)
                parsed.append(icalendar.Calendar.from_ical(text))
                zones.append(calendar.timezone)
            app = create_app(settings, runtime)
            transport = httpx.ASGITransport(app=app)
            rng = random.Random(30)
            windows = [
                dt.datetime(2026, 1, 12, tzinfo=UTC) + dt.timedelta(days=rng.randrange(120))
                for _ in range(runs)
            ]
            ours: list[float] = []
            theirs: list[float] = []
            slots = 0
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                for n, start in enumerate(windows):
                    end = start + dt.timedelta(days=30)
                    body: dict[str, Any] = {
                        "start": start.isoformat(),
                        "end": end.isoformat(),
                        "duration_minutes": 30,
                        "interval_minutes": 30,
                        "participants": [{"account_id": a} for a in accounts],
                    }
                    headers = {"X-API-KEY": first.api_key}
                    if cold:  # no occurrence kept from earlier questions
                        source = runtime.freebusy.sources["LOCAL"]
                        assert isinstance(source, LocalSource)
                        source.occurrences = OccurrenceCache()
                    t0 = time.perf_counter()
                    r = await client.post(ROUTE, json=body, headers=headers)
                    t1 = time.perf_counter()
                    expected = reference(parsed, zones, start, end)
                    t2 = time.perf_counter()
                    assert r.status_code == 200, r.text
                    got = [s["start"] for s in r.json()["slots"]]
                    if got != expected:
                        raise SystemExit(f"answers differ for the window from {start}")
                    slots += len(got)
                    if n or runs == 1:  # the first question warms caches up on both sides
                        ours.append((t1 - t0) * 1000)
                        theirs.append((t2 - t1) * 1000)
        finally:
            await runtime.aclose()
    p50, p50_ref = statistics.median(ours), statistics.median(theirs)
    print(f"\n{dt.date.today()} · {platform.python_implementation()} {platform.python_version()} · "
          f"{len(ours)} questions (30-day windows, 48 slots a day{', cold' if cold else ''}), "
          "answers identical, "
          f"{slots / len(windows):.0f} free slots on average")  # fmt: skip
    print("| way | p50 (ms) | p99 (ms) | min / max (ms) |")
    print("|---|---:|---:|---:|")
    for label, samples in (("calgate `POST /availability`", ours),
                           ("recurring-ical-events + Python intersection", theirs)):  # fmt: skip
        print(f"| {label} | {statistics.median(samples):.1f} | {percentile(samples, 0.99):.1f} | "
              f"{min(samples):.1f} / {max(samples):.1f} |")  # fmt: skip
    print(f"\nreference / calgate (medians): {p50_ref / p50:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=50, help="questions (default 50)")
    parser.add_argument("--database-url", help="an empty PostgreSQL database (default: SQLite)")
    parser.add_argument(
        "--cold", action="store_true", help="forget the occurrences of series between questions"
    )
    args = parser.parse_args()
    asyncio.run(run(args.database_url, args.runs, args.cold))


if __name__ == "__main__":
    main()
