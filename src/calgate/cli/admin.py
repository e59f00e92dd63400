"""Management commands: tenants, API keys, accounts, calendars."""

from __future__ import annotations

import sys

import click
from sqlalchemy.engine import Connection

from calgate.cli.main import echo_rows, fail, main, with_runtime
from calgate.domain import zones
from calgate.domain.model import Calendar
from calgate.errors import CalgateError
from calgate.runtime import Runtime
from calgate.store import accounts as account_store
from calgate.store import keys
from calgate.store.codec import us_to_dt


async def _tenant(runtime: Runtime, tenant: str | None) -> str:
    """The tenant named by --tenant (its id or its name), else the only one."""
    tenants = await runtime.db.read(keys.list_tenants)
    if tenant:
        found = [i for i, name in tenants if tenant in (i, name)]
        if len(found) != 1:
            fail(
                f"{'several tenants are' if found else 'no tenant is'} named {tenant!r}: "
                "give its id (`calgate tenants list`)"
            )
        return found[0]
    if len(tenants) == 1:
        return tenants[0][0]
    if not tenants:
        fail("there is no tenant yet: start `calgate serve` once, or `calgate tenants create`")
    listed = ", ".join(f"{i} ({name})" for i, name in tenants)
    fail(f"there are {len(tenants)} tenants: give --tenant with the id or name of one: {listed}")
    raise AssertionError


@main.group()
def tenants() -> None:
    """Tenants: each has its own keys and accounts and sees nothing of the others."""


@tenants.command("list")
@click.pass_context
def tenants_list(ctx: click.Context) -> None:
    """List the tenants (id and name)."""

    async def work(rt: Runtime) -> list[tuple[str, str]]:
        return await rt.db.read(keys.list_tenants)

    echo_rows([{"id": i, "name": n} for i, n in with_runtime(ctx, work)], ["id", "name"])


@tenants.command("create")
@click.argument("name")
@click.pass_context
def tenants_create(ctx: click.Context, name: str) -> None:
    """Create tenant NAME with a first API key and a LOCAL account.

    Commands that act for a tenant then need --tenant (its id or NAME), as there are several."""

    async def work(rt: Runtime) -> tuple[str, str, str]:
        def op(conn: Connection) -> tuple[str, str]:
            tenant_id = keys.create_tenant(conn, name)
            return tenant_id, keys.create_key(conn, tenant_id, "first key")[1]

        tenant_id, raw = await rt.db.write(op)
        account = await rt.accounts.create_local(tenant_id, "My calendar")
        return tenant_id, raw, account.id

    tenant_id, raw, account_id = with_runtime(ctx, work, create=True)
    click.echo(f"tenant {tenant_id}\naccount {account_id}\nAPI key (shown once): {raw}")


@main.group("keys")
def keys_group() -> None:
    """API keys (stored hashed; a key is shown only when created)."""


@keys_group.command("create")
@click.option("--name", default="key", help="A label for the key.")
@click.option("--tenant", help="Tenant id (default: the only tenant).")
@click.pass_context
def keys_create(ctx: click.Context, name: str, tenant: str | None) -> None:
    """Create an API key for a tenant and print it (once)."""

    async def work(rt: Runtime) -> tuple[str, str]:
        tenant_id = await _tenant(rt, tenant)
        info, raw = await rt.db.write(lambda c: keys.create_key(c, tenant_id, name))
        return info.id, raw

    key_id, raw = with_runtime(ctx, work)
    click.echo(f"key {key_id}\nAPI key (shown once): {raw}")


@keys_group.command("list")
@click.option("--tenant", help="Only this tenant's keys.")
@click.pass_context
def keys_list(ctx: click.Context, tenant: str | None) -> None:
    """List the API keys: id, tenant, name, first characters, when created and revoked."""

    async def work(rt: Runtime) -> list[keys.ApiKeyInfo]:
        return await rt.db.read(lambda c: keys.list_keys(c, tenant))

    rows = [
        {
            "id": k.id,
            "tenant": k.tenant_id,
            "name": k.name,
            "prefix": k.prefix + "…",
            "created": us_to_dt(k.created_at).strftime("%Y-%m-%d %H:%M"),
            "revoked": us_to_dt(k.revoked_at).strftime("%Y-%m-%d %H:%M") if k.revoked_at else "",
        }
        for k in with_runtime(ctx, work)
    ]
    echo_rows(rows, ["id", "tenant", "name", "prefix", "created", "revoked"])


@keys_group.command("revoke")
@click.argument("key_id")
@click.pass_context
def keys_revoke(ctx: click.Context, key_id: str) -> None:
    """Revoke the key KEY_ID (running servers refuse it within CALGATE_CACHE_SECONDS)."""

    async def work(rt: Runtime) -> bool:
        return await rt.db.write(lambda c: keys.revoke_key(c, key_id))

    if not with_runtime(ctx, work):
        fail(f"no live key {key_id!r}")
    click.echo(f"revoked {key_id}")


@main.group()
def accounts() -> None:
    """Accounts: calgate's own LOCAL store, or a connected CalDAV, iCloud, Google or Outlook."""


@accounts.command("list")
@click.option("--tenant", help="Only this tenant's accounts.")
@click.pass_context
def accounts_list(ctx: click.Context, tenant: str | None) -> None:
    """List the accounts: id, tenant, provider type, name, status."""

    async def work(rt: Runtime) -> list[account_store.AccountRecord]:
        return await rt.accounts.list(tenant, limit=10_000)

    rows = [
        {"id": a.id, "tenant": a.tenant_id, "type": a.type, "name": a.name, "status": a.status}
        for a in with_runtime(ctx, work)
    ]
    echo_rows(rows, ["id", "tenant", "type", "name", "status"])


@accounts.command("create-local")
@click.argument("name")
@click.option("--email", default="", help="Organizer address for invitations.")
@click.option("--timezone", default="UTC", help="Default calendar's time zone.")
@click.option("--tenant", help="Tenant id (default: the only tenant).")
@click.pass_context
def accounts_create_local(
    ctx: click.Context, name: str, email: str, timezone: str, tenant: str | None
) -> None:
    """Create a LOCAL account NAME (calgate's own store) with a default calendar."""

    async def work(rt: Runtime) -> str:
        tenant_id = await _tenant(rt, tenant)
        tz = zones.resolve(timezone, "timezone")
        return (await rt.accounts.create_local(tenant_id, name, email=email, timezone=tz)).id

    try:
        click.echo(f"account {with_runtime(ctx, work)}")
    except CalgateError as exc:
        fail(exc.detail)


@accounts.command("connect")
@click.argument("provider", type=click.Choice(["CALDAV", "ICLOUD", "GOOGLE_OAUTH", "OUTLOOK"]))
@click.option("--name", help="A label for the account.")
@click.option("--url", help="CalDAV server, principal or calendar URL (CALDAV).")
@click.option("--username", help="CalDAV / iCloud user name.")
@click.option("--email", help="Organizer address for invitations.")
@click.option(
    "--secret-stdin",
    is_flag=True,
    help="Read the password (CALDAV, ICLOUD) or refresh token (GOOGLE_OAUTH, OUTLOOK) from "
    "standard input instead of prompting.",
)
@click.option("--tenant", help="Tenant id (default: the only tenant).")
@click.pass_context
def accounts_connect(
    ctx: click.Context,
    provider: str,
    name: str | None,
    url: str | None,
    username: str | None,
    email: str | None,
    secret_stdin: bool,
    tenant: str | None,
) -> None:
    """Connect a provider account (credentials are checked, then sealed at rest)."""
    oauth = provider in ("GOOGLE_OAUTH", "OUTLOOK")
    body: dict[str, str] = {"provider": provider}
    for key, value in (("name", name), ("url", url), ("username", username), ("email", email)):
        if value:
            body[key] = value

    async def work(rt: Runtime) -> str:
        tenant_id = await _tenant(rt, tenant)  # before asking for the secret
        label = "refresh token" if oauth else "password"
        secret = (
            sys.stdin.readline().strip() if secret_stdin else click.prompt(label, hide_input=True)
        )
        body["refresh_token" if oauth else "password"] = secret
        return await rt.events.connect(tenant_id, body)

    try:
        click.echo(f"account {with_runtime(ctx, work)}")
    except CalgateError as exc:
        fail(f"{exc.error.type}: {exc.detail}")


@accounts.command("delete")
@click.argument("account_id")
@click.pass_context
def accounts_delete(ctx: click.Context, account_id: str) -> None:
    """Delete the account ACCOUNT_ID with its calendars and events (in calgate only)."""

    async def work(rt: Runtime) -> bool:
        def op(conn: Connection) -> bool:
            if account_store.get_account(conn, account_id, None) is None:
                return False
            account_store.delete_account(conn, account_id)
            return True

        return await rt.db.write(op)

    if not with_runtime(ctx, work):
        fail(f"no account {account_id!r}")
    click.echo(f"deleted {account_id}")


@main.group()
def calendars() -> None:
    """Calendars of an account."""


async def _account_tenant(rt: Runtime, account_id: str) -> str:
    record = await rt.db.read(lambda c: account_store.get_account(c, account_id, None))
    if record is None:
        fail(f"no account {account_id!r}")
        raise AssertionError
    return record.tenant_id


@calendars.command("list")
@click.argument("account_id")
@click.pass_context
def calendars_list(ctx: click.Context, account_id: str) -> None:
    """List the calendars of ACCOUNT_ID."""

    async def work(rt: Runtime) -> list[Calendar]:
        tenant_id = await _account_tenant(rt, account_id)
        return await rt.events.list_calendars(tenant_id, account_id)

    rows = [
        {
            "id": c.id,
            "name": c.name,
            "timezone": c.timezone,
            "default": "yes" if c.is_default else "",
        }
        for c in with_runtime(ctx, work)
    ]
    echo_rows(rows, ["id", "name", "timezone", "default"])


@calendars.command("create")
@click.argument("account_id")
@click.argument("name")
@click.option("--timezone", default="UTC", show_default=True, help="IANA time zone.")
@click.pass_context
def calendars_create(ctx: click.Context, account_id: str, name: str, timezone: str) -> None:
    """Create calendar NAME in the LOCAL account ACCOUNT_ID."""

    async def work(rt: Runtime) -> str:
        tenant_id = await _account_tenant(rt, account_id)
        tz = zones.resolve(timezone, "timezone")
        calendar = Calendar(id="", account_id=account_id, name=name, timezone=tz)
        return (await rt.events.create_calendar(tenant_id, account_id, calendar)).id

    try:
        click.echo(f"calendar {with_runtime(ctx, work)}")
    except CalgateError as exc:
        fail(exc.detail)


@calendars.command("delete")
@click.argument("account_id")
@click.argument("calendar_id")
@click.pass_context
def calendars_delete(ctx: click.Context, account_id: str, calendar_id: str) -> None:
    """Delete calendar CALENDAR_ID of the LOCAL account ACCOUNT_ID, with its events."""

    async def work(rt: Runtime) -> None:
        tenant_id = await _account_tenant(rt, account_id)
        await rt.events.delete_calendar(tenant_id, account_id, calendar_id)

    try:
        with_runtime(ctx, work)
    except CalgateError as exc:
        fail(exc.detail)
    click.echo(f"deleted {calendar_id}")


@main.command()
@click.pass_context
def migrate(ctx: click.Context) -> None:
    """Apply database migrations and exit."""

    async def work(rt: Runtime) -> None:
        return None

    with_runtime(ctx, work, create=True)
    click.echo("database is up to date")
