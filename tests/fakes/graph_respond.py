"""Graph's answers to a meeting request: ``POST …/events/{id}/accept``, ``tentativelyAccept``
and ``decline`` with ``{"comment", "sendResponse"}`` (202, no body). The organizer of an event
cannot answer it; the answer is the event's ``responseStatus`` and the user's attendee entry.
An occurrence answered alone becomes an exception of its series."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tests.fakes.graph import GraphError, GraphState

RESPONSES = {
    "accept": "accepted",
    "tentativelyAccept": "tentativelyAccepted",
    "decline": "declined",
}
# What each action was sent, for tests: (action, event id, body).
Answer = tuple[str, str, dict[str, Any]]


def endpoint(
    state: GraphState,
    begin: Callable[[Request], Any],
    locate: Callable[[Request], dict[str, Any]],
    answers: list[Answer],
) -> Callable[[Request], Any]:
    async def respond(request: Request) -> Response:
        begin(request)
        action = request.path_params["action"]
        if action not in RESPONSES:
            raise GraphError(400, "BadRequest", f"Resource not found for the segment '{action}'.")
        try:
            body = json.loads(await request.body() or b"{}")
        except json.JSONDecodeError as exc:
            raise GraphError(400, "BadRequest", "The request body is not valid JSON.") from exc
        if not isinstance(body, dict) or set(body) - {"comment", "sendResponse"}:
            raise GraphError(400, "BadRequest", "The request body holds an unknown property.")
        if not isinstance(body.get("comment", ""), str) or not isinstance(
            body.get("sendResponse", True), bool
        ):
            raise GraphError(400, "BadRequest", "comment is a String, sendResponse a Boolean.")
        event = locate(request)
        if event.get("isOrganizer", True):
            message = (
                "Your request can't be completed. You can't respond to a meeting you organized."
            )
            raise GraphError(400, "ErrorInvalidRequest", message)
        now = f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%S.%fZ}"
        status = {"response": RESPONSES[action], "time": now}
        changed = dict(event, responseStatus=status)
        for attendee in changed.get("attendees") or []:
            if attendee["emailAddress"]["address"].lower() == state.user["mail"].lower():
                attendee["status"] = status
        if changed.get("type") == "occurrence":
            changed["type"] = "exception"
        state.finish(changed)
        if changed.get("type") == "exception":
            state.overrides[changed["id"]] = changed
        else:
            state.events[changed["id"]] = changed
        answers.append((action, changed["id"], body))
        return Response(status_code=202)

    return respond
