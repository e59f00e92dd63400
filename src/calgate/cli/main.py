"""`calgate`: serve, and manage keys, tenants, accounts and calendars without SQL."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from calgate.cli.location import (
    CliState,
    existing_database_settings,
    new_database_settings,
    settings_of,
    settings_options,
)
from calgate.runtime import Runtime

T = TypeVar("T")


def with_runtime(
    ctx: click.Context, work: Callable[[Runtime], Awaitable[T]], *, create: bool = False
) -> T:
    """Run ``work`` against a started runtime (migrations applied), then close it. Unless
    ``create``, the database must exist already (calgate.cli.location)."""
    settings = new_database_settings(ctx) if create else existing_database_settings(ctx)

    async def run() -> T:
        runtime = Runtime.build(settings)
        await runtime.start()
        try:
            return await work(runtime)
        finally:
            await runtime.aclose()

    return asyncio.run(run())


@click.group(params=settings_options())
@click.pass_context
def main(ctx: click.Context) -> None:
    """calgate: a self-hosted calendar API server speaking the Unipile calendar API.

    Every command uses the same data directory: --data-dir, else CALGATE_DATA_DIR, else the
    per-user default (`calgate info` prints it).
    """
    ctx.ensure_object(CliState)


def echo_rows(rows: list[dict[str, Any]], columns: list[str]) -> None:
    if not rows:
        click.echo("(none)")
        return
    widths = {c: max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in columns}
    click.echo("  ".join(c.upper().ljust(widths[c]) for c in columns))
    for r in rows:
        click.echo("  ".join(str(r.get(c, "")).ljust(widths[c]) for c in columns))


def fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def _share_settings_options(group: click.Group) -> None:
    """Every command takes --config, --data-dir and --database-url where users type them."""
    for command in group.commands.values():
        if isinstance(command, click.Group):
            _share_settings_options(command)
        elif not any(p.name == "data_dir" for p in command.params):
            command.params.extend(settings_options())


from calgate.cli import (  # noqa: E402  (commands register on `main`)
    admin,
    console,
    imports,
    inbound,
    info,
    serve,
    sync,
    worker,
)

_share_settings_options(main)

__all__ = [
    "admin",
    "console",
    "imports",
    "inbound",
    "info",
    "main",
    "serve",
    "settings_of",
    "sync",
    "with_runtime",
    "worker",
]
