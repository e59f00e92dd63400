"""``calendar.freebusy.query`` (``POST /calendar/v3/freeBusy``) of the Google test server.

As the discovery document describes it: a ``FreeBusyRequest`` (``timeMin``, ``timeMax``,
``items[{id}]``, at most 50 calendars by ``calendarExpansionMax``) answered with a
``FreeBusyResponse``: per calendar id, merged ``busy`` periods inside the window, or
``errors[{domain, reason}]`` (``notFound``). Cancelled and transparent events and events the
user declined are free; all-day events are busy from midnight to midnight in the calendar's zone.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tests.fakes import common
from tests.fakes import google as g


def _blocks(event: dict[str, Any], email: str) -> bool:
    if event.get("status") == "cancelled" or event.get("transparency") == "transparent":
        return False
    for attendee in event.get("attendees") or ():
        mine = attendee.get("self") or attendee.get("email", "").lower() == email.lower()
        if mine and attendee.get("responseStatus") == "declined":
            return False
    return True


def _busy(
    state: g.GoogleState, calendar: dict[str, Any], after: datetime, before: datetime
) -> list[dict[str, str]]:
    spans = []
    for event in g._single_events(state, calendar, after, before):
        if _blocks(event, state.email):
            start = max(g._moment(event["start"], calendar), after)
            end = min(g._moment(event["end"], calendar), before)
            if start < end:
                spans.append((start, end))
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return [{"start": g._rfc3339(s), "end": g._rfc3339(e)} for s, e in merged]


def query_route(state: g.GoogleState) -> Any:
    async def query(request: Request) -> Response:
        if not state.oauth.valid(request.headers.get("authorization")):
            raise g.GoogleError(401, "Invalid Credentials", "authError")
        g._query(request, "calendar.freebusy.query")
        try:
            body = json.loads(await request.body() or b"null")
        except json.JSONDecodeError as exc:
            raise g.GoogleError(400, "Parse Error", "parseError") from exc
        body = g.check_event(body, "FreeBusyRequest")
        try:
            after = common.parse_rfc3339(body["timeMin"])
            before = common.parse_rfc3339(body["timeMax"])
        except (KeyError, ValueError) as exc:
            raise g.GoogleError(400, "Bad Request", "badRequest") from exc
        if before <= after:
            raise g.GoogleError(400, "The specified time range is empty.", "timeRangeEmpty")
        items = body.get("items") or []
        if len(items) > 50:
            raise g.GoogleError(400, "Too many calendars requested", "tooManyCalendarsRequested")
        calendars: dict[str, Any] = {}
        for item in items:
            calendar_id = item.get("id", "")
            try:
                calendar = state.calendar(calendar_id)
            except g.GoogleError:
                calendars[calendar_id] = {
                    "busy": [],
                    "errors": [{"domain": "global", "reason": "notFound"}],
                }
                continue
            calendars[calendar_id] = {"busy": _busy(state, calendar, after, before)}
        return JSONResponse(
            {
                "kind": "calendar#freeBusy",
                "timeMin": body["timeMin"],
                "timeMax": body["timeMax"],
                "calendars": calendars,
            }
        )

    return query
