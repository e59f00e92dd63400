"""First start: an API key, a tenant and a LOCAL account with its default calendar."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Connection

from calgate.runtime import Runtime
from calgate.store import accounts as account_store
from calgate.store import keys


@dataclass(frozen=True, slots=True)
class FirstStart:
    api_key: str
    key_from_settings: bool
    tenant_id: str
    account_id: str
    calendar_id: str


async def bootstrap(runtime: Runtime) -> FirstStart | None:
    """Create the first key and account on an empty database; None when already set up."""
    given = runtime.settings.api_key.get_secret_value() if runtime.settings.api_key else None

    def op(conn: Connection) -> FirstStart | None:
        if keys.count_keys(conn):
            return None
        tenant_id = keys.create_tenant(conn, "default")
        _, raw = keys.create_key(conn, tenant_id, "first key", given)
        account = account_store.create_account(conn, tenant_id, "LOCAL", "My calendar")
        calendar = account_store.create_calendar(conn, account.id, "My calendar", is_default=True)
        return FirstStart(raw, given is not None, tenant_id, account.id, calendar.id)

    return await runtime.db.write(op)


def _key(start: FirstStart) -> str:
    return "$CALGATE_API_KEY" if start.key_from_settings else start.api_key


def shell_variables(start: FirstStart) -> str:
    """``export KEY=… ACC=… CAL=…``: the variables the README's examples use."""
    key = f'"{_key(start)}"' if start.key_from_settings else f"'{_key(start)}'"
    return f"export KEY={key} ACC='{start.account_id}' CAL='{start.calendar_id}'"


def first_request(base_url: str, start: FirstStart) -> str:
    """A ready-to-paste curl that creates an event (Unipile's "Create an event" request)."""
    key = _key(start)
    return (
        f"curl --request POST \\\n"
        f"     --url '{base_url}/api/v1/calendars/{start.calendar_id}/events"
        f"?account_id={start.account_id}' \\\n"
        f"     --header 'X-API-KEY: {key}' \\\n"
        f"     --header 'accept: application/json' \\\n"
        f"     --header 'content-type: application/json' \\\n"
        f'     --data \'{{"title":"First event","start":{{"date_time":"2026-01-20T14:30:00",'
        f'"time_zone":"Europe/Paris"}},"end":{{"date_time":"2026-01-20T15:30:00",'
        f'"time_zone":"Europe/Paris"}}}}\''
    )
