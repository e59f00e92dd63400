"""Crash count: creates acknowledged before a SIGKILL vs creates found after the restart.

    python bench/crash_bench.py [--seconds 5] [--postgres URL]

Starts `calgate serve`, drives 16 concurrent creates for ``--seconds``, kills the process with
SIGKILL, restarts it and counts. The two counts must be equal (none lost), every event found
must be complete, and no half-written event may exist.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.crashkit import crash_and_check


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--postgres", help="also run on this PostgreSQL URL (it is emptied)")
    args = parser.parse_args()
    runs: list[tuple[str, dict[str, str]]] = [("SQLite", {})]
    if args.postgres:
        runs.append(("PostgreSQL", {"CALGATE_DATABASE_URL": args.postgres}))
    print("| store | creates acknowledged | found after restart | complete | half-written |")
    print("|---|---:|---:|---:|---:|")
    for name, env in runs:
        if "CALGATE_DATABASE_URL" in env:
            import asyncio

            from tests.conftest import reset_postgres

            asyncio.run(reset_postgres(env["CALGATE_DATABASE_URL"]))
        with tempfile.TemporaryDirectory() as tmp:
            r = crash_and_check(Path(tmp), env, args.seconds)
        print(
            f"| {name} | {len(r.acknowledged):,} | {r.found:,} | {r.complete:,} | {len(r.broken)} |"
        )


if __name__ == "__main__":
    main()
