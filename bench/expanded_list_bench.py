"""An expanded list on its own: how long `GET …/events?expand_recurring=true` takes against a
plain list of the same calendar, both measured in the same run on one `calgate serve`.

The calendar holds five endless daily series (Europe/Paris) and 20 single events in March
2026. One client, one request at a time (nothing else in flight), asks round after round, in
turn: the expanded list of March with ``limit=100`` and ``limit=10``, and the plain list of
March (``limit=100``: the 25 stored events), the reference. Each line gives the median of the
rounds' p50 and p99 and the ratio of the expanded p50 to the plain p50 of the same round.

    python bench/expanded_list_bench.py [--rounds 5] [--requests 300] [--set NAME=VALUE ...]

``--set recurrence_processes=0`` runs calgate with a setting changed (here: the expansion in
calgate's threads instead of its worker processes).
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.hostile import HOSTILE_KEY, first_tenant
from tests.serve import serve

MARCH = {"start": "2026-03-01T00:00:00Z", "end": "2026-04-01T00:00:00Z"}
KINDS = {
    "expanded, limit 100": {**MARCH, "expand_recurring": "true", "limit": "100"},
    "expanded, limit 10": {**MARCH, "expand_recurring": "true", "limit": "10"},
    "plain, limit 100 (reference)": {**MARCH, "limit": "100"},
}


def seed(client: httpx.Client, events: str, account_id: str) -> None:
    for hour in range(5):
        body = {
            "title": f"daily {hour}",
            "start": {"date_time": f"2026-03-02T0{hour}:00:00", "time_zone": "Europe/Paris"},
            "end": {"date_time": f"2026-03-02T0{hour}:30:00", "time_zone": "Europe/Paris"},
            "recurrence": ["RRULE:FREQ=DAILY"],
        }
        client.post(events, params={"account_id": account_id}, json=body).raise_for_status()
    for day in range(20):
        body = {
            "title": f"meeting {day}",
            "start": {"date_time": f"2026-03-{day + 2:02d}T12:00:00Z"},
            "end": {"date_time": f"2026-03-{day + 2:02d}T13:00:00Z"},
        }
        client.post(events, params={"account_id": account_id}, json=body).raise_for_status()


def timed(client: httpx.Client, events: str, params: dict[str, str], n: int) -> list[float]:
    seconds = []
    for _ in range(n):
        began = time.perf_counter()
        r = client.get(events, params=params)
        seconds.append(time.perf_counter() - began)
        r.raise_for_status()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=300, help="requests of each kind a round")
    parser.add_argument("--set", action="append", default=[], help="NAME=VALUE: a setting")
    args = parser.parse_args()
    env = {"CALGATE_API_KEY": HOSTILE_KEY}
    for given in args.set:
        name, _, value = given.partition("=")
        env[f"CALGATE_{name.upper()}"] = value
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"# expanded_list_bench {stamp}, {args.rounds} rounds of {args.requests} requests")
    if args.set:
        print(f"# settings: {', '.join(args.set)}")
    with tempfile.TemporaryDirectory() as data, serve(Path(data), env) as served:
        tenant = first_tenant(served.base_url, HOSTILE_KEY)
        headers = {"X-API-KEY": HOSTILE_KEY}
        with httpx.Client(base_url=served.base_url, headers=headers, timeout=60) as client:
            seed(client, tenant.events, tenant.account_id)
            rounds: dict[str, list[tuple[float, float]]] = {kind: [] for kind in KINDS}
            for _ in range(args.rounds):
                for kind, params in KINDS.items():
                    query: dict[str, Any] = {"account_id": tenant.account_id, **params}
                    timed(client, tenant.events, query, 20)  # warm: connections, caches
                    q = statistics.quantiles(
                        timed(client, tenant.events, query, args.requests), n=100
                    )
                    rounds[kind].append((q[49] * 1000, q[98] * 1000))
    plain = [p50 for p50, _ in rounds["plain, limit 100 (reference)"]]
    print("| list | p50 (ms) | p99 (ms) | p50 / plain p50 (median, min-max of the rounds) |")
    print("|---|---:|---:|---:|")
    for kind, found in rounds.items():
        ratios = [p50 / ref for (p50, _), ref in zip(found, plain, strict=True)]
        p50 = statistics.median(p for p, _ in found)
        p99 = statistics.median(p for _, p in found)
        spread = f"{statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f})"
        print(f"| {kind} | {p50:.2f} | {p99:.2f} | {spread} |")


if __name__ == "__main__":
    main()
