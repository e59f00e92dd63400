"""`calgate serve`."""

from __future__ import annotations

import asyncio
import os
import shutil

import click
import uvicorn
from uvicorn.loops.auto import auto_loop_factory

from calgate.api.app import create_app
from calgate.api.asgi import tune_gc
from calgate.api.server import HTTP_PROTOCOL, engine
from calgate.bootstrap import FirstStart, bootstrap, first_request, shell_variables
from calgate.cli.inbound import inbound_listener
from calgate.cli.location import data_dir_source, settings_of
from calgate.cli.main import main
from calgate.logs import setup_logging
from calgate.runtime import Runtime
from calgate.settings import Settings


@main.command()
@click.option("--host", help="Address to listen on (default 127.0.0.1).")
@click.option("--port", type=int, help="Port to listen on (default 13111).")
@click.option(
    "--workers", type=int, default=1, show_default=True, help="Server processes on the port."
)
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None, workers: int) -> None:
    """Run the API server (applies migrations; sets up a first key on an empty database)."""
    settings = settings_of(ctx)
    click.echo(f"calgate data: {settings.data_dir.resolve()} ({data_dir_source(ctx)})")
    if host is not None:
        settings.host = host
    if port is not None:
        settings.port = port
    setup_logging(settings.log_level, settings.log_format)
    if workers > 1:
        if settings.inbound_smtp_port:
            raise click.UsageError(
                "inbound_smtp_port: with --workers, run the mail listener as `calgate inbound`"
            )
        _serve_workers(settings, workers)
        return
    # The loop uvicorn's "auto" would choose (uvloop when installed), as for --workers.
    with asyncio.Runner(loop_factory=auto_loop_factory()) as runner:
        runner.run(_serve(settings))


def _serve_workers(settings: Settings, workers: int) -> None:
    """Set up once, then let uvicorn run ``workers`` processes of calgate.api.asgi:create."""

    async def prepare() -> None:
        runtime = Runtime.build(settings)
        await runtime.start()
        try:
            _announce(settings, await bootstrap(runtime))
        finally:
            await runtime.aclose()

    asyncio.run(prepare())
    # The worker processes read their settings from the environment: pass the flags on.
    _share_metrics(settings)
    os.environ["CALGATE_DATA_DIR"] = str(settings.data_dir)
    os.environ["CALGATE_DATABASE_URL"] = settings.effective_database_url
    loop = auto_loop_factory()()  # the factory each worker's uvicorn runs with loop="auto"
    loop.close()
    click.echo(f"calgate: {engine(loop)}")
    click.echo(
        f"calgate listening on http://{settings.host}:{settings.port} with {workers} workers"
    )
    uvicorn.run(
        "calgate.api.asgi:create",
        factory=True,
        workers=workers,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        log_config=None,
        access_log=False,
        server_header=False,
        loop="auto",
        http=HTTP_PROTOCOL,  # unparsable requests answered in the JSON error shape
        timeout_graceful_shutdown=settings.shutdown_timeout_seconds,
    )


def _share_metrics(settings: Settings) -> None:
    """The workers keep their metrics in files of one folder, emptied at each start, so that
    any worker answers /metrics for all of them (calgate.metrics)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return
    folder = settings.data_dir / "metrics"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)


def _announce(settings: Settings, first: FirstStart | None) -> None:
    if first is None:
        return
    click.echo("calgate: first start, created a LOCAL account with a default calendar.")
    if first.key_from_settings:
        click.echo("API key: the one in CALGATE_API_KEY")
    else:
        click.echo(f"API key (shown once, keep it): {first.api_key}")
    click.echo("Create an event:\n")
    click.echo(first_request(settings.base_url, first) + "\n")
    click.echo("The README's examples use these shell variables:\n")
    click.echo(shell_variables(first) + "\n")


async def _serve(settings: Settings) -> None:
    runtime = Runtime.build(settings)
    await runtime.start()
    try:
        _announce(settings, await bootstrap(runtime))
        app = create_app(settings, runtime, serving=True)
        config = uvicorn.Config(
            app,
            host=settings.host,
            port=settings.port,
            log_level=settings.log_level.lower(),
            log_config=None,  # calgate.logs formats every line (text or JSON)
            access_log=False,
            lifespan="on",
            server_header=False,
            http=HTTP_PROTOCOL,  # unparsable requests answered in the JSON error shape
            # SIGTERM: requests in flight get this long, then are cancelled (their recurrence
            # work with them), so that stopping always ends.
            timeout_graceful_shutdown=settings.shutdown_timeout_seconds,
        )
        click.echo(f"calgate: {engine(asyncio.get_running_loop())}")
        click.echo(f"calgate listening on http://{settings.host}:{settings.port} (docs at /docs)")
        mail = await inbound_listener(settings, runtime)
        tune_gc()
        try:
            await uvicorn.Server(config).serve()
        finally:
            if mail is not None:
                mail.close()
    finally:
        await runtime.aclose()
