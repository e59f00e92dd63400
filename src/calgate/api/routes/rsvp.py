"""Answering an invitation as the connected account (Unipile v2's RSVP semantics: 204)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from fastapi.responses import Response as HttpResponse
from pydantic import Field

from calgate.api.body import body_doc, json_body
from calgate.api.deps import AccountDep
from calgate.api.errors import COMMON_ERRORS, error_responses
from calgate.api.schemas import Strict, Text
from calgate.domain.rsvp import MAX_COMMENT, Response
from calgate.domain.times import format_utc
from calgate.errors import InvalidParameters
from calgate.store import replies
from calgate.store.codec import us_to_dt

router = APIRouter(prefix="/api/v1/calendars/{calendar_id}/events", tags=["Calendar events"])


class Rsvp(Strict):
    """The account's answer: `yes`, `maybe` or `no`, with an optional comment for the
    organizer."""

    status: Literal["yes", "maybe", "no"] = Field(examples=["yes"])
    comment: Annotated[Text, Field(max_length=MAX_COMMENT)] = ""
    account_id: Text | None = Field(None, description="If given, the query's account_id.")


@router.post(
    "/{event_id}/rsvp",
    summary="Answer an invitation",
    description="Answer the invitation `event_id` as the connected account (an occurrence id "
    "answers that occurrence only). Google: the account's attendee `responseStatus`; Outlook: "
    "accept / tentativelyAccept / decline; CalDAV with scheduling: the account's PARTSTAT; "
    "LOCAL and CalDAV without: the PARTSTAT and an iMIP REPLY mailed to the organizer. "
    "Answers **204**; 400 when the account does not attend the event or organises it.",
    status_code=204,
    response_class=HttpResponse,
    responses={204: {"description": "Answered"}, **error_responses(*COMMON_ERRORS)},
    openapi_extra=body_doc(Rsvp),
)
async def rsvp(
    call: AccountDep,
    calendar_id: str,
    event_id: str,
    body: Annotated[Rsvp, Depends(json_body(Rsvp))],
) -> HttpResponse:
    if body.account_id is not None and body.account_id != call.account_id:
        raise InvalidParameters(
            f"account_id: the body says {body.account_id!r}, the query string {call.account_id!r}"
        )
    response = Response(body.status, body.comment.strip())
    await call.runtime.events.respond(call.tenant, call.account_id, calendar_id, event_id, response)
    return HttpResponse(status_code=204)


@router.get(
    "/{event_id}/proposals",
    summary="Counter proposals of an event",
    description="New times attendees proposed by mail (iMIP COUNTER) for an event whose "
    "invitations calgate sent; recorded, never applied: the organizer decides (PATCH the "
    "event). Oldest first.",
    response_model=None,
    responses=error_responses(*COMMON_ERRORS),
)
async def list_proposals(call: AccountDep, calendar_id: str, event_id: str) -> dict[str, Any]:
    rt = call.runtime
    await rt.events.get(call.tenant, call.account_id, calendar_id, event_id)  # 404 if unknown
    found = await rt.db.read(lambda c: replies.proposals(c, call.account_id, [event_id]))
    items = [
        {
            "object": "EventProposal",
            **{k: v for k, v in p.items() if k != "received_at"},
            "received_at": format_utc(us_to_dt(p["received_at"])),
        }
        for p in found
    ]
    return {"object": "EventProposalList", "items": items}
