"""Calendars: list and get (Unipile v1); create, change and delete on every provider."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from calgate.api.body import body_doc, json_body, optional_json_body
from calgate.api.deps import AccountCaller, AccountDep, KnownQuery, QueryAccountDep
from calgate.api.errors import COMMON_ERRORS, error_responses
from calgate.api.responses import JSONResponse
from calgate.api.schemas import (
    AccountBody,
    CalendarCreate,
    CalendarList,
    CalendarOut,
    CalendarPatch,
)
from calgate.api.wire import calendar_to_wire, parse_limit, parse_offset
from calgate.domain import cursor as cursors
from calgate.domain import zones
from calgate.domain.model import Calendar
from calgate.errors import InvalidParameters

router = APIRouter(prefix="/api/v1/calendars", tags=["Calendars"], dependencies=[KnownQuery])


@router.get(
    "",
    summary="List calendars",
    response_model=None,
    responses={200: {"model": CalendarList}, **error_responses(*COMMON_ERRORS)},
)
async def list_calendars(
    call: AccountDep,
    cursor: str | None = Query(None),
    offset: str | None = Query(None, description="Calendars to skip; not with `cursor`."),
    limit: str | None = Query(None, description="1..250, default 100"),
) -> dict[str, Any]:
    size = parse_limit(limit)
    start = parse_offset(offset, cursor)
    calendars = await call.runtime.events.list_calendars(call.tenant, call.account_id)
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


def _calendar_values(body: CalendarCreate | CalendarPatch) -> dict[str, Any]:
    """The fields ``body`` sets, by the API's names (``color`` is ``background_color``)."""
    given = body.model_fields_set - {"account_id", "color"}
    values: dict[str, Any] = {name: getattr(body, name) for name in given}
    if "color" in body.model_fields_set:
        if body.background_color is not None and body.color != body.background_color:
            raise InvalidParameters("color: differs from background_color (give one of them)")
        values["background_color"] = body.color
    for name, value in values.items():
        if value is None:
            raise InvalidParameters(f"{name}: cannot be null")
    if "timezone" in values:
        values["timezone"] = zones.resolve(values["timezone"], "timezone")
    if "background_color" in values:
        values["background_color"] = values["background_color"].upper()
    return values


async def create_from(call: AccountCaller, body: CalendarCreate) -> Calendar:
    """Create the calendar ``body`` describes (v1 and v2 take the same body)."""
    values = _calendar_values(body)
    calendar = Calendar(
        id="",
        account_id=call.account_id,
        name=body.name,
        description=values.get("description", ""),
        timezone=values.get("timezone", "UTC"),
        background_color=values.get("background_color", "#1A73E8"),
    )
    return await call.runtime.events.create_calendar(call.tenant, call.account_id, calendar, values)


async def update_from(call: AccountCaller, calendar_id: str, body: CalendarPatch) -> Calendar:
    """Change the calendar as ``body`` says (v1 and v2 take the same body)."""
    values = _calendar_values(body)
    if not values:
        raise InvalidParameters("body: give at least one field to change")
    return await call.runtime.events.update_calendar(
        call.tenant, call.account_id, calendar_id, values
    )


@router.post(
    "",
    summary="Create a calendar",
    description="Creates a calendar in the account (every provider; the account's "
    "capabilities list the fields it holds in `calendar_fields`).",
    status_code=201,
    response_model=None,
    responses=error_responses(*COMMON_ERRORS),
    openapi_extra=body_doc(CalendarCreate),
)
async def create_calendar(
    query: QueryAccountDep,
    body: Annotated[CalendarCreate, Depends(json_body(CalendarCreate))],
) -> JSONResponse:
    created = await create_from(query.with_body(body.account_id), body)
    return JSONResponse({"object": "CalendarCreated", "calendar_id": created.id}, status_code=201)


@router.patch(
    "/{calendar_id}",
    summary="Change a calendar",
    description="Renames or recolours a calendar: any of `name`, `description`, "
    "`background_color`, `timezone`. Calendars the account does not own answer 403.",
    response_model=None,
    responses={200: {"model": CalendarOut}, **error_responses(*COMMON_ERRORS)},
    openapi_extra=body_doc(CalendarPatch),
)
async def patch_calendar(
    query: QueryAccountDep,
    calendar_id: str,
    body: Annotated[CalendarPatch, Depends(json_body(CalendarPatch))],
) -> dict[str, Any]:
    return calendar_to_wire(await update_from(query.with_body(body.account_id), calendar_id, body))


@router.delete(
    "/{calendar_id}",
    summary="Delete a calendar and its events",
    description="Not the account's primary calendar (400); calendars the account does not "
    "own answer 403.",
    response_model=None,
    responses=error_responses(*COMMON_ERRORS),
    openapi_extra=body_doc(AccountBody, required=False),
)
async def delete_calendar(
    query: QueryAccountDep,
    calendar_id: str,
    body: Annotated[AccountBody | None, Depends(optional_json_body(AccountBody))],
) -> dict[str, Any]:
    call = query.with_body(body.account_id if body else None)
    await call.runtime.events.delete_calendar(call.tenant, call.account_id, calendar_id)
    return {"object": "CalendarDeleted"}
