"""`calgate import FILE.ics`: import an iCalendar file into a calendar, with a progress bar."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from calgate.cli.main import fail, main, with_runtime
from calgate.errors import CalgateError, NotFound
from calgate.runtime import Runtime
from calgate.services.ics import IcsService, ImportReport
from calgate.store import accounts as account_store


async def _import(
    runtime: Runtime, data: bytes, account_id: str, calendar_id: str | None, quiet: bool
) -> ImportReport:
    record = await runtime.db.read(lambda c: account_store.get_account(c, account_id, None))
    if record is None:
        raise NotFound(f"no account {account_id!r}; see `calgate accounts list`")
    if calendar_id is None:
        calendars = await runtime.db.read(lambda c: account_store.list_calendars(c, account_id))
        if not calendars:
            raise NotFound(f"account {account_id!r} has no calendar; give --calendar")
        calendar_id = calendars[0].id  # the default calendar comes first
    service = IcsService.of(runtime)
    if not quiet:
        click.echo("reading the file…", err=True)
    plan = await service.prepare(record.tenant_id, account_id, calendar_id, data)
    with click.progressbar(
        length=plan.total,
        label=f"importing {plan.total} events into {plan.calendar.name}",
        file=sys.stderr,
        hidden=quiet,
    ) as bar:
        return await service.apply(plan, progress=lambda done: bar.update(done))


@main.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--account", "account_id", required=True, help="Account id (LOCAL).")
@click.option("--calendar", "calendar_id", help="Calendar id (default: the account's default).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.pass_context
def import_command(
    ctx: click.Context, file: Path, account_id: str, calendar_id: str | None, quiet: bool
) -> None:
    """Import the events of FILE (.ics) into a calendar.

    UIDs are kept: importing the same file again changes nothing, a changed event is updated in
    place. A bad file is refused whole, with the VEVENT and property at fault.
    """
    data = file.read_bytes()
    try:
        report = with_runtime(ctx, lambda rt: _import(rt, data, account_id, calendar_id, quiet))
    except CalgateError as error:
        fail(error.detail)
        return
    click.echo(f"created {report.created}, updated {report.updated}, unchanged {report.unchanged}")
