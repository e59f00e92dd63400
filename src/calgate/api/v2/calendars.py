"""v2 calendars: `/v2/{account_id}/calendars` (list, create 201, get, patch, delete 204)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from calgate.api.body import body_doc, json_body
from calgate.api.deps import KnownQuery
from calgate.api.errors import COMMON_ERRORS, error_responses
from calgate.api.responses import JSONResponse
from calgate.api.routes.calendars import create_from, update_from
from calgate.api.schemas import CalendarCreate, CalendarPatch
from calgate.api.v2.deps import PathAccountDep
from calgate.api.v2.schemas import CalendarListV2, CalendarV2
from calgate.api.v2.wire import calendar_to_v2, whole
from calgate.api.wire import parse_limit, parse_offset
from calgate.domain import cursor as cursors

TAG = "v2 · Calendars"
router = APIRouter(prefix="/v2/{account_id}/calendars", tags=[TAG], dependencies=[KnownQuery])
ERRORS = error_responses(*COMMON_ERRORS, v2=True)


@router.get(
    "",
    summary="List calendars (v2)",
    response_model=None,
    responses={200: {"model": CalendarListV2}, **ERRORS},
)
async def list_calendars_v2(
    account: PathAccountDep,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
    offset: Annotated[str | None, Query(description="Calendars to skip; not with cursor.")] = None,
    limit: Annotated[str | None, Query(description="1..250, default 20")] = None,
) -> dict[str, Any]:
    call = account.with_body(None)
    size = parse_limit(whole(limit), default=20)
    start = parse_offset(whole(offset), cursor)
    if cursor:
        start, _ = cursors.decode(cursor)
    found = await call.runtime.events.list_calendars(call.tenant, call.account_id)
    more = start + size < len(found)
    return {
        "data": [calendar_to_v2(c) for c in found[start : start + size]],
        "next_cursor": cursors.encode(start + size, "c") if more else None,
        "total_count": len(found),
    }


@router.post(
    "",
    summary="Create a calendar (v2)",
    status_code=201,
    response_model=None,
    responses={201: {"model": CalendarV2}, **ERRORS},
    openapi_extra=body_doc(CalendarCreate),
)
async def create_calendar_v2(
    account: PathAccountDep,
    body: Annotated[CalendarCreate, Depends(json_body(CalendarCreate))],
) -> Response:
    created = await create_from(account.with_body(body.account_id), body)
    return JSONResponse(calendar_to_v2(created), status_code=201)


@router.get(
    "/{calendar_id}",
    summary="Get a calendar (v2)",
    response_model=None,
    responses={200: {"model": CalendarV2}, **ERRORS},
)
async def get_calendar_v2(account: PathAccountDep, calendar_id: str) -> dict[str, Any]:
    call = account.with_body(None)
    found = await call.runtime.events.get_calendar(call.tenant, call.account_id, calendar_id)
    return calendar_to_v2(found)


@router.patch(
    "/{calendar_id}",
    summary="Change a calendar (v2)",
    response_model=None,
    responses={200: {"model": CalendarV2}, **ERRORS},
    openapi_extra=body_doc(CalendarPatch),
)
async def patch_calendar_v2(
    account: PathAccountDep,
    calendar_id: str,
    body: Annotated[CalendarPatch, Depends(json_body(CalendarPatch))],
) -> dict[str, Any]:
    return calendar_to_v2(await update_from(account.with_body(body.account_id), calendar_id, body))


@router.delete(
    "/{calendar_id}",
    summary="Delete a calendar and its events (v2)",
    status_code=204,
    response_class=Response,
    responses={204: {"description": "Deleted"}, **ERRORS},
)
async def delete_calendar_v2(account: PathAccountDep, calendar_id: str) -> Response:
    call = account.with_body(None)
    await call.runtime.events.delete_calendar(call.tenant, call.account_id, calendar_id)
    return Response(status_code=204)
