"""Hostile tenant: a well-behaved tenant's plain lists with and without another tenant's
recurrence load (issue 13), against one `calgate serve` process, in the same run.

The hostile tenant keeps endless SECONDLY series and rules that match once in four years, and
sends from several clients at once expanded lists to the year 9999, one-day windows in the year
9000 that it abandons after 0.2 s, and creates of rare sub-daily rules (tests/hostile.py). The
well-behaved tenant lists its 30 plain events, one request at a time. Each round measures the
well-behaved p50/p99 alone, then beside the hostile load; the reference is the alone figure of
the same round.

    python bench/hostile_bench.py [--rounds 3] [--lists 300] [--clients 6] [--database-url URL]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
from pathlib import Path

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.hostile import HOSTILE_KEY, Tenant, first_tenant, hostile_load, new_tenant, plain_lists
from tests.hostile import prepare as prepare_tenants
from tests.serve import serve


def quantile_ms(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] * 1000


async def one_round(
    base: str, hostile: Tenant, good: Tenant, lists: int, clients: int
) -> tuple[list[float], list[float], dict[str, int]]:
    alone = await plain_lists(base, good, lists)
    stop = anyio.Event()
    seen: dict[str, int] = {}
    loaded: list[float] = []

    async def hostile_side() -> None:
        seen.update(await hostile_load(base, hostile, stop, clients=clients))

    async with anyio.create_task_group() as group:
        group.start_soon(hostile_side)
        await anyio.sleep(1)  # let the hostile load build up
        loaded = await plain_lists(base, good, lists)
        stop.set()
    return alone, loaded, seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--lists", type=int, default=300, help="plain lists per phase")
    parser.add_argument("--clients", type=int, default=6, help="hostile clients")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    env = {"CALGATE_API_KEY": HOSTILE_KEY}
    if args.database_url:
        env["CALGATE_DATABASE_URL"] = args.database_url
    print(f"# hostile_bench {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {args.rounds} rounds")
    print(
        "| round | alone p50 (ms) | alone p99 (ms) | beside hostile p50 | beside hostile p99 |"
        " p99 ratio | hostile answers |"
    )
    print("|---|---|---|---|---|---|---|")
    ratios: list[float] = []
    with tempfile.TemporaryDirectory() as tmp, serve(Path(tmp), env) as served:
        hostile = first_tenant(served.base_url, HOSTILE_KEY)
        good = new_tenant(served.base_url, Path(tmp), "well-behaved")
        prepare_tenants(served.base_url, hostile, good)
        for number in range(1, args.rounds + 1):
            alone, loaded, seen = anyio.run(
                one_round, served.base_url, hostile, good, args.lists, args.clients
            )
            ratio = quantile_ms(loaded, 99) / quantile_ms(alone, 99)
            ratios.append(ratio)
            answers = ", ".join(f"{k}: {v}" for k, v in sorted(seen.items()))
            print(
                f"| {number} | {quantile_ms(alone, 50):.1f} | {quantile_ms(alone, 99):.1f} | "
                f"{quantile_ms(loaded, 50):.1f} | {quantile_ms(loaded, 99):.1f} | "
                f"{ratio:.2f} | {answers} |"
            )
    median = statistics.median(ratios)
    print(
        f"\nwell-behaved p99 beside the hostile load / alone: median {median:.2f}"
        f" (min {min(ratios):.2f}, max {max(ratios):.2f}) over {len(ratios)} rounds"
    )


if __name__ == "__main__":
    main()
