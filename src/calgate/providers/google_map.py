"""Google Calendar API v3 event resources <-> calgate's event model (pure: no HTTP).

Field by field (providers.md): title → ``summary``, body → ``description``, ``location``,
start/end → ``{dateTime, timeZone}`` or ``{date}``, ``recurrence`` verbatim, attendees →
``attendees[{email, displayName, optional}]``, ``transparency``, ``visibility``, colour → the
palette's ``colorId``, hidden attendees → ``guestsCanSeeOtherGuests: false``,
``guestsCanModify``, conference → ``conferenceData`` (a Meet ``createRequest`` when no URL is
given).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from calgate.domain import zones
from calgate.domain.model import (
    Attendee,
    Conference,
    ConferenceProvider,
    Event,
    EventFields,
    Organizer,
    ResponseStatus,
)
from calgate.domain.times import EventTime
from calgate.errors import ProviderError
from calgate.providers.remote import parse_time, version_of

# The contract's Google palette: hex -> colorId.
PALETTE: dict[str, str] = {
    "#7986CB": "1",
    "#33B679": "2",
    "#8E24AA": "3",
    "#E67C73": "4",
    "#F6BF26": "5",
    "#F4511E": "6",
    "#039BE5": "7",
    "#616161": "8",
    "#3F51B5": "9",
    "#0B8043": "10",
    "#D50000": "11",
}
COLOR_IDS: dict[str, str] = {v: k for k, v in PALETTE.items()}

_RESPONSES: dict[str, ResponseStatus] = {
    "accepted": "yes",
    "declined": "no",
    "tentative": "maybe",
    "needsAction": "noreply",
}
# Conference solution names calgate writes for a given meeting URL, and reads back.
_SOLUTION_NAMES: dict[str, str] = {
    "google_meet": "Google Meet",
    "zoom": "Zoom",
    "teams": "Microsoft Teams",
    "unknown": "Meeting",
}
_BY_NAME: dict[str, ConferenceProvider] = {
    "google meet": "google_meet",
    "zoom": "zoom",
    "zoom meeting": "zoom",
    "microsoft teams": "teams",
    "teams": "teams",
}

# calgate field -> the Google properties it sets (for PATCH bodies).
KEYS: dict[str, tuple[str, ...]] = {
    "title": ("summary",),
    "body": ("description",),
    "location": ("location",),
    "start": ("start",),
    "end": ("end",),
    "transparency": ("transparency",),
    "visibility": ("visibility",),
    "conference": ("conferenceData",),
    "is_attendees_list_hidden": ("guestsCanSeeOtherGuests",),
    "attendees": ("attendees",),
    "recurrence": ("recurrence",),
    "color": ("colorId",),
    "guests_can_modify": ("guestsCanModify",),
    "notify": (),
}


def time_to_google(t: EventTime) -> dict[str, str]:
    if t.date is not None:
        return {"date": t.date.isoformat()}
    return {"dateTime": t.aware.isoformat(), "timeZone": t.tz}


def time_from_google(value: Mapping[str, Any], default_tz: str) -> EventTime:
    if value.get("date"):
        return EventTime(date=dt.date.fromisoformat(str(value["date"])))
    tz = default_tz
    if value.get("timeZone"):
        try:
            tz = zones.canonical(str(value["timeZone"]))
        except KeyError:
            tz = default_tz
    return EventTime.at(parse_time(str(value["dateTime"])), tz)


def conference_to_google(conference: Conference | None, request_id: str) -> dict[str, Any] | None:
    if conference is None:
        return None
    if not conference.url:  # capabilities allow only google_meet here
        return {
            "createRequest": {
                "requestId": request_id,
                "conferenceSolutionKey": {"type": "hangoutsMeet"},
            }
        }
    kind = "hangoutsMeet" if conference.provider == "google_meet" else "addOn"
    data: dict[str, Any] = {
        "conferenceSolution": {
            "key": {"type": kind},
            "name": _SOLUTION_NAMES[conference.provider],
        },
        "entryPoints": [{"entryPointType": "video", "uri": conference.url}],
    }
    if conference.conference_id:
        data["conferenceId"] = conference.conference_id
    return data


def conference_from_google(item: Mapping[str, Any]) -> Conference | None:
    data = item.get("conferenceData") or {}
    url = ""
    for entry in data.get("entryPoints") or ():
        if entry.get("entryPointType") == "video" and entry.get("uri"):
            url = str(entry["uri"])
            break
    url = url or str(item.get("hangoutLink") or "")
    solution = data.get("conferenceSolution") or {}
    kind = (solution.get("key") or {}).get("type")
    if not data and not url:
        return None
    provider: ConferenceProvider = "unknown"
    if kind == "hangoutsMeet" or (not kind and "meet.google." in url):
        provider = "google_meet"
    else:
        provider = _BY_NAME.get(str(solution.get("name", "")).lower(), "unknown")
    return Conference(provider, url, str(data.get("conferenceId") or ""))


def attendees_to_google(
    attendees: tuple[Attendee, ...], current: Mapping[str, Mapping[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """Attendees as Google holds them; the response of one already invited is kept."""
    out = []
    for a in attendees:
        entry: dict[str, Any] = {"email": a.email}
        if a.display_name:
            entry["displayName"] = a.display_name
        if a.optional:
            entry["optional"] = True
        if a.is_resource:
            entry["resource"] = True
        before = (current or {}).get(a.email.lower())
        if before and before.get("responseStatus"):
            entry["responseStatus"] = before["responseStatus"]
        out.append(entry)
    return out


def _attendee(item: Mapping[str, Any]) -> Attendee:
    return Attendee(
        email=str(item.get("email", "")),
        display_name=str(item.get("displayName") or ""),
        optional=bool(item.get("optional", False)),
        is_organizer=bool(item.get("organizer", False)),
        is_resource=bool(item.get("resource", False)),
        response_status=_RESPONSES.get(str(item.get("responseStatus")), "noreply"),
        comment=str(item.get("comment") or ""),
    )


def to_google(fields: EventFields, *, request_id: str) -> dict[str, Any]:
    """The full event resource for ``fields`` (an insert body, without its id)."""
    body: dict[str, Any] = {
        "summary": fields.title,
        "description": fields.body,
        "location": fields.location,
        "start": time_to_google(fields.start),
        "end": time_to_google(fields.end),
        "transparency": fields.transparency,
        "visibility": fields.visibility,
        "guestsCanSeeOtherGuests": not fields.is_attendees_list_hidden,
        "guestsCanModify": fields.guests_can_modify,
        "attendees": attendees_to_google(fields.attendees),
    }
    if fields.recurrence:
        body["recurrence"] = list(fields.recurrence)
    if fields.color:
        body["colorId"] = PALETTE[fields.color.upper()]
    conference = conference_to_google(fields.conference, request_id)
    if conference is not None:
        body["conferenceData"] = conference
    return body


def patch_to_google(
    fields: EventFields,
    changed: set[str],
    *,
    request_id: str,
    current: Mapping[str, Any],
) -> dict[str, Any]:
    """A PATCH body setting the Google properties of the ``changed`` calgate fields (``None``
    clears a property)."""
    full = to_google(fields, request_id=request_id)
    invited = {str(a.get("email", "")).lower(): a for a in current.get("attendees") or ()}
    full["attendees"] = attendees_to_google(fields.attendees, invited)
    if {"start", "end"} & changed or ("recurrence" in changed and fields.recurrence):
        changed = changed | {"start", "end"}  # a series needs both with their zones
    body: dict[str, Any] = {}
    for name in changed:
        for key in KEYS.get(name, ()):
            body[key] = full.get(key)
    if "recurrence" in body and body["recurrence"] is None:
        body["recurrence"] = []
    return body


def from_google(item: Mapping[str, Any], calendar_id: str, default_tz: str) -> Event:
    """calgate's event for a Google event resource (a series, an instance or a single)."""
    try:
        start = time_from_google(item["start"], default_tz)
        end = time_from_google(item["end"], default_tz)
        original = item.get("originalStartTime")
        recurrence_id = time_from_google(original, default_tz) if original else None
        created = parse_time(str(item.get("created") or item.get("updated")))
        updated = parse_time(str(item.get("updated") or item.get("created")))
    except (KeyError, ValueError, TypeError) as exc:
        raise ProviderError(f"Google sent an event calgate cannot read ({exc!r})") from None
    color_id = item.get("colorId")
    organizer = item.get("organizer") or {}
    fields = EventFields(
        title=str(item.get("summary") or ""),
        start=start,
        end=end,
        body=str(item.get("description") or ""),
        location=str(item.get("location") or ""),
        transparency="transparent" if item.get("transparency") == "transparent" else "opaque",
        visibility=_visibility(item.get("visibility")),
        conference=conference_from_google(item),
        is_attendees_list_hidden=item.get("guestsCanSeeOtherGuests") is False,
        attendees=tuple(_attendee(a) for a in item.get("attendees") or ()),
        recurrence=tuple(str(line) for line in item.get("recurrence") or ()),
        color=COLOR_IDS.get(str(color_id)) if color_id else None,
        guests_can_modify=bool(item.get("guestsCanModify", False)),
    )
    return Event(
        id=str(item["id"]),
        calendar_id=calendar_id,
        ical_uid=str(item.get("iCalUID") or ""),
        fields=fields,
        created_at=created,
        updated_at=updated,
        version=version_of(str(item.get("etag") or item.get("updated") or "")),
        sequence=int(item.get("sequence") or 0),
        is_cancelled=item.get("status") == "cancelled",
        master_event_id=str(item.get("recurringEventId") or ""),
        recurrence_id=recurrence_id,
        organizer=(
            Organizer(str(organizer["email"]), str(organizer.get("displayName") or ""))
            if organizer.get("email")
            else None
        ),
        event_type=str(item.get("eventType") or "default"),
    )


def _visibility(value: Any) -> Any:
    return value if value in ("public", "private", "confidential") else "default"
