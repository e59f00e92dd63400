"""Cost of one outbox claim as the backlog grows: the fair claim walks the targets that have
pending deliveries (a skip scan), so a tenant whose receiver is dead and whose deliveries pile
up must not make every claim (on SQLite: the one writer thread) slower for everyone.

    python bench/outbox_claim_bench.py [--rows 50000] [--targets 20] [--repeat 5]

Reference, measured in the same run: the same claim over a backlog of ``--targets`` rows (one
per target). Each point is the median of 50 claims, each in a transaction rolled back so that
every claim sees the same queue; the run is repeated ``--repeat`` times and the ratio's spread
(min-max) is printed with the date.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from sqlalchemy.engine import Connection

from calgate.outbox import NewDelivery, Outbox, store
from calgate.store.db import Database, now_us
from calgate.store.ids import new_id


async def claim_ms(rows: int, targets: int) -> float:
    """Median ms of one claim over ``rows`` due deliveries to ``targets`` webhooks, all of
    whose receivers are busy (a delivery of each is in flight) but one."""
    with tempfile.TemporaryDirectory() as folder:
        db = Database(f"sqlite+aiosqlite:///{folder}/bench.db", synchronous="NORMAL")
        await db.migrate()
        outbox = Outbox()
        batch = 1000
        for start in range(0, rows, batch):
            count = min(batch, rows - start)

            def op(conn: Connection, start: int = start, count: int = count) -> None:
                outbox.add(
                    conn,
                    tenant_id=f"t{start % 2}",
                    account_id="a",
                    change_id=new_id(),
                    event_id="e",
                    payload={"x": 1},
                    deliveries=[
                        NewDelivery("webhook", f"w{(start + i) % targets}", "x", {})
                        for i in range(count)
                    ],
                )

            await db.write(op)
        now = now_us()
        # Every target but one gets a delivery in flight.
        await db.write(
            lambda c: store.claim(
                c, token="busy", now=now, lease_until=now + 10**12, limit=targets - 1
            )
        )
        times = []
        for _ in range(50):
            started = time.perf_counter()
            await db.read(
                lambda c: store.claim(
                    c, token="k", now=now, lease_until=now + 10**12, limit=8, per_tenant=4
                )
            )
            times.append((time.perf_counter() - started) * 1000)
        await db.dispose()
        return statistics.median(times)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--targets", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    ratios, refs, bigs = [], [], []
    for _ in range(args.repeat):
        ref = await claim_ms(args.targets, args.targets)
        big = await claim_ms(args.rows, args.targets)
        refs.append(ref)
        bigs.append(big)
        ratios.append(big / ref)
    print(f"{dt.date.today()} SQLite, {args.targets} targets, {args.repeat} runs")
    print(f"claim over {args.targets} rows (reference): median {statistics.median(refs):.2f} ms")
    print(f"claim over {args.rows} rows: median {statistics.median(bigs):.2f} ms")
    print(
        f"ratio: median {statistics.median(ratios):.2f}x "
        f"(spread {min(ratios):.2f}-{max(ratios):.2f}x)"
    )


if __name__ == "__main__":
    asyncio.run(main())
