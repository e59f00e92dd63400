"""Calendar events: the founding document's create route and its companions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import Response

from calgate import offload
from calgate.api.body import body_doc, json_body, optional_json_body
from calgate.api.deps import (
    AccountCaller,
    AccountDep,
    KnownQuery,
    QueryAccount,
    QueryAccountDep,
)
from calgate.api.errors import COMMON_ERRORS, error_responses
from calgate.api.event_json import ENCODED_APART, encoded_apart, event_json, list_of
from calgate.api.responses import JSONResponse
from calgate.api.schemas import (
    AccountBody,
    CalendarEventOut,
    EventCreate,
    EventCreated,
    EventDeleted,
    EventList,
    EventPatch,
    EventUpdated,
)
from calgate.api.wire import (
    changes_from_patch,
    check_echoes,
    event_query,
    event_to_wire,
    fields_from_create,
)
from calgate.errors import InvalidParameters

router = APIRouter(
    prefix="/api/v1/calendars/{calendar_id}/events",
    tags=["Calendar events"],
    dependencies=[KnownQuery],
)
ERRORS = error_responses(*COMMON_ERRORS)
CLIENT_GONE = Response(status_code=499)
"""What a read whose client went away "answers" (nobody reads it; logs show 499, as nginx)."""
JSON = "application/json"


@router.post(
    "",
    summary="Create an event",
    description="Create a calendar event. Answers **200** with the new event's id.",
    response_model=None,
    responses={200: {"model": EventCreated}, **ERRORS},
    openapi_extra=body_doc(EventCreate),
)
async def create_event(
    query: QueryAccountDep,
    calendar_id: str,
    body: Annotated[EventCreate, Depends(json_body(EventCreate))],
) -> Response:
    return await answer_create(query, calendar_id, body)


@router.get(
    "",
    summary="List events",
    description="Events of a calendar, ordered by start. `start`/`end` select events that "
    "overlap the window; `expand_recurring=true` returns each occurrence of a series.",
    response_model=None,
    responses={200: {"model": EventList}, **ERRORS},
)
async def list_events(
    request: Request,
    call: AccountDep,
    calendar_id: str,
    start: Annotated[str | None, Query(description="Events ending after this instant.")] = None,
    end: Annotated[str | None, Query(description="Events starting before this instant.")] = None,
    expand_recurring: Annotated[
        str | None, Query(description="true: one item per occurrence.")
    ] = None,
    updated_after: str | None = None,
    updated_before: str | None = None,
    busy: Annotated[str | None, Query(description="true: opaque events only.")] = None,
    title: Annotated[str | None, Query(max_length=1024)] = None,
    location: Annotated[str | None, Query(max_length=1024)] = None,
    description: Annotated[str | None, Query(max_length=1024)] = None,
    ical_uid: Annotated[str | None, Query(max_length=255)] = None,
    attendees: Annotated[
        str | None, Query(description="Comma-separated e-mails: events with any of them.")
    ] = None,
    is_cancelled: str | None = None,
    event_type: Annotated[
        str | None,
        Query(
            max_length=200,
            description="Comma-separated: default, outOfOffice, focusTime, workingLocation, "
            "birthday, fromGmail (as the provider reports them; LOCAL and CalDAV: default).",
        ),
    ] = None,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
    offset: Annotated[
        str | None, Query(description="Items to skip (0..10000); not with `cursor`.")
    ] = None,
    limit: Annotated[str | None, Query(description="1..250, default 100.")] = None,
) -> Response:
    # The query parameters by name (each one declared above, for the OpenAPI document).
    params = {k: v for k, v in locals().items() if k not in ("request", "call", "calendar_id")}
    return await answer_list(request, call, calendar_id, params)


@router.get(
    "/{event_id}",
    summary="Get an event",
    response_model=None,
    responses={200: {"model": CalendarEventOut}, **ERRORS},
)
async def get_event(
    request: Request, call: AccountDep, calendar_id: str, event_id: str
) -> Response:
    return await answer_get(request, call, calendar_id, event_id)


# The three routes' own work, once their parameters are checked: FastAPI's routes above and
# calgate.api.fastpath (which answers them before FastAPI's routing) both answer with these.


async def answer_create(query: QueryAccount, calendar_id: str, body: EventCreate) -> Response:
    call = query.with_body(body.account_id)
    check_echoes(body, calendar_id)
    fields = fields_from_create(body)
    event = await call.runtime.events.create(call.tenant, call.account_id, calendar_id, fields)
    return JSONResponse({"object": "CalendarEventCreated", "event_id": event.id})


async def answer_list(
    request: Request, call: AccountCaller, calendar_id: str, params: dict[str, str | None]
) -> Response:
    """``params``: the list's query parameters by name (``account_id`` aside), None if absent."""
    query = event_query(params)
    listing = call.runtime.events.list(
        call.tenant, call.account_id, calendar_id, query, event_to_wire
    )
    page = await offload.until_disconnected(request, listing)
    if page is None:
        return CLIENT_GONE
    if page.encoded is not None:
        return Response(list_of(page.encoded, page.next_cursor), media_type=JSON)
    if query.expand_recurring and len(page.items) >= ENCODED_APART:
        parts = await encoded_apart(page.items, event_to_wire, call.tenant)
        return Response(list_of(parts, page.next_cursor), media_type=JSON)
    return Response(event_json.listed(page.items, page.next_cursor), media_type=JSON)


async def answer_get(
    request: Request, call: AccountCaller, calendar_id: str, event_id: str
) -> Response:
    reading = call.runtime.events.get(call.tenant, call.account_id, calendar_id, event_id)
    event = await offload.until_disconnected(request, reading)
    return CLIENT_GONE if event is None else Response(event_json(event), media_type=JSON)


def _if_match(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value.strip().strip('"').removeprefix("W/").strip('"'))
    except ValueError:
        raise InvalidParameters("If-Match: expected the event's version number") from None


@router.patch(
    "/{event_id}",
    summary="Edit an event",
    description="Partial update. An occurrence id (`{master}_{recurrence id}`) edits that "
    "occurrence only. `If-Match: <version>` makes the update conditional (409 if stale).",
    response_model=None,
    responses={200: {"model": EventUpdated}, 409: {"description": "Stale version"}, **ERRORS},
    openapi_extra=body_doc(EventPatch),
)
async def patch_event(
    query: QueryAccountDep,
    calendar_id: str,
    event_id: str,
    body: Annotated[EventPatch, Depends(json_body(EventPatch))],
    if_match: Annotated[str | None, Header(alias="If-Match")] = None,
) -> dict[str, Any]:
    call = query.with_body(body.account_id)
    check_echoes(body, calendar_id)
    changes = changes_from_patch(body)
    version = _if_match(if_match)
    if version is not None:
        changes["_version"] = version
    await call.runtime.events.update(call.tenant, call.account_id, calendar_id, event_id, changes)
    return {"object": "CalendarEventUpdated"}


@router.delete(
    "/{event_id}",
    summary="Delete an event",
    description="Deletes the event (a series with its occurrences). An occurrence id deletes "
    "that occurrence only (an EXDATE is added to the series).",
    response_model=None,
    responses={200: {"model": EventDeleted}, **ERRORS},
    openapi_extra=body_doc(AccountBody, required=False),
)
async def delete_event(
    query: QueryAccountDep,
    calendar_id: str,
    event_id: str,
    body: Annotated[AccountBody | None, Depends(optional_json_body(AccountBody))],
) -> dict[str, Any]:
    call = query.with_body(body.account_id if body else None)
    await call.runtime.events.delete(call.tenant, call.account_id, calendar_id, event_id)
    return {"object": "CalendarEventDeleted"}
