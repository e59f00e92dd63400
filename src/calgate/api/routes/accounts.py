"""Accounts (Unipile v1 shapes): list, get, connect, delete."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from calgate.api.deps import CallerDep, KnownQuery
from calgate.api.errors import COMMON_ERRORS, error_responses
from calgate.api.responses import JSONResponse
from calgate.api.schemas import AccountCreate
from calgate.api.wire import parse_limit, parse_offset
from calgate.domain import cursor as cursors
from calgate.domain.times import format_utc
from calgate.push import status as push_status
from calgate.store import mirror
from calgate.store import push as push_store
from calgate.store.accounts import AccountRecord
from calgate.store.codec import us_to_dt
from calgate.store.db import now_us
from calgate.sync.status import state_to_wire

router = APIRouter(prefix="/api/v1/accounts", tags=["Accounts"], dependencies=[KnownQuery])
ERRORS = error_responses(*COMMON_ERRORS)


def account_to_wire(a: AccountRecord) -> dict[str, Any]:
    public = {k: v for k, v in a.params.items() if not k.startswith("_")}
    return {
        "object": "Account",
        "type": a.type,
        "id": a.id,
        "name": a.name,
        "created_at": format_utc(us_to_dt(a.created_at)),
        "sources": [{"id": f"{a.id}_CALENDAR", "status": a.status}],
        "connection_params": {"calendar": {"email": a.email, **public}},
    }


@router.get("", summary="List accounts", response_model=None, responses=ERRORS)
async def list_accounts(
    call: CallerDep,
    cursor: str | None = Query(None, max_length=120),
    offset: str | None = Query(None, description="Accounts to skip; not with `cursor`."),
    limit: str | None = Query(None, description="1..250, default 100"),
) -> dict[str, Any]:
    size = parse_limit(limit)
    skip = parse_offset(offset, cursor)
    after = cursors.decode_id(cursor) if cursor else None
    found = await call.runtime.accounts.list(call.tenant, after=after, offset=skip, limit=size + 1)
    return {
        "object": "AccountList",
        "items": [account_to_wire(a) for a in found[:size]],
        "cursor": cursors.encode_id(found[size - 1].id) if len(found) > size else None,
    }


@router.get("/{account_id}", summary="Get an account", response_model=None, responses=ERRORS)
async def get_account(call: CallerDep, account_id: str) -> dict[str, Any]:
    wire = account_to_wire(await call.runtime.accounts.record(call.tenant, account_id))
    if call.runtime.sync_feeds.get(wire["type"]) is not None:
        # Provider sync: the state of each calendar (docs/sync.md).
        states = await call.runtime.db.read(lambda c: mirror.calendar_states(c, account_id))
        channels = await call.runtime.db.read(lambda c: push_store.of_account(c, account_id))
        now = now_us()
        push = push_status.by_calendar(channels)  # Google and Outlook push (docs/push.md)
        wire["sync"] = {
            "calendars": [
                {
                    **state_to_wire(s, now),
                    "push": push_status.channel_to_wire(push.get((account_id, s.calendar_id)), now),
                }
                for s in states
            ]
        }
    return wire


@router.post(
    "",
    summary="Connect an account",
    description='`{"provider":"LOCAL","name":"Team calendar"}` creates an account in '
    "calgate's own store with one default calendar.",
    status_code=201,
    response_model=None,
    responses=ERRORS,
)
async def create_account(call: CallerDep, body: AccountCreate) -> JSONResponse:
    account_id = await call.runtime.events.connect(call.tenant, body.model_dump(exclude_none=True))
    return JSONResponse({"object": "AccountCreated", "account_id": account_id}, status_code=201)


@router.get(
    "/{account_id}/capabilities",
    summary="What the account's provider supports",
    response_model=None,
    responses=ERRORS,
)
async def get_capabilities(call: CallerDep, account_id: str) -> dict[str, Any]:
    caps = await call.runtime.events.capabilities(call.tenant, account_id)
    # Where free/busy comes from (docs/availability.md).
    record = await call.runtime.accounts.record(call.tenant, account_id)
    origin = call.runtime.freebusy.origin(record.type)
    return {
        "object": "AccountCapabilities",
        "account_id": account_id,
        **caps.to_wire(),
        "free_busy": None if origin is None else origin.to_wire(),
    }


@router.delete("/{account_id}", summary="Delete an account", response_model=None, responses=ERRORS)
async def delete_account(call: CallerDep, account_id: str) -> dict[str, Any]:
    await call.runtime.accounts.delete(call.tenant, account_id)
    return {"object": "AccountDeleted"}
