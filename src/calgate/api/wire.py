"""Converters between the Unipile wire shapes and the domain model."""

from __future__ import annotations

import datetime as dt
from typing import Any

from calgate.api.schemas import AttendeeIn, ConferenceIn, EventCreate, EventPatch, EventTimeIn
from calgate.domain.filters import EVENT_TYPES
from calgate.domain.model import Attendee, Calendar, Conference, Event, EventFields, EventQuery
from calgate.domain.times import EventTime, check_bounds, format_utc, parse_event_time
from calgate.errors import InvalidParameters

_DEFAULTS: dict[str, Any] = {
    "body": "",
    "location": "",
    "transparency": "opaque",
    "visibility": "default",
    "conference": None,
    "is_attendees_list_hidden": False,
    "attendees": (),
    "recurrence": (),
    "color": None,
    "notify": False,
    "guests_can_modify": False,
}


# Fields are converted in the order of EventFields, so the first bad one is reported first.
_ORDER = tuple(EventFields.__dataclass_fields__)


def _time(value: EventTimeIn, field: str) -> EventTime:
    return parse_event_time(value.model_dump(exclude_none=True), field)


def _attendees(values: list[AttendeeIn]) -> tuple[Attendee, ...]:
    seen: set[str] = set()
    out: list[Attendee] = []
    for i, a in enumerate(values):
        if a.optional is not None and a.is_optional is not None and a.optional != a.is_optional:
            raise InvalidParameters(f"attendees[{i}]: optional and is_optional disagree")
        email = a.email.strip()
        if email.lower() in seen:
            raise InvalidParameters(f"attendees[{i}].email: {email} is listed twice")
        seen.add(email.lower())
        optional = a.optional if a.optional is not None else bool(a.is_optional)
        out.append(Attendee(email=email, display_name=a.display_name or "", optional=optional))
    return tuple(out)


def _conference(value: ConferenceIn) -> Conference:
    url = (value.url or "").strip()
    if url and not url.lower().startswith(("https://", "http://")):
        raise InvalidParameters("conference.url: must be an http(s) URL")
    return Conference(value.provider, url, value.conference_id or "")


def _convert(name: str, value: Any) -> Any:
    if value is None:
        return _DEFAULTS[name]
    if name in ("start", "end"):
        return _time(value, name)
    if name == "attendees":
        return _attendees(value)
    if name == "conference":
        return _conference(value)
    if name == "recurrence":
        return tuple(line.strip() for line in value)
    if name == "color":
        return str(value).upper()
    return value


def fields_from_create(body: EventCreate) -> EventFields:
    given = body.model_fields_set
    values = {name: _convert(name, getattr(body, name)) for name in _ORDER if name in given}
    return EventFields(**values)


def changes_from_patch(body: EventPatch) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for name in (n for n in _ORDER if n in body.model_fields_set):
        value = getattr(body, name)
        if value is None and name in ("title", "start", "end"):
            raise InvalidParameters(f"{name}: cannot be null")
        changes[name] = _convert(name, value)
    if not changes:
        raise InvalidParameters("body: give at least one field to change")
    if "start" in changes and "end" in changes:
        check_bounds(changes["start"], changes["end"])
    return changes


def check_echoes(body: EventCreate | EventPatch, calendar_id: str) -> None:
    """What Unipile clients echo in bodies beside the fields (``calendar_id``, ``is_all_day``)
    must agree with the request."""
    if body.calendar_id is not None and body.calendar_id != calendar_id:
        raise InvalidParameters(
            f"calendar_id: the body says {body.calendar_id!r}, the path {calendar_id!r}"
        )
    if body.is_all_day is None:
        return
    if body.start is None:
        raise InvalidParameters("is_all_day: give start and end with it")
    if (body.start.date is not None) != body.is_all_day:
        given = "a date_time" if body.is_all_day else "a date"
        raise InvalidParameters(f"is_all_day: {str(body.is_all_day).lower()}, but start is {given}")


def event_to_wire(event: Event) -> dict[str, Any]:
    f = event.fields
    organizer_email = event.organizer.email.lower() if event.organizer else ""
    return {
        "object": "CalendarEvent",
        "id": event.id,
        "ical_uid": event.ical_uid,
        "master_event_id": event.master_event_id,
        "calendar_id": event.calendar_id,
        "created_at": format_utc(event.created_at),
        "updated_at": format_utc(event.updated_at),
        "title": f.title,
        "body": f.body,
        "location": f.location,
        "is_cancelled": event.is_cancelled,
        "is_all_day": f.start.is_all_day,
        "is_attendees_list_hidden": f.is_attendees_list_hidden,
        "attendees": [
            {
                "email": a.email,
                "display_name": a.display_name,
                "comment": a.comment,
                "is_organizer": a.is_organizer or a.email.lower() == organizer_email,
                "is_optional": a.optional,
                "is_resource": a.is_resource,
                "type": a.type,
                "response_status": a.response_status,
            }
            for a in f.attendees
        ],
        "start": f.start.to_wire(),
        "end": f.end.to_wire(),
        "recurrence": list(f.recurrence),
        # Never null: services fill in the account's address (domain.model.with_organizer);
        # an event that reaches here without one still has the object.
        "organizer": {
            "email": event.organizer.email if event.organizer else "",
            "display_name": event.organizer.display_name if event.organizer else "",
        },
        "conference": (
            {
                "provider": f.conference.provider,
                "url": f.conference.url,
                "conference_id": f.conference.conference_id,
            }
            if f.conference
            else None
        ),
        "visibility": f.visibility,
        "transparency": f.transparency,
        "event_type": event.event_type,
        "guests_can_modify": f.guests_can_modify,
        "color": f.color,
        "notifications": event.notifications,
        "version": str(event.version),  # a string, like a calendar's (If-Match takes it)
    }


def calendar_to_wire(c: Calendar) -> dict[str, Any]:
    return {
        "object": "Calendar",
        "id": c.id,
        "name": c.name,
        "description": c.description,
        "is_read_only": c.is_read_only,
        "is_owned_by_user": c.is_owned_by_user,
        "is_default": c.is_default,
        "is_primary": c.is_primary,
        "access_role": c.access_role,
        "background_color": c.background_color,
        "foreground_color": c.foreground_color,
        "text_color": c.foreground_color,
        "timezone": c.timezone,
        "version": c.version,
    }


def parse_instant(value: str | None, name: str) -> dt.datetime | None:
    """A query-string instant: offset or Z time, naive (UTC) or a bare date (midnight UTC)."""
    if value is None or value == "":
        return None
    try:
        if len(value) == 10:
            d = dt.date.fromisoformat(value)
            return dt.datetime.combine(d, dt.time(), dt.UTC)
        parsed = dt.datetime.fromisoformat(value.replace(" ", "+") if "T" in value else value)
    except ValueError:
        raise InvalidParameters(
            f"{name}: {value!r} is not an ISO 8601 date or date-time (e.g. 2025-05-28T00:00:00Z)"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def parse_bool(value: str | None, name: str) -> bool | None:
    if value is None or value == "":
        return None
    lowered = value.lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise InvalidParameters(f"{name}: {value!r} is not a boolean (true or false)")


def _integer(value: str, name: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise InvalidParameters(f"{name}: {value!r} is not an integer") from None


def parse_limit(value: str | None, default: int = 100, maximum: int = 250) -> int:
    if value is None or value == "":
        return default
    limit = _integer(value, "limit")
    if not 1 <= limit <= maximum:
        raise InvalidParameters(f"limit: must be between 1 and {maximum}")
    return limit


def parse_offset(value: str | None, cursor: str | None, maximum: int = 10_000) -> int:
    """Unipile's ``offset`` (items to skip), which a ``cursor`` excludes."""
    if value is None or value == "":
        return 0
    if cursor:
        raise InvalidParameters("offset: give cursor or offset, not both")
    offset = _integer(value, "offset")
    if not 0 <= offset <= maximum:
        raise InvalidParameters(f"offset: must be between 0 and {maximum} (then use cursor)")
    return offset


def parse_event_types(value: str | None) -> tuple[str, ...]:
    """``event_type``: comma-separated kinds among :data:`EVENT_TYPES`."""
    given = tuple(dict.fromkeys(v.strip() for v in (value or "").split(",") if v.strip()))
    for kind in given:
        if kind not in EVENT_TYPES:
            raise InvalidParameters(
                f"event_type: {kind[:40]!r} is not one of {', '.join(EVENT_TYPES)}"
            )
    return given


def event_query(params: dict[str, str | None], default_limit: int = 100) -> EventQuery:
    """An event list's query string (v1 and v2 take the same filters), each value checked."""
    cursor = params["cursor"]
    attendees = params["attendees"] or ""
    query = EventQuery(
        start=parse_instant(params["start"], "start"),
        end=parse_instant(params["end"], "end"),
        expand_recurring=bool(parse_bool(params["expand_recurring"], "expand_recurring")),
        updated_after=parse_instant(params["updated_after"], "updated_after"),
        updated_before=parse_instant(params["updated_before"], "updated_before"),
        busy=parse_bool(params["busy"], "busy"),
        title=params["title"] or None,
        location=params["location"] or None,
        description=params["description"] or None,
        ical_uid=params["ical_uid"] or None,
        attendees=tuple(a.strip() for a in attendees.split(",") if a.strip()),
        is_cancelled=parse_bool(params["is_cancelled"], "is_cancelled"),
        event_types=parse_event_types(params["event_type"]),
        cursor=cursor or None,
        offset=parse_offset(params["offset"], cursor),
        limit=parse_limit(params["limit"], default=default_limit),
    )
    if query.start and query.end and query.end <= query.start:
        raise InvalidParameters("end: must be after start")
    return query
