"""iCalendar: export and import a calendar as ``.ics``, and its secret subscription feed."""

from __future__ import annotations

from email import policy
from email.parser import BytesParser
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response

from calgate.api.deps import AccountDep
from calgate.api.errors import COMMON_ERRORS, error_responses
from calgate.errors import InvalidParameters
from calgate.runtime import Runtime
from calgate.services.ics import IcsService

router = APIRouter(tags=["iCalendar"])
ERRORS = error_responses(*COMMON_ERRORS)
ICS = "text/calendar; charset=utf-8"
RAW_TYPES = frozenset(
    {"text/calendar", "application/ics", "text/plain", "application/octet-stream"}
)

_ICS_CONTENT = {ICS: {"schema": {"type": "string"}}}
_IMPORT_BODY = {
    "required": True,
    "description": "The `.ics` file: the raw text (`Content-Type: text/calendar`), or a "
    "multipart form upload with the file in a field named `file`.",
    "content": {
        "text/calendar": {"schema": {"type": "string"}},
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
                "required": ["file"],
            }
        },
    },
}
_IMPORTED = {
    "type": "object",
    "properties": {
        "object": {"type": "string", "enum": ["CalendarImported"]},
        "created": {"type": "integer"},
        "updated": {"type": "integer"},
        "unchanged": {"type": "integer"},
    },
}
_FEED = {
    "type": "object",
    "properties": {
        "object": {"type": "string", "enum": ["CalendarFeed"]},
        "url": {"type": "string"},
    },
}


def _service(request: Request) -> IcsService:
    runtime: Runtime = request.app.state.runtime
    return IcsService.of(runtime)


def _from_multipart(content_type: str, data: bytes) -> bytes:
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = BytesParser(policy=policy.HTTP).parsebytes(head + data)
    if message.is_multipart():
        parts = list(message.iter_parts())
        named = [p for p in parts if p.get_param("name", header="content-disposition") == "file"]
        for part in named or [p for p in parts if p.get_filename()]:
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                return payload
    raise InvalidParameters("file: the multipart form has no field named 'file' with the .ics file")


async def _ics_body(request: Request) -> bytes:
    content_type = request.headers.get("content-type", "")
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind != "multipart/form-data" and kind not in RAW_TYPES:
        raise InvalidParameters(
            f"Content-Type: {kind or 'none'} is not accepted; send the .ics file as "
            "text/calendar, or as multipart/form-data with a field named 'file'"
        )
    data = await request.body()
    if kind == "multipart/form-data":
        data = _from_multipart(content_type, data)
    if not data.strip():
        raise InvalidParameters("body: empty; send an .ics file (BEGIN:VCALENDAR … END:VCALENDAR)")
    return data


def _attachment(name: str) -> str:
    safe = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_ .") else "_" for ch in name)
    safe = safe.strip() or "calendar"
    return f"attachment; filename=\"{safe}.ics\"; filename*=UTF-8''{quote(name or 'calendar')}.ics"


@router.get(
    "/api/v1/calendars/{calendar_id}/ics",
    summary="Export a calendar as .ics",
    description="The calendar's events as one RFC 5545 text, with a VTIMEZONE for each zone "
    "they use; series come with their modified occurrences (RECURRENCE-ID) and EXDATEs. "
    "Calendars kept by calgate (LOCAL accounts) only; other accounts answer 501.",
    response_class=Response,
    responses={200: {"content": _ICS_CONTENT}, **ERRORS},
)
async def export_calendar(call: AccountDep, calendar_id: str, request: Request) -> Response:
    calendar, body = await _service(request).export(call.tenant, call.account_id, calendar_id)
    return Response(
        body, media_type=ICS, headers={"Content-Disposition": _attachment(calendar.name)}
    )


@router.post(
    "/api/v1/calendars/{calendar_id}/ics",
    summary="Import an .ics file into a calendar",
    description="Creates or updates the file's events, keyed by UID and RECURRENCE-ID: UIDs are "
    "kept, importing the same file again changes nothing, events missing from the file stay. "
    "A bad file is a 400 naming the VEVENT and the property, and imports nothing. The body "
    "size limit (`CALGATE_MAX_BODY_BYTES`) applies; at most 100,000 VEVENTs per file.",
    response_model=None,
    openapi_extra={"requestBody": _IMPORT_BODY},
    responses={
        200: {"content": {"application/json": {"schema": _IMPORTED}}},
        409: {"description": "The same UIDs were written concurrently: retry"},
        **ERRORS,
    },
)
async def import_calendar(call: AccountDep, calendar_id: str, request: Request) -> dict[str, Any]:
    service = _service(request)
    await service.account(call.tenant, call.account_id)  # 401/404/501 before reading the body
    data = await _ics_body(request)
    report = await service.import_ics(call.tenant, call.account_id, calendar_id, data)
    return report.to_wire()


@router.post(
    "/api/v1/calendars/{calendar_id}/feed",
    summary="Create or rotate the calendar's secret feed URL",
    description="A new unguessable URL that calendar apps can subscribe to without an API key "
    "(`GET /feeds/{token}.ics`). The URL is shown only now (calgate keeps a hash of it); "
    "calling again gives a new URL and the previous one stops working.",
    response_model=None,
    responses={200: {"content": {"application/json": {"schema": _FEED}}}, **ERRORS},
)
async def create_feed(call: AccountDep, calendar_id: str, request: Request) -> dict[str, Any]:
    token = await _service(request).create_feed(call.tenant, call.account_id, calendar_id)
    base = call.runtime.settings.base_url
    return {"object": "CalendarFeed", "url": f"{base}/feeds/{token}.ics"}


@router.delete(
    "/api/v1/calendars/{calendar_id}/feed",
    summary="Revoke the calendar's secret feed URL",
    description="The feed URL stops working at once (404). Revoking twice is fine.",
    response_model=None,
    responses=ERRORS,
)
async def delete_feed(call: AccountDep, calendar_id: str, request: Request) -> dict[str, Any]:
    await _service(request).delete_feed(call.tenant, call.account_id, calendar_id)
    return {"object": "CalendarFeedDeleted"}


@router.get(
    "/feeds/{token}.ics",
    summary="A calendar's secret feed (no API key)",
    description="The calendar as `.ics`, for calendar apps that subscribe to a URL. The token "
    "is the secret: unknown or revoked tokens answer 404. Sends an `ETag`; a matching "
    "`If-None-Match` answers 304.",
    response_class=Response,
    responses={200: {"content": _ICS_CONTENT}, 304: {"description": "Not modified"}, **ERRORS},
)
async def feed(token: str, request: Request) -> Response:
    seen = request.headers.get("if-none-match", "")
    etag, body = await _service(request).feed(token, seen)
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    if body is None:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=ICS, headers=headers)
