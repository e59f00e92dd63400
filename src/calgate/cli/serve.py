"""`calgate serve`."""

from __future__ import annotations

import asyncio
import gc

import click
import uvicorn

from calgate.api.app import create_app
from calgate.bootstrap import bootstrap, first_request
from calgate.cli.main import main
from calgate.logs import setup_logging
from calgate.runtime import Runtime


@main.command()
@click.option("--host", help="Address to listen on (default 127.0.0.1).")
@click.option("--port", type=int, help="Port to listen on (default 13111).")
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None) -> None:
    """Run the API server (applies migrations; sets up a first key on an empty database)."""
    settings = ctx.obj
    if host is not None:
        settings.host = host
    if port is not None:
        settings.port = port
    setup_logging(settings.log_level, settings.log_format)
    asyncio.run(_serve(settings))


async def _serve(settings: object) -> None:
    from calgate.settings import Settings

    assert isinstance(settings, Settings)
    runtime = Runtime.build(settings)
    await runtime.start()
    try:
        first = await bootstrap(runtime)
        if first is not None:
            click.echo("calgate: first start, created a LOCAL account with a default calendar.")
            if first.key_from_settings:
                click.echo("API key: the one in CALGATE_API_KEY")
            else:
                click.echo(f"API key (shown once, keep it): {first.api_key}")
            click.echo("Create an event:\n")
            click.echo(first_request(settings.base_url, first) + "\n")
        app = create_app(settings, runtime)
        config = uvicorn.Config(
            app,
            host=settings.host,
            port=settings.port,
            log_level=settings.log_level.lower(),
            log_config=None,  # calgate.logs formats every line (text or JSON)
            access_log=False,
            lifespan="on",
            server_header=False,
        )
        click.echo(f"calgate listening on http://{settings.host}:{settings.port} (docs at /docs)")
        # Long-lived objects made at start-up need no more collection; fewer young-generation
        # collections keep request latency steady under load.
        gc.freeze()
        gc.set_threshold(50_000, 20, 100)
        await uvicorn.Server(config).serve()
    finally:
        await runtime.aclose()
