"""Rules every event obeys, whatever its provider: bounds, recurrence, partial updates."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from calgate.domain import recurrence
from calgate.domain.model import PATCHABLE, Event, EventFields
from calgate.domain.times import EventTime, check_bounds
from calgate.errors import Conflict, InvalidParameters

# A PATCH touching one of these sends updated invitations (SEQUENCE + 1, RFC 5546).
SIGNIFICANT = frozenset({"start", "end", "location", "attendees", "recurrence", "title"})


def checked(fields: EventFields) -> EventFields:
    """``fields`` with bounds checked and recurrence lines validated (kept as the client sent
    them, so that what was sent is what is read back). A series' bounds are computed too: they
    must be within the work limit, and are cached for the store that needs them."""
    check_bounds(fields.start, fields.end)
    if fields.recurrence:
        recurrence.validate(fields.recurrence, fields.start)
        recurrence.series_bounds(fields.start, fields.end, fields.recurrence)
    return fields


def merge(fields: EventFields, changes: Mapping[str, Any]) -> EventFields:
    """Apply a partial update; ``changes`` holds parsed domain values keyed by field name."""
    unknown = set(changes) - PATCHABLE
    if unknown:
        raise InvalidParameters(f"unknown field(s): {', '.join(sorted(unknown))}")
    return checked(dataclasses.replace(fields, **changes))


def apply_patch(
    current: Event, changes: Mapping[str, Any], *, version: int | None = None
) -> tuple[EventFields, dict[str, Any]]:
    """The fields after a PATCH, and the changes the client gave.

    Checks the version the client expects (``changes["_version"]``, from ``If-Match``) against
    ``version`` (default: the event's own), refuses a recurrence on one occurrence of a series,
    and merges with every rule of :func:`merge`.
    """
    expected = changes.get("_version")
    have = current.version if version is None else version
    if expected is not None and expected != have:
        raise Conflict(
            f"event {current.id!r} is at version {have}, not {expected}: read it again and retry"
        )
    given = {k: v for k, v in changes.items() if not k.startswith("_")}
    if current.master_event_id and "recurrence" in given:
        raise InvalidParameters(
            "recurrence: an occurrence of a series cannot have its own recurrence"
        )
    return merge(current.fields, given), given


def is_significant(changes: Mapping[str, Any]) -> bool:
    return bool(SIGNIFICANT & set(changes))


def occurrence_of(master: Event, start: EventTime) -> Event:
    """The occurrence of series ``master`` starting at ``start``, as its own event."""
    end = recurrence.occurrence_end(master.fields.start, master.fields.end, start)
    return dataclasses.replace(
        master,
        id=f"{master.id}_{start.token}",
        fields=dataclasses.replace(master.fields, start=start, end=end, recurrence=()),
        master_event_id=master.id,
        recurrence_id=start,
    )


def split_occurrence_id(event_id: str) -> tuple[str, str] | None:
    """``(master_id, token)`` when ``event_id`` names an occurrence, else None."""
    master, sep, token = event_id.rpartition("_")
    if not sep or not master or not token:
        return None
    return master, token
