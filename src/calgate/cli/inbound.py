"""`calgate inbound`: calgate's inbound mail listener (SMTP or LMTP) on its own, for attendees'
REPLY and COUNTER mail; `calgate serve` runs the same listener when ``inbound_smtp_port`` is
set."""

from __future__ import annotations

import asyncio
import signal

import click

from calgate.cli.location import existing_database_settings
from calgate.cli.main import main
from calgate.inbound.listener import listen
from calgate.logs import setup_logging
from calgate.runtime import Runtime
from calgate.settings import Settings


async def inbound_listener(settings: Settings, runtime: Runtime) -> asyncio.Server | None:
    """The listener the settings ask for (None without ``inbound_smtp_port``)."""
    port = settings.inbound_smtp_port
    if not port:
        return None
    host, lmtp = settings.inbound_smtp_host, settings.inbound_lmtp
    server = await listen(runtime.inbound, host, port, lmtp=lmtp, max_bytes=settings.max_body_bytes)
    click.echo(
        f"calgate reading attendees' replies by {'LMTP' if lmtp else 'SMTP'} on {host}:{port}"
    )
    return server


@main.command()
@click.option("--port", type=int, help="Port to listen on (default: inbound_smtp_port).")
@click.option("--lmtp", is_flag=True, default=None, help="Speak LMTP instead of SMTP.")
@click.pass_context
def inbound(ctx: click.Context, port: int | None, lmtp: bool | None) -> None:
    """Read attendees' REPLY and COUNTER mail (SMTP/LMTP) until stopped."""
    settings = existing_database_settings(ctx)
    if port is not None:
        if not 0 < port < 65536:
            raise click.BadParameter("must be 1..65535", param_hint="--port")
        settings.inbound_smtp_port = port
    if lmtp:
        settings.inbound_lmtp = True
    if not settings.inbound_smtp_port:
        raise click.UsageError("give --port or set inbound_smtp_port (CALGATE_INBOUND_SMTP_PORT)")
    setup_logging(settings.log_level, settings.log_format)
    asyncio.run(_run(settings))


async def _run(settings: Settings) -> None:
    runtime = Runtime.build(settings)
    await runtime.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    server = await inbound_listener(settings, runtime)
    try:
        await stop.wait()
    finally:
        if server is not None:
            server.close()
            await server.wait_closed()
        await runtime.aclose()
    click.echo("calgate inbound stopped")
