"""``calendarView/delta`` on the Graph test server, as "Get incremental changes to events in a
calendar view" and the ``event: delta`` reference (v1.0) describe it, and changes made "from
outside" (as the user would in Outlook).

- The first request gives the window (``startDateTime``, ``endDateTime``; 400 without them);
  the answer lists the calendar view (single instances, occurrences and exceptions of series;
  no series masters), ``Prefer: odata.maxpagesize`` per page, ``@odata.nextLink`` (a
  ``$skiptoken``) to the next page and ``@odata.deltaLink`` (a ``$deltatoken``) on the last.
- A ``$deltatoken`` request answers what changed in that window since: added and updated
  events whole, deleted ones as ``{"id", "@removed": {"reason": "deleted"}}``. The window is
  in the token: the parameters are not given again.
- A token the server no longer holds (:func:`expire_delta_tokens`) answers ``410 Gone``
  (``SyncStateNotFound``): the client starts a new round with a full synchronization.
"""

from __future__ import annotations

import copy
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from weakref import WeakKeyDictionary

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tests.fakes.graph import GraphError, GraphState, _moment


@dataclass
class _Round:
    rows: list[dict[str, Any]]
    snapshot: dict[str, str]  # event id -> @odata.etag, at the end of the round
    window: tuple[datetime, datetime]
    calendar_id: str


@dataclass
class _Tokens:
    rounds: dict[str, _Round]  # $skiptoken -> the round being paged
    states: dict[str, _Round]  # $deltatoken -> the state it stands for


_tokens: WeakKeyDictionary[GraphState, _Tokens] = WeakKeyDictionary()


def _of(state: GraphState) -> _Tokens:
    return _tokens.setdefault(state, _Tokens({}, {}))


def view(
    state: GraphState, calendar_id: str, after: datetime, before: datetime
) -> list[dict[str, Any]]:
    """The calendar view: single events and the occurrences of series in the window."""
    hits: list[dict[str, Any]] = []
    for event in state.stored(calendar_id):
        if event.get("recurrence"):
            hits += state.occurrences(event, after, before)
            continue
        start, end = _moment(event["start"]), _moment(event["end"])
        if start < before and (end > after or (start == end and start >= after)):
            hits.append(event)
    return sorted(hits, key=lambda e: _moment(e["start"]))


def expire_delta_tokens(state: GraphState) -> None:
    """Every delta token issued so far answers 410 from now on."""
    _of(state).states.clear()


Render = Callable[[Request, list[dict[str, Any]], str | None], list[Any]]
Begin = Callable[[Request], tuple[dict[str, Any], str | None]]
Window = Callable[[Request], tuple[datetime, datetime]]


def endpoint(
    state: GraphState, begin: Begin, window: Window, shown: Render
) -> Callable[[Request], Awaitable[Response]]:
    """The ``GET …/calendarView/delta`` route of the test server."""

    async def delta(request: Request) -> Response:
        calendar, zone_name = begin(request)
        tokens, query = _of(state), request.query_params
        skip, token = query.get("$skiptoken"), query.get("$deltatoken")
        if skip is not None:
            round_ = tokens.rounds.get(skip.partition(":")[0])
            offset = int(skip.partition(":")[2] or 0)
            if round_ is None:
                raise GraphError(400, "BadRequest", "The skip token is not valid.")
        else:
            if token is not None:
                before = tokens.states.get(token)
                if before is None or before.calendar_id != calendar["id"]:
                    raise GraphError(
                        410,
                        "SyncStateNotFound",
                        "The sync state is not found. A full synchronization is required.",
                    )
                span = before.window
            else:
                span, before = window(request), None
            current = view(state, calendar["id"], *span)
            snapshot = {e["id"]: str(e["@odata.etag"]) for e in current}
            rows = [
                *shown(
                    request,
                    [
                        e
                        for e in current
                        if before is None or before.snapshot.get(e["id"]) != snapshot[e["id"]]
                    ],
                    zone_name,
                ),
                *(
                    {
                        "@odata.type": "#microsoft.graph.event",
                        "id": gone,
                        "@removed": {"reason": "deleted"},
                    }
                    for gone in (before.snapshot if before else {})
                    if gone not in snapshot
                ),
            ]
            round_id = secrets.token_urlsafe(9)
            round_ = _Round(rows, snapshot, span, calendar["id"])
            tokens.rounds[round_id] = round_
            skip, offset = round_id, 0
        size = _page_size(request)
        page = round_.rows[offset : offset + size]
        base = str(request.url.remove_query_params(["$skiptoken", "$deltatoken"]))
        base = base.split("?")[0]
        answer: dict[str, Any] = {
            "@odata.context": f"{request.base_url}v1.0/$metadata#Collection(event)",
            "value": copy.deepcopy(page),
        }
        if offset + size < len(round_.rows):
            answer["@odata.nextLink"] = (
                f"{base}?$skiptoken={skip.partition(':')[0]}:{offset + size}"
            )
        else:
            tokens.rounds.pop(skip.partition(":")[0], None)
            new = secrets.token_urlsafe(12)
            tokens.states[new] = round_
            answer["@odata.deltaLink"] = f"{base}?$deltatoken={new}"
        return JSONResponse(answer)

    return delta


def _page_size(request: Request) -> int:
    for header in request.headers.getlist("prefer"):
        for part in header.split(","):
            name, _, value = part.strip().partition("=")
            if name.strip().lower() == "odata.maxpagesize" and value.strip().isdigit():
                return max(1, int(value.strip()))
    return 100


# Changes "from outside" -----------------------------------------------------------------------


def user_creates(state: GraphState, calendar_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """The user makes an event in Outlook."""
    calendar = state.calendar(calendar_id)
    event = {"id": state.new_id(), **copy.deepcopy(body)}
    state.finish(event)
    state.events[event["id"]] = event
    state.calendar_of[event["id"]] = calendar["id"]
    return copy.deepcopy(event)


def user_changes(state: GraphState, event_id: str, changes: dict[str, Any]) -> dict[str, Any]:
    """The user edits an event, a series, or one occurrence (which becomes an exception)."""
    old = state.find(event_id)
    event = copy.deepcopy(old) | copy.deepcopy(changes)
    if old["type"] == "occurrence":
        event["type"] = "exception"
    state.finish(event)
    if event["type"] == "exception":
        state.overrides[event["id"]] = event
    else:
        state.events[event["id"]] = event
    return copy.deepcopy(event)


def user_deletes(state: GraphState, event_id: str) -> None:
    """The user deletes an event, a series, or one occurrence."""
    event = state.find(event_id)
    if event["type"] in ("occurrence", "exception"):
        state.overrides[event["id"]] = None
        return
    del state.events[event["id"]], state.calendar_of[event["id"]]
    for key in [k for k in state.overrides if k.startswith(event["id"] + "_")]:
        del state.overrides[key]
