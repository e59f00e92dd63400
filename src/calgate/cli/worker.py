"""`calgate worker`: deliver the outbox (invitation mail, webhooks) and run provider sync
(unless ``CALGATE_SYNC_ENABLED=false``) in a process of its own.

Run it next to API instances started with ``CALGATE_WORKER_ENABLED=false`` (or as extra
capacity beside them): every worker claims deliveries atomically from the shared database.
"""

from __future__ import annotations

import asyncio
import signal

import click
from uvicorn.loops.auto import auto_loop_factory

from calgate.api.server import loop_name
from calgate.cli.location import existing_database_settings
from calgate.cli.main import main
from calgate.logs import setup_logging
from calgate.runtime import Runtime
from calgate.settings import Settings


@main.command()
@click.option("--concurrency", type=int, help="Deliveries in flight (default 8).")
@click.pass_context
def worker(ctx: click.Context, concurrency: int | None) -> None:
    """Deliver invitation mail and webhooks until stopped (SIGTERM or Ctrl-C)."""
    if concurrency is not None and concurrency < 1:
        raise click.BadParameter("must be at least 1", param_hint="--concurrency")
    settings = existing_database_settings(ctx)
    if concurrency is not None:
        settings.worker_concurrency = concurrency
    setup_logging(settings.log_level, settings.log_format)
    # The loop `calgate serve` runs on (uvloop when installed): sync and delivery as fast here.
    with asyncio.Runner(loop_factory=auto_loop_factory()) as runner:
        runner.run(_work(settings))


async def _work(settings: Settings) -> None:
    runtime = Runtime.build(settings)
    await runtime.start()
    outbox_worker = runtime.worker()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    channels = ", ".join(outbox_worker.channels)
    click.echo(f"calgate worker delivering {channels} (stop with Ctrl-C)")
    click.echo(f"calgate worker: {loop_name(loop)}")
    scheduler = runtime.scheduler() if settings.sync_enabled else None
    try:
        await outbox_worker.start()
        if scheduler is not None:
            await scheduler.start()
            await runtime.push_keeper.start()  # push channels, shared with the servers
        await stop.wait()
    finally:
        if scheduler is not None:
            await runtime.push_keeper.stop()
            await scheduler.stop()
        await outbox_worker.aclose()
        await runtime.aclose()
    click.echo("calgate worker stopped")
