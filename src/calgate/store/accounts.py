"""Accounts and their calendars (calendars are stored for LOCAL accounts and as a cache of ids)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.engine import Connection

from calgate.domain.model import Calendar
from calgate.store import tables as t
from calgate.store.db import now_us
from calgate.store.ids import new_id


@dataclass(frozen=True, slots=True)
class AccountRecord:
    id: str
    tenant_id: str
    type: str
    name: str
    email: str
    status: str
    params: dict[str, Any]
    secrets: str
    created_at: int
    updated_at: int


def account_from_row(row: Any) -> AccountRecord:
    return AccountRecord(
        row.id,
        row.tenant_id,
        row.type,
        row.name,
        row.email,
        row.status,
        orjson.loads(row.params),
        row.secrets,
        row.created_at,
        row.updated_at,
    )


def create_account(
    conn: Connection,
    tenant_id: str,
    type_: str,
    name: str,
    *,
    email: str = "",
    params: dict[str, Any] | None = None,
    secrets: str = "",
    status: str = "OK",
    account_id: str | None = None,
) -> AccountRecord:
    now = now_us()
    record = AccountRecord(
        account_id or new_id(),
        tenant_id,
        type_,
        name,
        email,
        status,
        params or {},
        secrets,
        now,
        now,
    )
    conn.execute(
        insert(t.accounts).values(
            id=record.id,
            tenant_id=tenant_id,
            type=type_,
            name=name,
            email=email,
            status=status,
            params=orjson.dumps(record.params).decode(),
            secrets=secrets,
            created_at=now,
            updated_at=now,
        )
    )
    return record


def get_account(conn: Connection, account_id: str, tenant_id: str | None) -> AccountRecord | None:
    if tenant_id is None:
        row = conn.execute(_BY_ID, {"b_id": account_id}).first()
    else:
        row = conn.execute(_BY_ID_IN_TENANT, {"b_id": account_id, "b_tenant": tenant_id}).first()
    return account_from_row(row) if row else None


# Built once (bound parameters): building the statement cost more than running it.
_BY_ID = select(t.accounts).where(t.accounts.c.id == bindparam("b_id"))
_BY_ID_IN_TENANT = _BY_ID.where(t.accounts.c.tenant_id == bindparam("b_tenant"))


def list_accounts(
    conn: Connection,
    tenant_id: str | None,
    *,
    after: str | None = None,
    offset: int = 0,
    limit: int = 100,
) -> list[AccountRecord]:
    query = select(t.accounts).order_by(t.accounts.c.id).offset(offset).limit(limit)
    if tenant_id is not None:
        query = query.where(t.accounts.c.tenant_id == tenant_id)
    if after:
        query = query.where(t.accounts.c.id > after)
    return [account_from_row(r) for r in conn.execute(query)]


def set_status(conn: Connection, account_id: str, status: str) -> None:
    conn.execute(
        update(t.accounts)
        .where(t.accounts.c.id == account_id)
        .values(status=status, updated_at=now_us())
    )


def update_account(conn: Connection, account_id: str, **values: Any) -> None:
    if "params" in values:
        values["params"] = orjson.dumps(values["params"]).decode()
    conn.execute(
        update(t.accounts)
        .where(t.accounts.c.id == account_id)
        .values(updated_at=now_us(), **values)
    )


def delete_account(conn: Connection, account_id: str) -> None:
    calendar_ids = select(t.calendars.c.id).where(t.calendars.c.account_id == account_id)
    conn.execute(delete(t.events).where(t.events.c.calendar_id.in_(calendar_ids)))
    conn.execute(delete(t.calendars).where(t.calendars.c.account_id == account_id))
    conn.execute(delete(t.accounts).where(t.accounts.c.id == account_id))


def _calendar(row: Any) -> Calendar:
    return Calendar(
        id=row.id,
        account_id=row.account_id,
        name=row.name,
        description=row.description,
        is_default=row.is_default,
        is_primary=row.is_default,
        background_color=row.color,
        timezone=row.timezone,
        version=str(row.version),
    )


def create_calendar(
    conn: Connection,
    account_id: str,
    name: str,
    *,
    description: str = "",
    timezone: str = "UTC",
    color: str = "#1A73E8",
    is_default: bool = False,
    calendar_id: str | None = None,
) -> Calendar:
    calendar_id = calendar_id or new_id()
    conn.execute(
        insert(t.calendars).values(
            id=calendar_id,
            account_id=account_id,
            name=name,
            description=description,
            timezone=timezone,
            color=color,
            is_default=is_default,
            version=1,
            created_at=now_us(),
        )
    )
    return Calendar(
        id=calendar_id,
        account_id=account_id,
        name=name,
        description=description,
        is_default=is_default,
        is_primary=is_default,
        background_color=color,
        timezone=timezone,
    )


def get_calendar(conn: Connection, account_id: str, calendar_id: str) -> Calendar | None:
    row = (
        conn.execute(
            select(t.calendars).where(
                t.calendars.c.id == calendar_id, t.calendars.c.account_id == account_id
            )
        )
    ).first()
    return _calendar(row) if row else None


def list_calendars(conn: Connection, account_id: str) -> list[Calendar]:
    rows = conn.execute(
        select(t.calendars)
        .where(t.calendars.c.account_id == account_id)
        .order_by(t.calendars.c.is_default.desc(), t.calendars.c.created_at, t.calendars.c.id)
    )
    return [_calendar(r) for r in rows]


def update_calendar(conn: Connection, calendar_id: str, **values: Any) -> None:
    conn.execute(
        update(t.calendars)
        .where(t.calendars.c.id == calendar_id)
        .values(version=t.calendars.c.version + 1, **values)
    )


def delete_calendar(conn: Connection, calendar_id: str) -> None:
    conn.execute(delete(t.events).where(t.events.c.calendar_id == calendar_id))
    conn.execute(delete(t.calendars).where(t.calendars.c.id == calendar_id))


def calendar_feed_token(conn: Connection, calendar_id: str) -> str | None:
    row = (
        conn.execute(select(t.calendars.c.feed_token).where(t.calendars.c.id == calendar_id))
    ).first()
    return row.feed_token if row else None


def set_feed_token(conn: Connection, calendar_id: str, token: str | None) -> None:
    conn.execute(
        update(t.calendars).where(t.calendars.c.id == calendar_id).values(feed_token=token)
    )


def calendar_by_feed_token(conn: Connection, token: str) -> Calendar | None:
    row = (conn.execute(select(t.calendars).where(t.calendars.c.feed_token == token))).first()
    return _calendar(row) if row else None
