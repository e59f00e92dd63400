"""Calendars: list and get (Unipile v1), create and delete for LOCAL accounts."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from calgate.api.deps import AccountDep
from calgate.api.errors import COMMON_ERRORS, error_responses
from calgate.api.responses import JSONResponse
from calgate.api.schemas import CalendarCreate, CalendarList, CalendarOut
from calgate.api.wire import calendar_to_wire, parse_limit
from calgate.domain import cursor as cursors
from calgate.domain import zones
from calgate.domain.model import Calendar

router = APIRouter(prefix="/api/v1/calendars", tags=["Calendars"])


@router.get(
    "",
    summary="List calendars",
    response_model=None,
    responses={200: {"model": CalendarList}, **error_responses(*COMMON_ERRORS)},
)
async def list_calendars(
    call: AccountDep,
    cursor: str | None = Query(None),
    limit: str | None = Query(None, description="1..250, default 100"),
) -> dict[str, Any]:
    size = parse_limit(limit)
    calendars = await call.runtime.events.list_calendars(call.tenant, call.account_id)
    start = 0
    if cursor:
        start, _ = cursors.decode(cursor)
    page = calendars[start : start + size]
    more = start + size < len(calendars)
    return {
        "object": "CalendarList",
        "data": [calendar_to_wire(c) for c in page],
        "next_cursor": cursors.encode(start + size, "c") if more else None,
    }


@router.get(
    "/{calendar_id}",
    summary="Get a calendar",
    response_model=None,
    responses={200: {"model": CalendarOut}, **error_responses(*COMMON_ERRORS)},
)
async def get_calendar(call: AccountDep, calendar_id: str) -> dict[str, Any]:
    return calendar_to_wire(
        await call.runtime.events.get_calendar(call.tenant, call.account_id, calendar_id)
    )


@router.post(
    "",
    summary="Create a calendar (LOCAL accounts)",
    status_code=201,
    response_model=None,
    responses=error_responses(*COMMON_ERRORS),
)
async def create_calendar(call: AccountDep, body: CalendarCreate) -> JSONResponse:
    tz = zones.resolve(body.timezone, "timezone") if body.timezone else "UTC"
    created = await call.runtime.events.create_calendar(
        call.tenant,
        call.account_id,
        Calendar(
            id="",
            account_id=call.account_id,
            name=body.name,
            description=body.description or "",
            timezone=tz,
            background_color=(body.color or "#1A73E8").upper(),
        ),
    )
    return JSONResponse({"object": "CalendarCreated", "calendar_id": created.id}, status_code=201)


@router.delete(
    "/{calendar_id}",
    summary="Delete a calendar and its events (LOCAL accounts)",
    response_model=None,
    responses=error_responses(*COMMON_ERRORS),
)
async def delete_calendar(call: AccountDep, calendar_id: str) -> dict[str, Any]:
    await call.runtime.events.delete_calendar(call.tenant, call.account_id, calendar_id)
    return {"object": "CalendarDeleted"}
