"""Invitations from someone else, as Google and Exchange put them into an invitee's calendar
(the organizer's server sent them): the test servers' user attends, another address organises."""

from __future__ import annotations

import copy
import uuid
from typing import Any

from tests.fakes.google import GoogleState, _finish
from tests.fakes.graph import GraphState


def google_invite(
    state: GoogleState, event: dict[str, Any], organizer: str, calendar_id: str = "primary"
) -> dict[str, Any]:
    """Store ``event`` (a Google event body with ``attendees``) organised by ``organizer``."""
    calendar = state.calendar(calendar_id)
    stored = {"id": uuid.uuid4().hex, **copy.deepcopy(event)}
    stored |= {"organizer": {"email": organizer}, "creator": {"email": organizer}}
    _finish(state, stored, calendar)
    state.events[calendar["id"]][stored["id"]] = stored
    return stored


def graph_invite(state: GraphState, event: dict[str, Any], organizer: str) -> dict[str, Any]:
    """Store ``event`` (a Graph event body with ``attendees``) organised by ``organizer`` in
    the default calendar; the user's own answer is ``responseStatus`` (``none`` so far)."""
    stored = {"id": state.new_id(), **copy.deepcopy(event)}
    stored |= {
        "type": "seriesMaster" if event.get("recurrence") else "singleInstance",
        "isOrganizer": False,
        "organizer": {"emailAddress": {"address": organizer, "name": ""}},
        "responseStatus": {"response": "notResponded", "time": "0001-01-01T00:00:00Z"},
    }
    state.finish(stored)
    state.events[stored["id"]] = stored
    state.calendar_of[stored["id"]] = state.default_calendar
    return stored
