"""``calendar: getSchedule`` (``POST /v1.0/me/calendar/getSchedule``) of the Graph test server.

As msgraph-sdk's models describe it: the body holds ``schedules`` (SMTP addresses),
``startTime`` / ``endTime`` (``dateTimeTimeZone``) and ``availabilityViewInterval`` (5..1440
minutes; Graph reads the property names case-insensitively, the SDK writes them in
PascalCase); the answer's ``value`` has one ``scheduleInformation`` per address:
``scheduleId``, ``availabilityView`` (one digit per interval: 0 free, 1 tentative, 2 busy, 3 oof,
4 working elsewhere), ``scheduleItems`` (``status``, ``start``, ``end`` in UTC unless a
``Prefer: outlook.timezone`` says otherwise) or ``error`` (``message``, ``responseCode``) for an
address this mailbox cannot see. The mailbox's default calendar is the one read; cancelled
events, events shown as free and events the user declined are left out.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tests.fakes import graph as gr

_DIGITS = {"free": "0", "tentative": "1", "busy": "2", "oof": "3", "workingElsewhere": "4"}


def _items(state: gr.GraphState, after: datetime, before: datetime) -> list[dict[str, Any]]:
    found = []
    for event in state.stored(state.default_calendar):
        hits = [event]
        if event.get("recurrence"):
            hits = state.occurrences(event, after, before)
        for hit in hits:
            start, end = gr._moment(hit["start"]), gr._moment(hit["end"])
            if not (start < before and end > after) or hit.get("isCancelled"):
                continue
            status = hit.get("showAs") or "busy"
            answer = (hit.get("responseStatus") or {}).get("response")
            if status == "free" or answer == "declined":
                continue
            found.append({"status": status, "start": start, "end": end, "hit": hit})
    return sorted(found, key=lambda i: i["start"])


def endpoint(
    state: gr.GraphState, begin: Callable[[Request], tuple[dict[str, Any], str | None]]
) -> Callable[[Request], Any]:
    async def get_schedule(request: Request) -> Response:
        _, zone_name = begin(request)
        try:
            raw = json.loads(await request.body() or b"null")
        except json.JSONDecodeError as exc:
            raise gr.GraphError(400, "BadRequest", "The request body is not valid JSON.") from exc
        if not isinstance(raw, dict):
            raise gr.GraphError(400, "BadRequest", "The request body must be a JSON object.")
        body = {k.lower(): v for k, v in raw.items()}
        unknown = set(body) - {"schedules", "starttime", "endtime", "availabilityviewinterval"}
        if unknown:
            raise gr.GraphError(400, "RequestBodyRead", f"Unknown property {sorted(unknown)[0]}")
        try:
            after = gr._moment(body["starttime"]).astimezone(UTC)
            before = gr._moment(body["endtime"]).astimezone(UTC)
        except (KeyError, TypeError) as exc:
            raise gr.GraphError(400, "ErrorInvalidParameter", "StartTime and EndTime") from exc
        interval = int(body.get("availabilityviewinterval") or 30)
        if not 5 <= interval <= 1440:
            raise gr.GraphError(400, "ErrorInvalidParameter", "AvailabilityViewInterval")
        if before <= after or before - after > timedelta(days=62):
            raise gr.GraphError(400, "ErrorInvalidTimeInterval", "The time interval is invalid.")
        schedules = body.get("schedules")
        if not isinstance(schedules, list) or not schedules or len(schedules) > 20:
            raise gr.GraphError(400, "ErrorInvalidParameter", "Schedules")
        zone = gr.graph_zone(zone_name) if zone_name else UTC
        shown_zone = zone_name or "UTC"
        value = []
        for address in schedules:
            if str(address).lower() != state.user["mail"].lower():
                error = {
                    "message": "The user is outside your organization.",
                    "responseCode": "ErrorMailRecipientNotFound",
                }
                value.append({"scheduleId": address, "error": error})
                continue
            items = _items(state, after, before)
            view = []
            at = after
            while at < before:
                nxt = at + timedelta(minutes=interval)
                here = [i["status"] for i in items if i["start"] < nxt and i["end"] > at]
                rank = max((int(_DIGITS.get(s, "2")) for s in here), default=0)
                view.append(str(rank))
                at = nxt
            value.append(
                {
                    "scheduleId": address,
                    "availabilityView": "".join(view),
                    "scheduleItems": [
                        {
                            "isPrivate": False,
                            "status": i["status"],
                            "subject": i["hit"].get("subject", ""),
                            "location": (i["hit"].get("location") or {}).get("displayName", ""),
                            "start": {
                                "dateTime": gr._shown(i["start"].astimezone(zone)),
                                "timeZone": shown_zone,
                            },
                            "end": {
                                "dateTime": gr._shown(i["end"].astimezone(zone)),
                                "timeZone": shown_zone,
                            },
                        }
                        for i in items
                    ],
                }
            )
        context = "$metadata#Collection(microsoft.graph.scheduleInformation)"
        answer = {"@odata.context": f"{request.base_url}v1.0/{context}", "value": value}
        return JSONResponse(answer)

    return get_schedule
