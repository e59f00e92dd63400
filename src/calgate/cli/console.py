"""Operator keys: `calgate admin-keys create|list|revoke` (they sign in to /console)."""

from __future__ import annotations

import click

from calgate.cli.main import echo_rows, fail, main, with_runtime
from calgate.runtime import Runtime
from calgate.store import admin_keys
from calgate.store.codec import us_to_dt


@main.group("admin-keys")
def admin_keys_group() -> None:
    """Operator keys: they sign in to the web console (/console) and see every tenant.

    They are not API keys: no operator key calls the API, no API key opens the console."""


@admin_keys_group.command("create")
@click.option("--name", default="operator", help="A label for the key (who holds it).")
@click.pass_context
def admin_keys_create(ctx: click.Context, name: str) -> None:
    """Create an operator key and print it (once)."""

    async def work(rt: Runtime) -> tuple[str, str]:
        key, raw = await rt.db.write(lambda c: admin_keys.create(c, name))
        return key.id, raw

    key_id, raw = with_runtime(ctx, work, create=True)
    click.echo(f"operator key {key_id}\nconsole key (shown once): {raw}")


@admin_keys_group.command("list")
@click.pass_context
def admin_keys_list(ctx: click.Context) -> None:
    """List the operator keys: id, name, first characters, when created and revoked."""

    async def work(rt: Runtime) -> list[admin_keys.AdminKey]:
        return await rt.db.read(admin_keys.list_all)

    rows = [
        {
            "id": k.id,
            "name": k.name,
            "prefix": k.prefix + "…",
            "created": us_to_dt(k.created_at).strftime("%Y-%m-%d %H:%M"),
            "revoked": us_to_dt(k.revoked_at).strftime("%Y-%m-%d %H:%M") if k.revoked_at else "",
        }
        for k in with_runtime(ctx, work)
    ]
    echo_rows(rows, ["id", "name", "prefix", "created", "revoked"])


@admin_keys_group.command("revoke")
@click.argument("key_id")
@click.pass_context
def admin_keys_revoke(ctx: click.Context, key_id: str) -> None:
    """Revoke the operator key KEY_ID (its console sessions end at their next request)."""

    async def work(rt: Runtime) -> bool:
        return await rt.db.write(lambda c: admin_keys.revoke(c, key_id))

    if not with_runtime(ctx, work):
        fail(f"no live operator key {key_id!r}")
    click.echo(f"revoked {key_id}")
