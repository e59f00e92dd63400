"""Free/busy and availability across accounts (docs/availability.md).

Registered before the ``/calendars/{calendar_id}`` routes. No calendar route takes POST on
``/calendars/{calendar_id}``, so these paths hide none of them; a 405 on them lists POST only
(:func:`calgate.api.errors._allowed_methods`: a fixed path is reserved).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import Field

from calgate import offload
from calgate.api.body import body_doc, json_body
from calgate.api.deps import CallerDep
from calgate.api.errors import COMMON_ERRORS, error_responses
from calgate.api.routes.events import CLIENT_GONE
from calgate.api.schemas import AccountId, Strict, Text
from calgate.domain import availability as av
from calgate.domain import freebusy as fb
from calgate.domain import zones
from calgate.domain.times import format_utc
from calgate.errors import InvalidParameters
from calgate.services.freebusy import Asked, Entry, Query, Wanted

router = APIRouter(prefix="/api/v1/calendars", tags=["Free/busy and availability"])
ERRORS = error_responses(*COMMON_ERRORS)
CalendarId = Annotated[str, Field(min_length=1, max_length=1024)]
CalendarIds = Annotated[list[CalendarId], Field(min_length=1, max_length=50)]
Minutes = Annotated[int, Field(ge=0, le=1440)]


class CalendarsIn(Strict):
    account_id: AccountId
    calendar_ids: CalendarIds | None = Field(None, description="Default: the primary calendar.")


class FreeBusyIn(Strict):
    start: Text = Field(examples=["2026-03-02T00:00:00Z"])
    end: Text = Field(examples=["2026-03-09T00:00:00Z"])
    calendars: list[CalendarsIn] = Field(min_length=1, max_length=50)


class HoursIn(Strict):
    start: Text = Field(examples=["09:00"])
    end: Text = Field(examples=["17:00"])


class WorkingHoursIn(Strict):
    time_zone: Text = Field(examples=["Europe/Paris"])
    days: dict[str, list[HoursIn]] = Field(
        description="Keys mon..sun; a day that is absent is not worked.",
        examples=[{"mon": [{"start": "09:00", "end": "17:00"}]}],
    )


class ParticipantIn(Strict):
    account_id: AccountId
    calendar_ids: CalendarIds | None = None
    working_hours: WorkingHoursIn | None = None
    optional: bool = False


class AvailabilityIn(Strict):
    start: Text
    end: Text
    duration_minutes: int = Field(ge=1, le=1440)
    interval_minutes: int | None = Field(
        None, ge=1, le=1440, description="Slot start granularity; default: duration_minutes."
    )
    participants: list[ParticipantIn] = Field(min_length=1)
    buffer_before_minutes: Minutes = 0
    buffer_after_minutes: Minutes = 0
    min_required: int | None = Field(
        None, description="Non-optional participants that must be free; default: all of them."
    )


def _instant(value: str, name: str) -> dt.datetime:
    """An instant with an offset or ``Z`` (a wall time without one would be a guess)."""
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise InvalidParameters(
            f"{name}: {value!r} is not an ISO 8601 date-time with an offset or Z "
            "(e.g. 2026-03-02T09:00:00Z)"
        )
    return parsed.astimezone(dt.UTC)


def _working_hours(given: WorkingHoursIn, field: str) -> av.WorkingHours:
    tz = zones.resolve(given.time_zone, f"{field}.time_zone")
    days: dict[int, tuple[tuple[int, int], ...]] = {}
    for name, spans in given.days.items():
        if name not in av.DAYS:
            raise InvalidParameters(
                f"{field}.days: {name!r} is not a day (use {', '.join(av.DAYS)})"
            )
        parsed = []
        for i, span in enumerate(spans):
            where = f"{field}.days.{name}[{i}]"
            first, last = av.parse_clock(span.start), av.parse_clock(span.end)
            if first is None or last is None:
                raise InvalidParameters(f"{where}: times are HH:MM from 00:00 to 24:00")
            if first >= last:
                raise InvalidParameters(f"{where}: end {span.end} must be after start {span.start}")
            parsed.append((first, last))
        days[av.DAYS.index(name)] = tuple(parsed)
    return av.WorkingHours(tz, days)


def _wanted(account_id: str, calendar_ids: list[str] | None) -> Wanted:
    return Wanted(account_id, tuple(dict.fromkeys(calendar_ids)) if calendar_ids else None)


def _error(entry: Entry) -> list[dict[str, Any]]:
    error = entry.calendar.error
    if error is None:
        return []
    return [
        {
            "status": error.status,
            "type": error.error.type,
            "title": error.error.title,
            "detail": error.detail,
        }
    ]


def _entry(entry: Entry) -> dict[str, Any]:
    return {
        "account_id": entry.account_id,
        "calendar_id": entry.calendar.calendar_id,
        "busy": [
            {
                "start": format_utc(fb.from_us(b.start)),
                "end": format_utc(fb.from_us(b.end)),
                "status": b.status,
            }
            for b in entry.calendar.busy
        ],
        "errors": _error(entry),
    }


@router.post(
    "/free_busy",
    summary="Free/busy of calendars across accounts",
    description="Busy intervals (merged, sorted, clipped to the window) of each calendar; an "
    "account or calendar that cannot be read gets an entry with `errors`.",
    response_model=None,
    responses=ERRORS,
    openapi_extra=body_doc(FreeBusyIn),
)
async def free_busy(
    request: Request, call: CallerDep, body: Annotated[FreeBusyIn, Depends(json_body(FreeBusyIn))]
) -> dict[str, Any] | Response:
    start, end = _instant(body.start, "start"), _instant(body.end, "end")
    wanted = [_wanted(c.account_id, c.calendar_ids) for c in body.calendars]
    asked = call.runtime.freebusy.free_busy(call.tenant, start, end, wanted)
    entries = await offload.until_disconnected(request, asked)
    if entries is None:
        return CLIENT_GONE
    return {"object": "FreeBusy", "data": [_entry(e) for e in entries]}


@router.post(
    "/availability",
    summary="Slots where enough participants are free",
    description="Slots of `duration_minutes` starting at `start` and every `interval_minutes`, "
    "inside each participant's working hours, clear of their busy time and buffers.",
    response_model=None,
    responses=ERRORS,
    openapi_extra=body_doc(AvailabilityIn),
)
async def availability(
    request: Request,
    call: CallerDep,
    body: Annotated[AvailabilityIn, Depends(json_body(AvailabilityIn))],
) -> dict[str, Any] | Response:
    query = Query(
        _instant(body.start, "start"),
        _instant(body.end, "end"),
        body.duration_minutes,
        body.interval_minutes or body.duration_minutes,
        body.buffer_before_minutes,
        body.buffer_after_minutes,
        body.min_required,
    )
    asked = [
        Asked(
            _wanted(p.account_id, p.calendar_ids),
            None
            if p.working_hours is None
            else _working_hours(p.working_hours, f"participants[{i}].working_hours"),
            p.optional,
        )
        for i, p in enumerate(body.participants)
    ]
    found = await offload.until_disconnected(
        request, call.runtime.freebusy.availability(call.tenant, query, asked)
    )
    if found is None:
        return CLIENT_GONE
    return {
        "object": "Availability",
        "slots": [
            {
                "start": format_utc(fb.from_us(s.start)),
                "end": format_utc(fb.from_us(s.end)),
                "free": list(s.free),
            }
            for s in found.slots
        ],
        "errors": [
            {"account_id": e.account_id, "calendar_id": e.calendar.calendar_id, **_error(e)[0]}
            for e in found.errors
        ],
    }
