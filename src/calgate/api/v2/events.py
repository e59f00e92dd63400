"""v2 events: `/v2/{account_id}/calendars/{calendar_id}/events` — create answers 201 with the
whole event, delete 204; the same services as v1."""

from __future__ import annotations

from typing import Annotated, Literal

import orjson
from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import Response
from pydantic import Field

from calgate import offload
from calgate.api.body import body_doc, json_body, optional_json_body
from calgate.api.deps import KnownQuery
from calgate.api.errors import COMMON_ERRORS, error_responses
from calgate.api.event_json import ENCODED_APART, encoded_apart
from calgate.api.responses import JSONResponse
from calgate.api.routes.events import _if_match
from calgate.api.schemas import Strict, Text
from calgate.api.v2.deps import PathAccountDep
from calgate.api.v2.schemas import (
    CalendarEventListV2,
    CalendarEventV2,
    EventCreateV2,
    EventPatchV2,
)
from calgate.api.v2.wire import create_from_v2, event_to_v2, list_params, patch_from_v2
from calgate.api.wire import (
    changes_from_patch,
    check_echoes,
    event_query,
    fields_from_create,
)
from calgate.domain.rsvp import MAX_COMMENT
from calgate.domain.rsvp import Response as Answer
from calgate.errors import FeatureNotImplemented

TAG = "v2 · Calendar events"
router = APIRouter(
    prefix="/v2/{account_id}/calendars/{calendar_id}/events",
    tags=[TAG],
    dependencies=[KnownQuery],
)
ERRORS = error_responses(*COMMON_ERRORS, v2=True)
Filter = Annotated[str | None, Query(max_length=1024)]


@router.post(
    "",
    summary="Create an event (v2)",
    description="Answers **201** with the whole event.",
    status_code=201,
    response_model=None,
    responses={201: {"model": CalendarEventV2}, **ERRORS},
    openapi_extra=body_doc(EventCreateV2),
)
async def create_event_v2(
    account: PathAccountDep,
    calendar_id: str,
    body: Annotated[EventCreateV2, Depends(json_body(EventCreateV2))],
) -> Response:
    call = account.with_body(body.account_id)
    v1 = create_from_v2(body)
    check_echoes(v1, calendar_id)
    rt, tenant, account_id = call.runtime, call.tenant, call.account_id
    made = await rt.events.create(tenant, account_id, calendar_id, fields_from_create(v1))
    event = await rt.events.get(tenant, account_id, calendar_id, made.id)
    return JSONResponse(event_to_v2(event), status_code=201)


@router.get(
    "",
    summary="List events (v2)",
    description="Events overlapping `start`..`end`, ordered by start; `limit` defaults to 20.",
    response_model=None,
    responses={200: {"model": CalendarEventListV2}, **ERRORS},
)
async def list_events_v2(
    request: Request,
    account: PathAccountDep,
    calendar_id: str,
    start: Filter = None,
    end: Filter = None,
    expand_recurring: Filter = None,
    updated_after: Filter = None,
    updated_before: Filter = None,
    busy: Filter = None,
    title: Filter = None,
    description: Filter = None,
    location: Filter = None,
    ical_uid: Annotated[str | None, Query(max_length=255)] = None,
    attendees: Annotated[str | None, Query(description="Comma-separated e-mails.")] = None,
    event_type: Annotated[str | None, Query(max_length=200)] = None,
    is_cancelled: Annotated[
        str | None, Query(description="true (default): cancelled events too; false: not them.")
    ] = None,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
    offset: Annotated[str | None, Query(description="0..10000; not with cursor.")] = None,
    limit: Annotated[str | None, Query(description="1..250, default 20.")] = None,
) -> Response:
    # The query parameters by name (each one declared above, for the OpenAPI document).
    params = {k: v for k, v in locals().items() if k not in ("request", "account", "calendar_id")}
    query = event_query(list_params(params), default_limit=20)
    call = account.with_body(None)
    listing = call.runtime.events.list(
        call.tenant, call.account_id, calendar_id, query, event_to_v2
    )
    page = await offload.until_disconnected(request, listing)
    if page is None:
        return Response(status_code=499)
    parts = page.encoded
    if parts is None and query.expand_recurring and len(page.items) >= ENCODED_APART:
        parts = await encoded_apart(page.items, event_to_v2, call.tenant)
    if parts is not None:
        following = orjson.dumps(page.next_cursor)  # as JSONResponse would encode it below
        body = (
            b'{"data":[',
            b",".join(parts),
            b'],"next_cursor":',
            following,
            b',"total_count":null}',
        )
        return Response(b"".join(body), media_type="application/json")
    return JSONResponse(
        {
            "data": [event_to_v2(e) for e in page.items],
            "next_cursor": page.next_cursor,
            "total_count": None,  # providers page without telling the total
        }
    )


@router.get(
    "/{event_id}",
    summary="Get an event (v2)",
    response_model=None,
    responses={200: {"model": CalendarEventV2}, **ERRORS},
)
async def get_event_v2(account: PathAccountDep, calendar_id: str, event_id: str) -> Response:
    call = account.with_body(None)
    event = await call.runtime.events.get(call.tenant, call.account_id, calendar_id, event_id)
    return JSONResponse(event_to_v2(event))


@router.patch(
    "/{event_id}",
    summary="Edit an event (v2)",
    description="Partial update; answers the whole event. `notify`: `all` or `none`. "
    "`If-Match: <version>` (the event's `version`) makes it conditional (409 if stale), as in v1.",
    response_model=None,
    responses={
        200: {"model": CalendarEventV2},
        409: {"description": "Stale version"},
        **ERRORS,
    },
    openapi_extra=body_doc(EventPatchV2),
)
async def patch_event_v2(
    account: PathAccountDep,
    calendar_id: str,
    event_id: str,
    body: Annotated[EventPatchV2, Depends(json_body(EventPatchV2))],
    if_match: Annotated[str | None, Header(alias="If-Match")] = None,
) -> Response:
    call = account.with_body(body.account_id)
    v1 = patch_from_v2(body)
    check_echoes(v1, calendar_id)
    changes = changes_from_patch(v1)
    version = _if_match(if_match)
    if version is not None:
        changes["_version"] = version
    rt, tenant, account_id = call.runtime, call.tenant, call.account_id
    await rt.events.update(tenant, account_id, calendar_id, event_id, changes)
    return JSONResponse(event_to_v2(await rt.events.get(tenant, account_id, calendar_id, event_id)))


@router.delete(
    "/{event_id}",
    summary="Delete an event (v2)",
    status_code=204,
    response_class=Response,
    responses={204: {"description": "Deleted"}, **ERRORS},
)
async def delete_event_v2(account: PathAccountDep, calendar_id: str, event_id: str) -> Response:
    call = account.with_body(None)
    await call.runtime.events.delete(call.tenant, call.account_id, calendar_id, event_id)
    return Response(status_code=204)


class RsvpV2(Strict):
    """The account's answer to an invitation."""

    status: Literal["yes", "maybe", "no"] = Field(examples=["yes"])
    comment: Annotated[Text, Field(max_length=MAX_COMMENT)] = ""


@router.post(
    "/{event_id}/rsvp",
    summary="Answer an invitation (v2)",
    description="As v1's RSVP (the same service): answers **204**.",
    status_code=204,
    response_class=Response,
    responses={204: {"description": "Answered"}, **ERRORS},
    openapi_extra=body_doc(RsvpV2),
)
async def rsvp_v2(
    account: PathAccountDep,
    calendar_id: str,
    event_id: str,
    body: Annotated[RsvpV2, Depends(json_body(RsvpV2))],
) -> Response:
    call = account.with_body(None)
    answer = Answer(body.status, body.comment.strip())
    await call.runtime.events.respond(call.tenant, call.account_id, calendar_id, event_id, answer)
    return Response(status_code=204)


class CancelV2(Strict):
    """Cancel a meeting: its attendees are told as when it is deleted."""

    message: Annotated[Text, Field(max_length=MAX_COMMENT)] | None = Field(
        None, description="A note to the attendees (501: no provider carries one yet)."
    )


@router.post(
    "/{event_id}/cancel",
    summary="Cancel an event (v2)",
    description="The organizer's cancellation: the event is removed and its attendees get the "
    "cancellation (as DELETE). Answers **204**; afterwards the event is not found.",
    status_code=204,
    response_class=Response,
    responses={204: {"description": "Cancelled"}, **ERRORS},
    openapi_extra=body_doc(CancelV2, required=False),
)
async def cancel_event_v2(
    account: PathAccountDep,
    calendar_id: str,
    event_id: str,
    body: Annotated[CancelV2 | None, Depends(optional_json_body(CancelV2))],
) -> Response:
    call = account.with_body(None)
    if body is not None and body.message:
        kind = (await call.runtime.accounts.record(call.tenant, call.account_id)).type
        raise FeatureNotImplemented(
            f"message: {kind} cancellations cannot carry a message through calgate; "
            "cancel without one"
        )
    await call.runtime.events.delete(call.tenant, call.account_id, calendar_id, event_id)
    return Response(status_code=204)


@router.post(
    "/{event_id}/restore",
    summary="Restore a cancelled event (v2)",
    description="No provider lets calgate bring a cancelled event back: **501** naming the "
    "account's provider (404 for an unknown account).",
    status_code=204,
    response_class=Response,
    responses={204: {"description": "Restored"}, **ERRORS},
)
async def restore_event_v2(account: PathAccountDep, calendar_id: str, event_id: str) -> Response:
    call = account.with_body(None)
    kind = (await call.runtime.accounts.record(call.tenant, call.account_id)).type
    raise FeatureNotImplemented(
        f"restore: {kind} accounts cannot restore a cancelled event through calgate "
        f"({calendar_id}/{event_id}); create it again"
    )
