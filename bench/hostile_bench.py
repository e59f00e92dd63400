"""Hostile tenant: a well-behaved tenant's plain lists with and without another tenant's
recurrence load (issue 13), against one `calgate serve` process, in the same run.

The hostile tenant keeps endless SECONDLY series and rules that match once in four years, and
sends from several clients at once expanded lists to the year 9999, one-day windows in the year
9000 that it abandons after 0.2 s, and creates of rare sub-daily rules (tests/hostile.py; chosen
with ``--kinds``). The hostile clients run in a child process of their own: their HTTP and JSON
work is not done on the event loop that times the well-behaved tenant, which lists its 30 plain
events, one request at a time. Each round measures the
well-behaved p50/p99 alone, then beside the hostile load; the reference is the alone figure of
the same round. The server-side columns are the same lists' durations in calgate's own access
log (from when the app got the request until it answered: without the client's and the
connection's share, and without the time a request waits before the app gets it).

Two more hostile loads, chosen with ``--mode``:

- ``slow-bodies`` (item 5): ``--slow-bodies N`` raw-socket clients each open a POST, send its
  headers, then its body one byte every ``--byte-every`` seconds; when calgate answers 408 and
  closes, the client opens another.
- ``big-answers`` (item 4): the hostile tenant has a CalDAV account (a real Radicale on loopback
  behind a loopback proxy that answers every REPORT with a ~15 MiB multistatus), and
  ``--clients`` clients list its calendar again and again. calgate's peak RSS (VmHWM) is read
  after each round.

    python bench/hostile_bench.py [--rounds 3] [--lists 300] [--clients 6] [--database-url URL]
                                  [--kinds far-list,far-day,create,list] [--apart]
                                  [--fair-share N] [--processes N] [--priority idle|nice]
                                  [--pin]
    python bench/hostile_bench.py --mode slow-bodies [--slow-bodies 100] [--byte-every 3]
    python bench/hostile_bench.py --mode big-answers [--clients 6] [--answer-mib 15]

``--apart`` (recurrence mode) sends the same hostile load to a second `calgate serve` on the
same machine instead: what is left of the slowdown is the machine's (CPU, scheduling), not the
process's (GIL, event loop, pools).

``--pin`` keeps the hostile clients (and the ``--apart`` process; in big-answers mode, the proxy's
threads that send the big answers) on the machine's last CPU and
calgate and the well-behaved client on the others: the hostile clients' own CPU (on a real
deployment, other machines') then takes nothing from calgate's cores, and with ``--apart`` the
hostile load cannot touch them at all (the reference of a separate instance).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import anyio
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.hostile import (
    HOSTILE_KEY,
    KINDS,
    Tenant,
    first_tenant,
    hostile_load_apart,
    new_tenant,
    plain_lists,
)
from tests.hostile import prepare as prepare_tenants
from tests.radicale import radicale_server
from tests.serve import serve
from tests.test_caldav_big_answers import big_proxy, multistatus

MIB = 2**20
BIG_WINDOW = {"start": "2026-03-01T00:00:00Z", "end": "2026-03-02T00:00:00Z", "limit": "5"}


def quantile_ms(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] * 1000


async def slow_bodies(
    base: str, hostile: Tenant, stop: anyio.Event, clients: int, every: float
) -> dict[str, int]:
    """``clients`` connections each sending a POST body one byte every ``every`` seconds."""
    host, port = base.removeprefix("http://").split(":")
    seen: dict[str, int] = {"408": 0, "other": 0, "bytes": 0}
    head = (
        f"POST {hostile.events}?account_id={hostile.account_id} HTTP/1.1\r\n"
        f"Host: {host}:{port}\r\nX-API-KEY: {hostile.key}\r\n"
        "Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
    ).encode()

    async def one(index: int) -> None:
        await anyio.sleep(every * index / clients)  # spread the bytes over the interval
        while not stop.is_set():
            try:
                async with await anyio.connect_tcp(host, int(port)) as sock:
                    await sock.send(head)
                    while not stop.is_set():
                        await sock.send(b" ")
                        seen["bytes"] += 1
                        with anyio.move_on_after(every):
                            answer = await sock.receive()
                            seen["408" if b" 408 " in answer[:20] else "other"] += 1
                            break
            except (OSError, anyio.EndOfStream, anyio.BrokenResourceError):
                seen["closed"] = seen.get("closed", 0) + 1  # open another

    async with anyio.create_task_group() as group:
        for index in range(clients):
            group.start_soon(one, index)
    return seen


async def big_lists(base: str, caldav: Tenant, stop: anyio.Event, clients: int) -> dict[str, int]:
    """``clients`` clients listing the hostile CalDAV calendar (a big answer each time)."""
    seen: dict[str, int] = {}
    headers = {"X-API-KEY": caldav.key}
    params = {"account_id": caldav.account_id, **BIG_WINDOW}
    url = caldav.events

    async def one() -> None:
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=120) as client:
            while not stop.is_set():
                r = await client.get(url, params=params)
                seen[str(r.status_code)] = seen.get(str(r.status_code), 0) + 1

    async with anyio.create_task_group() as group:
        for _ in range(clients):
            group.start_soon(one)
    return seen


async def one_round(
    base: str,
    hostile: Tenant,
    good: Tenant,
    lists: int,
    clients: int,
    load: Any = None,
    settle: float = 1,
    kinds: tuple[str, ...] = KINDS,
    number: int = 1,
    cpus: set[int] | None = None,
) -> tuple[list[float], list[float], dict[str, int]]:
    alone = await plain_lists(base, good, lists, tag=f"r{number}-alone")
    stop = anyio.Event()
    seen: dict[str, int] = {}
    loaded: list[float] = []

    async def hostile_side() -> None:
        if load is not None:
            seen.update(await load(stop))
        else:
            seen.update(
                await hostile_load_apart(base, hostile, stop, clients, kinds=kinds, cpus=cpus)
            )

    async with anyio.create_task_group() as group:
        group.start_soon(hostile_side)
        await anyio.sleep(settle)  # let the hostile load build up
        loaded = await plain_lists(base, good, lists, tag=f"r{number}-beside")
        stop.set()
    return alone, loaded, seen


def server_seconds(log: str, tag: str) -> list[float]:
    """The well-behaved lists' own durations in calgate's JSON access log (``duration_ms``,
    from when the app got the request until it answered), by their ``X-Request-ID`` tag."""
    took = []
    for line in log.splitlines():
        if f'"request_id":"{tag}-' in line:
            entry = json.loads(line)
            if entry.get("logger") == "calgate.access":
                took.append(entry["duration_ms"] / 1000)
    return took


def peak_mib(pid: int) -> float:
    """The process's peak resident set (VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def caldav_calendar(base: str, hostile: Tenant, url: str, user: Any) -> Tenant:
    """Connect the hostile tenant's CalDAV account; that account and its calendar."""
    headers = {"X-API-KEY": hostile.key}
    body = {"provider": "CALDAV", "url": url + "/", "username": user.name}
    body["password"] = user.password
    r = httpx.post(f"{base}/api/v1/accounts", json=body, headers=headers, timeout=60)
    assert r.status_code == 201, r.text
    account = r.json()["account_id"]
    r = httpx.get(f"{base}/api/v1/calendars", params={"account_id": account}, headers=headers)
    assert r.status_code == 200, r.text
    return Tenant(hostile.key, account, str(r.json()["data"][0]["id"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--lists", type=int, default=300, help="plain lists per phase")
    parser.add_argument("--clients", type=int, default=6, help="hostile clients")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--mode", choices=("recurrence", "slow-bodies", "big-answers"))
    parser.add_argument("--slow-bodies", type=int, default=100, help="slow-body clients")
    parser.add_argument("--byte-every", type=float, default=3.0, help="seconds between bytes")
    parser.add_argument(
        "--body-timeout", type=float, default=None, help="CALGATE_BODY_TIMEOUT_SECONDS"
    )
    parser.add_argument("--answer-mib", type=float, default=15.0, help="REPORT answer size")
    parser.add_argument(
        "--apart", action="store_true", help="hostile recurrence load on a second process"
    )
    parser.add_argument(
        "--fair-share",
        type=int,
        default=None,
        help="CALGATE_FAIR_SHARE_REQUESTS (0: off; default: calgate's own)",
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=None,
        help="CALGATE_RECURRENCE_PROCESSES (0: recurrence work in threads; default: calgate's)",
    )
    parser.add_argument(
        "--priority",
        choices=("idle", "nice"),
        default=None,
        help="CALGATE_RECURRENCE_PRIORITY (the worker processes'; default: calgate's)",
    )
    parser.add_argument(
        "--pin",
        action="store_true",
        help="the hostile clients (and the --apart process) on the last CPU, calgate and the "
        "well-behaved client on the others",
    )
    parser.add_argument(
        "--kinds",
        default=",".join(KINDS),
        help=f"hostile requests sent, of {', '.join(KINDS)} (recurrence mode)",
    )
    args = parser.parse_args()
    mode = args.mode or "recurrence"
    kinds = tuple(args.kinds.split(","))
    ours: set[int] | None = None
    theirs: set[int] | None = None
    if args.pin:
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) < 2:
            parser.error("--pin needs two CPUs or more")
        ours, theirs = set(cpus[:-1]), {cpus[-1]}
        os.sched_setaffinity(0, ours)  # the well-behaved client
    if set(kinds) - set(KINDS):
        parser.error(f"--kinds: one or more of {', '.join(KINDS)}")
    if args.apart and mode != "recurrence":
        parser.error("--apart goes with --mode recurrence")
    env = {"CALGATE_API_KEY": HOSTILE_KEY, "CALGATE_LOG_FORMAT": "json"}
    if args.database_url:
        env["CALGATE_DATABASE_URL"] = args.database_url
    if args.fair_share is not None:
        env["CALGATE_FAIR_SHARE_REQUESTS"] = str(args.fair_share)
    if args.processes is not None:
        env["CALGATE_RECURRENCE_PROCESSES"] = str(args.processes)
    if args.priority is not None:
        env["CALGATE_RECURRENCE_PRIORITY"] = args.priority
    if args.body_timeout:
        env["CALGATE_BODY_TIMEOUT_SECONDS"] = str(args.body_timeout)
    if mode == "big-answers":
        env["CALGATE_ALLOW_LOOPBACK_URLS"] = "true"
        env["CALGATE_PROVIDER_MAX_ANSWER_BYTES"] = str(64 * MIB)
    apart = " (hostile load on a second process)" if args.apart else ""
    if mode == "recurrence" and kinds != KINDS:
        apart += f", hostile kinds {','.join(kinds)}"
    if args.fair_share is not None:
        apart += f", fair share {args.fair_share}"
    if args.processes is not None:
        apart += f", recurrence processes {args.processes}"
    if args.priority is not None:
        apart += f", worker priority {args.priority}"
    if args.pin:
        apart += (
            f", calgate on CPUs {sorted(ours or ())}, hostile clients on {sorted(theirs or ())}"
        )
    apart += f", {args.clients} hostile clients"
    print(
        f"# hostile_bench {mode}{apart} {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC,"
        f" {args.rounds} rounds"
    )
    print(
        "| round | alone p50 (ms) | alone p99 (ms) | beside hostile p50 | beside hostile p99 |"
        " p99 ratio | server-side p99 alone / beside | server-side p99 ratio |"
        " hostile answers | calgate VmHWM (MiB) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    ratios: list[float] = []
    inside: list[float] = []
    with contextlib.ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory())
        served = stack.enter_context(serve(Path(tmp), env, cpus=ours))
        hostile = first_tenant(served.base_url, HOSTILE_KEY)
        good = new_tenant(served.base_url, Path(tmp), "well-behaved")
        prepare_tenants(served.base_url, hostile, good)
        load: Any = None
        if mode == "slow-bodies":

            async def load(stop: anyio.Event) -> dict[str, int]:
                return await slow_bodies(
                    served.base_url, hostile, stop, args.slow_bodies, args.byte_every
                )

        elif mode == "big-answers":
            radicale = stack.enter_context(radicale_server(Path(tmp) / "radicale"))
            proxy = stack.enter_context(big_proxy(radicale.url))
            proxy.cpus = theirs  # --pin: sending the big answers is the hostile side's work
            user = radicale.add_user()
            path = radicale.make_calendar(user, "work", "Work")
            proxy.answer = multistatus(int(args.answer_mib * MIB), path)
            caldav = caldav_calendar(served.base_url, hostile, proxy.url, user)

            async def load(stop: anyio.Event) -> dict[str, int]:
                return await big_lists(served.base_url, caldav, stop, args.clients)

        elif args.apart:
            other_dir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            other = stack.enter_context(serve(other_dir, env, cpus=theirs))
            far = first_tenant(other.base_url, HOSTILE_KEY)
            prepare_tenants(other.base_url, far, new_tenant(other.base_url, other_dir, "unused"))

            async def load(stop: anyio.Event) -> dict[str, int]:
                return await hostile_load_apart(
                    other.base_url, far, stop, args.clients, kinds=kinds, cpus=theirs
                )

        for number in range(1, args.rounds + 1):
            alone, loaded, seen = anyio.run(
                one_round,
                served.base_url,
                hostile,
                good,
                args.lists,
                args.clients,
                load,
                args.byte_every + 1 if mode == "slow-bodies" else 1,
                kinds,
                number,
                theirs,
            )
            ratio = quantile_ms(loaded, 99) / quantile_ms(alone, 99)
            ratios.append(ratio)
            log = served.text()
            server_alone = quantile_ms(server_seconds(log, f"r{number}-alone"), 99)
            server_beside = quantile_ms(server_seconds(log, f"r{number}-beside"), 99)
            inside.append(server_beside / server_alone)
            answers = ", ".join(f"{k}: {v}" for k, v in sorted(seen.items()))
            print(
                f"| {number} | {quantile_ms(alone, 50):.1f} | {quantile_ms(alone, 99):.1f} | "
                f"{quantile_ms(loaded, 50):.1f} | {quantile_ms(loaded, 99):.1f} | "
                f"{ratio:.2f} | {server_alone:.1f} / {server_beside:.1f} | {inside[-1]:.2f} | "
                f"{answers} | {peak_mib(served.process.pid):.0f} |",
                flush=True,
            )
    for what, values in (("", ratios), ("server-side ", inside)):
        print(
            f"\nwell-behaved {what}p99 beside the hostile load / alone: median"
            f" {statistics.median(values):.2f} (min {min(values):.2f}, max {max(values):.2f})"
            f" over {len(values)} rounds"
        )


if __name__ == "__main__":
    main()
