"""Incremental sync on the Google test server, as Google's guide "Synchronize resources
efficiently" and the ``events.list`` reference (``calendar.v3.json``) describe it, and changes
made "from outside" (as the user would in Google Calendar's web page).

- The last page of every ``events.list`` answer carries ``nextSyncToken``: the calendar's state
  at that moment (here: the largest ETag counter issued so far, ETags being a counter).
- ``syncToken``: the answer holds only the entries changed since that state, deleted ones
  always included (shown bare, as Google guarantees only ``id`` for a deleted event, and
  ``id``, ``recurringEventId``, ``originalStartTime`` for a cancelled occurrence). It cannot be
  combined with ``iCalUID``, ``orderBy``, ``privateExtendedProperty``, ``q``,
  ``sharedExtendedProperty``, ``timeMin``, ``timeMax``, ``updatedMin`` nor with
  ``showDeleted=false`` (400). A token older than :func:`expire_sync_tokens` answers
  ``410 Gone`` (reason ``fullSyncRequired``): the client must list everything again.
- Limits of this test server: series-level answers only (``singleEvents=true`` with a sync
  token is refused with 400).
"""

from __future__ import annotations

import base64
import binascii
import copy
import uuid
from typing import Any
from weakref import WeakKeyDictionary

from tests.fakes.google import GoogleError, GoogleState, _find, _finish, _merge

RESTRICTIONS = (
    "iCalUID",
    "orderBy",
    "privateExtendedProperty",
    "q",
    "sharedExtendedProperty",
    "timeMin",
    "timeMax",
    "updatedMin",
)
# ETag counters below which sync tokens are expired, per state.
_floors: WeakKeyDictionary[GoogleState, int] = WeakKeyDictionary()


def _counter(etag: str) -> int:
    return int(str(etag).strip('"') or 0)


def _everything(state: GoogleState, calendar_id: str) -> list[dict[str, Any]]:
    return [*state.events[calendar_id].values(), *state.overrides[calendar_id].values()]


def _latest(state: GoogleState) -> int:
    stamps = [_counter(e["etag"]) for c in state.events for e in _everything(state, c)]
    return max(stamps, default=0)


def token(state: GoogleState) -> str:
    """The ``nextSyncToken`` of an answer given now."""
    return base64.urlsafe_b64encode(f"sync:{_latest(state)}".encode()).decode()


def _since(state: GoogleState, text: str) -> int:
    try:
        kind, _, value = base64.urlsafe_b64decode(text.encode()).decode().partition(":")
        since = int(value)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        kind, since = "", -1
    if kind != "sync" or since < 0:
        raise GoogleError(400, "Invalid sync token value.", "invalid")
    if since < _floors.get(state, 0):
        raise GoogleError(
            410, "Sync token is no longer valid, a full sync is required.", "fullSyncRequired"
        )
    return since


def changed_since(
    state: GoogleState, calendar: dict[str, Any], query: dict[str, str]
) -> list[dict[str, Any]]:
    """The entries of an ``events.list`` with ``syncToken``, oldest change first."""
    given = [name for name in RESTRICTIONS if name in query]
    if given or query.get("showDeleted") == "false" or query.get("singleEvents") == "true":
        raise GoogleError(
            400, "Sync token cannot be used with other request restrictions.", "invalid"
        )
    since = _since(state, query["syncToken"])
    found = [e for e in _everything(state, calendar["id"]) if _counter(e["etag"]) > since]
    return sorted(found, key=lambda e: _counter(e["etag"]))


def expire_sync_tokens(state: GoogleState) -> None:
    """Every sync token issued so far answers 410 from now on."""
    _floors[state] = _latest(state) + 1


# Changes "from outside" -----------------------------------------------------------------------


def _store(state: GoogleState, calendar_id: str, event: dict[str, Any]) -> dict[str, Any]:
    kept = state.overrides if "recurringEventId" in event else state.events
    kept[calendar_id][event["id"]] = event
    return copy.deepcopy(event)


def user_creates(state: GoogleState, calendar_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """The user makes an event in Google Calendar (Google chooses its id)."""
    calendar = state.calendar(calendar_id)
    event = _merge({"id": uuid.uuid4().hex}, body)
    _finish(state, event, calendar)
    return _store(state, calendar["id"], event)


def user_changes(
    state: GoogleState, calendar_id: str, event_id: str, changes: dict[str, Any]
) -> dict[str, Any]:
    """The user edits an event, or one occurrence of a series (which becomes an exception)."""
    calendar = state.calendar(calendar_id)
    old = _find(state, calendar, event_id)
    event = _merge(copy.deepcopy(old), changes)
    event["sequence"] = old.get("sequence", 0) + 1
    _finish(state, event, calendar, old)
    return _store(state, calendar["id"], event)


def user_deletes(state: GoogleState, calendar_id: str, event_id: str) -> None:
    """The user deletes an event, or one occurrence (a cancelled exception of its series)."""
    state.cancel(calendar_id, event_id)
