"""Google Calendar API v3 event resources <-> calgate's event model (pure: no HTTP).

Field by field (providers.md): title → ``summary``, body → ``description``, ``location``,
start/end → ``{dateTime, timeZone}`` or ``{date}``, ``recurrence`` verbatim, attendees →
``attendees[{email, displayName, optional}]``, ``transparency``, ``visibility``, colour → the
palette's ``colorId``, hidden attendees → ``guestsCanSeeOtherGuests: false``,
``guestsCanModify``, conference → ``conferenceData`` for Meet, the description and private
extended properties for other links (:mod:`calgate.providers.google_conference`). A series-level
list reads Google's bare cancelled occurrences as EXDATEs of their series
(:func:`series_level`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from calgate.domain import recurrence as rrules
from calgate.domain import zones
from calgate.domain.model import (
    Attendee,
    Event,
    EventFields,
    Organizer,
    ResponseStatus,
)
from calgate.domain.rsvp import NotApplicable, Response
from calgate.domain.times import EventTime
from calgate.errors import CalgateError, ProviderError
from calgate.providers.google_conference import (
    conference_from_google,
    conference_patch,
    conference_to_google,
    description_from_google,
    description_to_google,
)
from calgate.providers.stamps import parse_time, version_of

log = logging.getLogger("calgate.providers.google")

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
# calgate field -> the Google properties it sets (for PATCH bodies).
KEYS: dict[str, tuple[str, ...]] = {
    "title": ("summary",),
    "body": ("description",),
    "location": ("location",),
    "start": ("start",),
    "end": ("end",),
    "transparency": ("transparency",),
    "visibility": ("visibility",),
    "conference": ("conferenceData", "extendedProperties", "description"),
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


_ANSWERS = {"yes": "accepted", "no": "declined", "maybe": "tentative"}


def answered_attendees(item: Mapping[str, Any], response: Response) -> list[dict[str, Any]]:
    """The event's attendees with the account's own answer (the attendee Google marks
    ``self``), for a PATCH by that attendee."""
    if (item.get("organizer") or {}).get("self"):
        raise NotApplicable(
            "the account organises this event; an organizer does not answer its own invitation"
        )
    attendees = [dict(a) for a in item.get("attendees") or ()]
    for attendee in attendees:
        if attendee.get("self"):
            attendee["responseStatus"] = _ANSWERS[response.status]
            if response.comment:
                attendee["comment"] = response.comment
            else:
                attendee.pop("comment", None)
            return attendees
    raise NotApplicable("the account is not an attendee of this event (no attendee is self)")


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
        "description": description_to_google(fields.body, fields.conference),
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
    conference, kept = conference_to_google(fields.conference, request_id)
    if conference is not None:
        body["conferenceData"] = conference
    if kept:
        body["extendedProperties"] = {"private": kept}
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
    if "conference" in changed:
        body |= conference_patch(fields.conference, request_id)
    for which in {"start", "end"} & set(body):
        # Google merges the object: the other form must be named null, or both stay.
        other = (
            {"date": None} if "dateTime" in body[which] else {"dateTime": None, "timeZone": None}
        )
        body[which] = {**body[which], **other}
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
        body=description_from_google(item),
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


def readable(item: Mapping[str, Any]) -> bool:
    """Whether Google sent the event whole: a cancelled occurrence is "only guaranteed to have
    values for the id, recurringEventId and originalStartTime fields", a deleted event "the id"
    (``events.list`` in the discovery document)."""
    return bool(item.get("start")) and bool(item.get("end"))


def series_level(
    items: Iterable[Mapping[str, Any]], calendar_id: str, default_tz: str
) -> list[Event]:
    """The events of a series-level list (``singleEvents=false``) as calgate lists them: the
    one-off events and the series, each series with its cancelled occurrences as EXDATEs.
    A changed occurrence is no item of its own (as on every provider: it belongs to its
    series); a deleted event Google sends bare cannot be shown and is left out."""
    events: dict[str, Event] = {}
    cancelled: list[Mapping[str, Any]] = []
    for item in items:
        if item.get("recurringEventId"):
            if item.get("status") == "cancelled" and item.get("originalStartTime"):
                cancelled.append(item)
        elif readable(item):
            event = from_google(item, calendar_id, default_tz)
            events[event.id] = event
    placed: list[tuple[EventTime, str]] = []
    for item in cancelled:
        try:
            placed.append(
                (time_from_google(item["originalStartTime"], default_tz), item["recurringEventId"])
            )
        except (CalgateError, KeyError, ValueError, TypeError) as exc:
            log.info("Google: a cancelled occurrence calgate cannot place: %r", exc)
    # In the order of their times, not Google's: the EXDATE lines are the same whatever order
    # Google lists them in (and the same as the sync mirror builds them).
    for occurrence, series_id in sorted(placed, key=lambda p: p[0].utc):
        series = events.get(str(series_id))
        if series is None or not series.fields.recurrence:
            continue  # its series is not in this list (another window, or not updated since)
        try:
            lines = rrules.add_exdate(series.fields.recurrence, series.fields.start, occurrence)
        except CalgateError as exc:
            log.info("Google: a cancelled occurrence calgate cannot place: %r", exc)
            continue
        fields = dataclasses.replace(series.fields, recurrence=tuple(lines))
        events[series.id] = dataclasses.replace(series, fields=fields)
    return list(events.values())


def _visibility(value: Any) -> Any:
    return value if value in ("public", "private", "confidential") else "default"
