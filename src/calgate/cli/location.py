"""Where the CLI finds its server's data: one rule for `calgate serve` and every other command.

The data directory is, first found: ``--data-dir`` (before or after the command's name),
``CALGATE_DATA_DIR``, ``data_dir`` in the config file, else the per-user default
(``$XDG_DATA_HOME/calgate``, else ``~/.local/share/calgate``). ``--database-url`` and
``CALGATE_DATABASE_URL`` name another database (PostgreSQL) instead of the one in it. Only
`calgate serve`, `calgate migrate` and `calgate tenants create` create a database, and say so;
the other commands refuse to run on one that does not exist, and say where they looked.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError

from calgate.settings import Settings, default_data_dir, load_settings

LEGACY_DATA_DIR = Path("calgate-data")  # where calgate kept its data before this rule


@dataclass
class CliState:
    """The settings flags given on the command line, and the settings built from them once."""

    flags: dict[str, str] = field(default_factory=dict)
    settings: Settings | None = None


def _remember(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    if value is not None and param.name:
        ctx.ensure_object(CliState).flags[param.name] = value


def settings_options() -> list[click.Option]:
    """``--config``, ``--data-dir`` and ``--database-url``, accepted by the group and by every
    command (``calgate --data-dir X serve`` and ``calgate serve --data-dir X`` are the same)."""
    return [
        click.Option(
            ["--config"],
            type=click.Path(dir_okay=False),
            expose_value=False,
            callback=_remember,
            help="TOML settings file.",
        ),
        click.Option(
            ["--data-dir"],
            type=click.Path(file_okay=False),
            expose_value=False,
            callback=_remember,
            help="Data directory (default: CALGATE_DATA_DIR, else the per-user one; see "
            "`calgate info`).",
        ),
        click.Option(
            ["--database-url"],
            expose_value=False,
            callback=_remember,
            help="SQLAlchemy database URL (default: calgate.db in the data directory).",
        ),
    ]


def settings_of(ctx: click.Context) -> Settings:
    state = ctx.ensure_object(CliState)
    if state.settings is None:
        flags = state.flags
        try:
            state.settings = load_settings(
                flags.get("config"),
                data_dir=flags.get("data_dir"),
                database_url=flags.get("database_url"),
            )
        except ValidationError as error:
            raise click.ClickException(_refused(error)) from None
    return state.settings


def _refused(error: ValidationError) -> str:
    """The settings ``error`` refused, one line each: the setting (as its environment variable;
    the config file names it in lower case), what was given, what it takes."""
    lines = ["calgate's settings are refused:"]
    for problem in error.errors():
        name = "_".join(str(part) for part in problem["loc"])
        given = problem.get("input")
        shown = "" if isinstance(given, dict) else f" (given: {given!r})"
        setting = f"CALGATE_{name.upper()}{shown}: " if name else ""
        lines.append(f"  {setting}{problem['msg']}")
    return "\n".join(lines)


def data_dir_source(ctx: click.Context) -> str:
    """Which part of the rule chose the data directory."""
    settings = settings_of(ctx)
    if "data_dir" in ctx.ensure_object(CliState).flags:
        return "given by --data-dir"
    if os.environ.get("CALGATE_DATA_DIR"):
        return "given by CALGATE_DATA_DIR"
    if settings.data_dir != default_data_dir():
        return "given by the config file"
    return "the per-user default, as CALGATE_DATA_DIR and --data-dir are unset"


def database_path(settings: Settings) -> Path | None:
    """The SQLite file of the data directory; None when a database URL names the database."""
    return None if settings.database_url else settings.data_dir / "calgate.db"


def existing_database_settings(ctx: click.Context) -> Settings:
    """The settings, after checking that their database exists (a command other than serve or
    migrate never creates an empty one)."""
    settings = settings_of(ctx)
    path = database_path(settings)
    if path is None or path.exists():
        return settings
    message = (
        f"no calgate database at {path} (data directory: {data_dir_source(ctx)}); "
        "start `calgate serve` once to create it, or give the server's data directory "
        "with --data-dir or CALGATE_DATA_DIR"
    )
    legacy = LEGACY_DATA_DIR / "calgate.db"
    if legacy.exists() and legacy.resolve() != path.resolve():
        message += f" (there is one in ./{LEGACY_DATA_DIR}: --data-dir {LEGACY_DATA_DIR})"
    raise click.ClickException(message)


def new_database_settings(ctx: click.Context) -> Settings:
    """The settings of a command that may create the database; it says so when it does."""
    settings = settings_of(ctx)
    path = database_path(settings)
    if path is not None and not path.exists():
        source = data_dir_source(ctx)
        click.echo(
            f"calgate: creating a new database at {path} (data directory: {source})", err=True
        )
    return settings
