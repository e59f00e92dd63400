"""`calgate sync status` and `calgate sync now ACCOUNT`: provider sync without SQL."""

from __future__ import annotations

from typing import Any

import click

from calgate.cli.main import echo_rows, fail, main, with_runtime
from calgate.push import status as push_status
from calgate.runtime import Runtime
from calgate.store import accounts as account_store
from calgate.store import mirror
from calgate.store import push as push_store
from calgate.store.db import now_us
from calgate.sync.engine import Result
from calgate.sync.status import state_to_wire

COLUMNS = [
    *("account", "calendar", "status", "mode", "lag_seconds", "changes", "resyncs", "push"),
    "error",
]


def _row(
    account_id: str, wire: dict[str, Any], push: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "account": account_id,
        "calendar": wire["calendar_id"],
        "status": wire["status"],
        "mode": wire["mode"] or "-",
        "lag_seconds": "-" if wire["lag_seconds"] is None else f"{wire['lag_seconds']:.1f}",
        "changes": wire["changes_seen"],
        "resyncs": wire["full_resyncs"],
        "push": push["status"] if push else "-",
        "error": (wire["last_error"] or "")[:80],
    }


@main.group("sync")
def sync_group() -> None:
    """Provider sync: changes made outside calgate (docs/sync.md)."""


@sync_group.command("status")
@click.option("--account", "account_id", help="Only this account's calendars.")
@click.pass_context
def sync_status(ctx: click.Context, account_id: str | None) -> None:
    """Each synced calendar: status, mode, lag, changes seen, full resyncs, last error."""

    async def work(rt: Runtime) -> list[dict[str, Any]]:
        states = await rt.db.read(lambda c: mirror.calendar_states(c, account_id))
        channels = await rt.db.read(lambda c: push_store.of_account(c, account_id))
        now = now_us()
        push = push_status.by_calendar(channels)
        return [
            _row(
                s.account_id,
                state_to_wire(s, now),
                push_status.channel_to_wire(push.get((s.account_id, s.calendar_id)), now),
            )
            for s in states
        ]

    echo_rows(with_runtime(ctx, work), COLUMNS)


@sync_group.command("now")
@click.argument("account_id")
@click.pass_context
def sync_now(ctx: click.Context, account_id: str) -> None:
    """Sync every calendar of ACCOUNT_ID now, in this process, and print what it found
    (calendars another process is syncing at this moment are left to it)."""

    async def work(rt: Runtime) -> list[tuple[str, Result | None]] | None:
        record = await rt.db.read(lambda c: account_store.get_account(c, account_id, None))
        if record is None or record.type not in rt.sync_feeds:
            return None
        return await rt.scheduler().run_account(account_id)

    done = with_runtime(ctx, work)
    if done is None:
        fail(f"no synced account {account_id!r} (CALDAV and ICLOUD accounts are synced)")
        return
    rows = [
        {
            "calendar": calendar_id,
            "outcome": "failed (see `calgate sync status`)" if result is None else "ok",
            "changes": "-" if result is None else result.changes,
            "full_resync": "-" if result is None else ("yes" if result.full_resync else "no"),
        }
        for calendar_id, result in done
    ]
    echo_rows(rows, ["calendar", "outcome", "changes", "full_resync"])
