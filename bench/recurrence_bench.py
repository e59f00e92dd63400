"""Recurrence expansion and window queries: how long one query takes.

(a) A daily series over 10 years, expanded inside a one-month window near its end (and an
    endless daily series 10 years after its start): calgate's expansion, with python-dateutil's
    ``rrule.between`` on the same rule as a reference.
(b) A calendar of 100,000 events of which 1,000 are series, in calgate's LOCAL store (filled
    through the store's insert functions, not HTTP), queried through the LOCAL provider with
    one-week windows: ``list_events`` with ``expand_recurring`` off and on (first page, 250).

    python bench/recurrence_bench.py                  # SQLite in a temporary directory
    python bench/recurrence_bench.py --quick          # 20,000 events, fewer queries
    python bench/recurrence_bench.py --database-url postgresql+asyncpg://postgres@127.0.0.1/bench

The PostgreSQL database must exist and be empty (its tables are created by the migrations).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from dateutil import rrule
from sqlalchemy.engine import Connection

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from calgate import offload
from calgate.domain import recurrence
from calgate.domain.model import Event, EventFields, EventQuery
from calgate.domain.times import EventTime
from calgate.domain.zones import zone
from calgate.providers.base import AccountContext
from calgate.providers.local import bounds_of
from calgate.runtime import Runtime
from calgate.settings import Settings
from calgate.store import accounts as account_store
from calgate.store import events as event_store
from calgate.store import keys
from calgate.store.ids import new_id

UTC = dt.UTC
ZONES = ("Europe/Paris", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "UTC")
SERIES_RULES = (
    "RRULE:FREQ=WEEKLY;BYDAY=MO,WE",  # endless
    "RRULE:FREQ=DAILY;COUNT=60",
    "RRULE:FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",  # endless
    "RRULE:FREQ=WEEKLY;INTERVAL=2;COUNT=52",
)


def timed(work: Callable[[], object], runs: int) -> tuple[float, float]:
    """Median and 95th percentile of ``runs`` calls, in milliseconds."""
    samples = []
    for _ in range(runs):
        begin = time.perf_counter()
        work()
        samples.append((time.perf_counter() - begin) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def table(title: str, header: tuple[str, ...], rows: list[tuple[object, ...]]) -> None:
    cells = [header, *[tuple(str(c) for c in row) for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    print(f"\n{title}")
    for n, row in enumerate(cells):
        print(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if n == 0:
            print("  ".join("-" * w for w in widths))


# (a) one series -------------------------------------------------------------------------------


def series_bench(runs: int) -> None:
    start = EventTime(wall=dt.datetime(2020, 1, 6, 9, 0), tz="Europe/Paris")
    end = EventTime(wall=dt.datetime(2020, 1, 6, 9, 30), tz="Europe/Paris")
    first = dt.datetime(2020, 1, 6, 9, 0, tzinfo=zone("Europe/Paris"))
    rows: list[tuple[object, ...]] = []
    cases = (
        ("daily, 10 years (UNTIL)", ["RRULE:FREQ=DAILY;UNTIL=20300105T080000Z"], 2029),
        ("daily, endless", ["RRULE:FREQ=DAILY"], 2029),
        (
            "daily, endless, 3 EXDATEs",
            [
                "RRULE:FREQ=DAILY",
                "EXDATE;TZID=Europe/Paris:20290604T090000,20290611T090000,20290618T090000",
            ],
            2029,
        ),
        ("weekdays, endless", ["RRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"], 2029),
    )
    for label, lines, year in cases:
        recurrence.validate(lines, start)
        lo = dt.datetime(year, 6, 1, tzinfo=UTC)
        hi = dt.datetime(year, 7, 1, tzinfo=UTC)
        found = recurrence.expand(start, end, lines, lo, hi)
        median, p95 = timed(partial(recurrence.expand, start, end, lines, lo, hi), runs)
        rule = rrule.rrulestr(lines[0].removeprefix("RRULE:"), dtstart=first)
        ref_median, _ = timed(partial(rule.between, lo, hi, inc=True), runs)
        rows.append((label, len(found), f"{median:.3f}", f"{p95:.3f}", f"{ref_median:.3f}"))
    table(
        "(a) one series, one-month window (June 2029) of a series starting January 2020",
        ("series", "occurrences", "calgate ms (median)", "p95", "dateutil between ms"),
        rows,
    )


# (b) a large calendar --------------------------------------------------------------------------


def make_events(calendar_id: str, total: int, series: int, rng: random.Random) -> list[Event]:
    now = dt.datetime(2025, 1, 1, tzinfo=UTC)
    first = dt.datetime(2020, 1, 1)
    span_hours = 10 * 365 * 24
    events = []
    for n in range(total):
        tz = ZONES[n % len(ZONES)]
        wall = first + dt.timedelta(hours=rng.randrange(span_hours))
        wall = wall.replace(hour=8 + wall.hour % 10)  # office hours, never in a DST gap
        start = EventTime(wall=wall, tz=tz)
        end = EventTime(wall=wall + dt.timedelta(minutes=30 + 15 * (n % 4)), tz=tz)
        lines = (SERIES_RULES[n % len(SERIES_RULES)],) if n < series else ()
        fields = EventFields(title=f"Event {n}", start=start, end=end, recurrence=lines,
                             location=f"Room {n % 40}")  # fmt: skip
        event_id = new_id()
        events.append(Event(event_id, calendar_id, f"{event_id}@bench", fields, now, now))
    return events


async def fill(runtime: Runtime, total: int, series: int) -> tuple[AccountContext, str, float]:
    def setup(conn: Connection) -> tuple[str, str]:
        tenant = keys.create_tenant(conn, "bench")
        account = account_store.create_account(conn, tenant, "LOCAL", "bench")
        calendar = account_store.create_calendar(conn, account.id, "bench", is_default=True)
        return account.id, calendar.id

    account_id, calendar_id = await runtime.db.write(setup)
    record = await runtime.db.read(lambda c: account_store.get_account(c, account_id, None))
    assert record is not None
    account = runtime.accounts.context_of(record)
    begin = time.perf_counter()
    events = make_events(calendar_id, total, series, random.Random(7))
    for i in range(0, len(events), 5000):
        rows = [(e, bounds_of(e.fields)) for e in events[i : i + 5000]]
        await runtime.db.write(partial(event_store.insert_events, rows=rows))
    return account, calendar_id, time.perf_counter() - begin


async def window_bench(url: str | None, total: int, series: int, runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), database_url=url, sqlite_synchronous="NORMAL")
        runtime = Runtime.build(settings)
        await runtime.start()
        await offload.start()  # as `calgate serve` does: the first query waits for no worker
        try:
            account, calendar_id, seconds = await fill(runtime, total, series)
            print(f"\nfilled {total:,} events ({series:,} series) in {seconds:.1f} s "
                  f"({'PostgreSQL' if url else 'SQLite'})")  # fmt: skip
            provider = runtime.providers.for_type("LOCAL")
            rng = random.Random(11)
            windows = [
                dt.datetime(2021, 1, 4, tzinfo=UTC) + dt.timedelta(days=7 * rng.randrange(52 * 8))
                for _ in range(runs)
            ]
            rows: list[tuple[object, ...]] = []
            for expand in (False, True):
                samples: list[float] = []
                counts: list[int] = []
                for week in windows:
                    query = EventQuery(start=week, end=week + dt.timedelta(days=7),
                                       expand_recurring=expand, limit=250)  # fmt: skip
                    begin = time.perf_counter()
                    page = await provider.list_events(account, calendar_id, query)
                    samples.append((time.perf_counter() - begin) * 1000)
                    counts.append(len(page.items))
                samples.sort()
                rows.append((
                    f"one-week window, expand_recurring={str(expand).lower()}",
                    f"{statistics.mean(counts):.0f}",
                    f"{statistics.median(samples):.1f}",
                    f"{samples[int(len(samples) * 0.95) - 1]:.1f}",
                ))  # fmt: skip
            table(
                f"(b) list_events on a calendar of {total:,} events with {series:,} series "
                f"({runs} random weeks in 2021-2028, first page of 250)",
                ("query", "items (mean)", "ms (median)", "p95"),
                rows,
            )
        finally:
            await runtime.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="20,000 events, fewer runs")
    parser.add_argument("--database-url", help="an empty PostgreSQL database (default: SQLite)")
    args = parser.parse_args()
    total, series, runs = (20_000, 1_000, 20) if args.quick else (100_000, 1_000, 100)
    series_bench(200 if args.quick else 1000)
    asyncio.run(window_bench(args.database_url, total, series, runs))


if __name__ == "__main__":
    main()
