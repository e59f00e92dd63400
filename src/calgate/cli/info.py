"""`calgate info`: where this calgate keeps its data and how it is reached."""

from __future__ import annotations

import click
from sqlalchemy.engine import make_url

from calgate import __version__
from calgate.cli.location import data_dir_source, database_path, settings_of
from calgate.cli.main import main


@main.command()
@click.pass_context
def info(ctx: click.Context) -> None:
    """Print the data directory and database every command uses (and why), and the address."""
    settings = settings_of(ctx)
    path = database_path(settings)
    url = make_url(settings.effective_database_url).render_as_string(hide_password=True)
    if path is None:
        state = "named by CALGATE_DATABASE_URL or --database-url"
    else:
        state = "exists" if path.exists() else "not created yet: `calgate serve` creates it"
    click.echo(f"calgate {__version__}")
    click.echo(f"data directory: {settings.data_dir.resolve()} ({data_dir_source(ctx)})")
    click.echo(f"database: {url} ({state})")
    click.echo(f"serves: http://{settings.host}:{settings.port} (API reference at /docs)")
