"""`calgate`: serve, and manage keys, tenants, accounts and calendars without SQL."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from calgate.runtime import Runtime
from calgate.settings import Settings, load_settings

T = TypeVar("T")


def _settings(ctx: click.Context) -> Settings:
    settings: Settings = ctx.obj
    return settings


def with_runtime(ctx: click.Context, work: Callable[[Runtime], Awaitable[T]]) -> T:
    """Run ``work`` against a started runtime (migrations applied), then close it."""

    async def run() -> T:
        runtime = Runtime.build(_settings(ctx))
        await runtime.start()
        try:
            return await work(runtime)
        finally:
            await runtime.aclose()

    return asyncio.run(run())


@click.group()
@click.option("--config", type=click.Path(dir_okay=False), help="TOML settings file.")
@click.option("--data-dir", type=click.Path(file_okay=False), help="Data directory.")
@click.option("--database-url", help="SQLAlchemy database URL.")
@click.pass_context
def main(
    ctx: click.Context, config: str | None, data_dir: str | None, database_url: str | None
) -> None:
    """calgate: a self-hosted calendar API server speaking the Unipile calendar API."""
    ctx.obj = load_settings(config, data_dir=data_dir, database_url=database_url)


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


from calgate.cli import admin, imports, serve, sync, worker  # noqa: E402  (commands register on `main`)

__all__ = ["admin", "imports", "main", "serve", "sync", "with_runtime", "worker"]
