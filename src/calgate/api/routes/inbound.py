"""Inbound mail by webhook: a mail service POSTs the raw RFC 5322 message an attendee sent
(an iMIP REPLY or COUNTER) and calgate applies it to the tenant's events."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from calgate.api.deps import CallerDep
from calgate.api.errors import COMMON_ERRORS, error_responses
from calgate.errors import InvalidParameters, UnsupportedMediaType

router = APIRouter(prefix="/api/v1/inbound", tags=["Inbound mail"])
MEDIA = ("message/rfc822", "text/plain", "application/octet-stream")


@router.post(
    "/mail",
    summary="Receive an attendee's mailed answer",
    description="The body is one raw RFC 5322 message (`message/rfc822`, `text/plain` or "
    "`application/octet-stream`) holding an iMIP REPLY or COUNTER for an event whose "
    "invitations calgate sent (LOCAL, CalDAV without scheduling). A REPLY whose UID, SEQUENCE, "
    "ATTENDEE and From match sets that attendee's `response_status` (a "
    "`calendar_event_updated` webhook follows); a COUNTER is recorded as a proposal "
    "(`GET …/events/{event_id}/proposals`). Answers **202** with what was done, or **400** "
    "with the reason the message was dropped.",
    status_code=202,
    response_model=None,
    responses={
        202: {"description": "Applied (REPLY) or recorded (COUNTER)"},
        **error_responses(*COMMON_ERRORS),
        **error_responses(415, also=("errors/unsupported_media_type",)),
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {m: {"schema": {"type": "string"}} for m in MEDIA},
        }
    },
)
async def inbound_mail(request: Request, caller: CallerDep) -> JSONResponse:
    media = (request.headers.get("content-type") or "").split(";", 1)[0].strip().lower()
    if media not in MEDIA:
        raise UnsupportedMediaType(
            f"content-type: {media or '(none)'} is not accepted; send the raw message as "
            "message/rfc822"
        )
    raw = await request.body()
    if not raw.strip():
        raise InvalidParameters("body: empty; send the raw RFC 5322 message")
    outcome = await caller.runtime.inbound.receive(raw, caller.tenant)
    if not outcome.accepted:
        raise InvalidParameters(f"message dropped: {outcome.reason}")
    body: dict[str, Any] = {
        "object": "InboundMailAccepted",
        "method": outcome.method,
        **outcome.details,
    }
    return JSONResponse(body, status_code=202)
