"""Microsoft Graph event resources <-> calgate's event model (pure: no HTTP).

Field by field (providers.md): title → ``subject``, body → ``body {contentType: text}``,
location → ``location.displayName``, start/end → local ``dateTime`` without offset and the zone
(its Windows name when there is one, which Graph always accepts) plus ``isAllDay``, attendees →
``attendees[{emailAddress, type}]``, transparency → ``showAs`` (free|busy), visibility →
``sensitivity``, hidden attendees → ``hideAttendees``, conference without URL →
``isOnlineMeeting`` + ``teamsForBusiness``, recurrence → ``patternedRecurrence`` through
:mod:`calgate.domain.graph_recurrence`.

What Graph has no field for is kept by calgate **on the event itself**, in one single-value
extended property (:data:`PROPERTY_ID`) holding JSON: the colour, the IANA zones (Graph
answers Windows names), a conference URL given by the client, "default" visibility, and the
recurrence lines as sent (EXDATEs included). Read back, the kept lines are used only while they
still describe the series Outlook holds; a series edited in Outlook reads as Graph says.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from calgate.domain import zones
from calgate.domain.graph_recurrence import GraphRecurrence, from_graph, to_graph
from calgate.domain.model import (
    Attendee,
    Conference,
    ConferenceProvider,
    Event,
    EventFields,
    Organizer,
    ResponseStatus,
    Visibility,
)
from calgate.domain.times import EventTime
from calgate.errors import CalgateError, FeatureNotImplemented, ProviderError
from calgate.providers.stamps import parse_time, version_of

# A named property in the PS_PUBLIC_STRINGS property set.
PROPERTY_ID = "String {00020329-0000-0000-C000-000000000046} Name calgate"
GRAPH_ID = "graph_id"  # Event.extra key: Graph's own id of an occurrence
EXPAND = f"singleValueExtendedProperties($filter=id eq '{PROPERTY_ID}')"

_SENSITIVITY: dict[str, str] = {
    "public": "normal",
    "default": "normal",
    "private": "private",
    "confidential": "confidential",
}
_VISIBILITY: dict[str, Visibility] = {
    "normal": "public",
    "private": "private",
    "personal": "private",
    "confidential": "confidential",
}
_RESPONSES: dict[str, ResponseStatus] = {
    "accepted": "yes",
    "organizer": "yes",
    "declined": "no",
    "tentativelyAccepted": "maybe",
}
_CONFERENCES = frozenset({"google_meet", "teams", "zoom", "unknown"})


@dataclass(frozen=True, slots=True)
class Kept:
    """What calgate keeps on an Outlook event (its extended property)."""

    color: str | None = None
    start_tz: str | None = None
    end_tz: str | None = None
    conference: Conference | None = None
    visibility: str | None = None
    recurrence: tuple[str, ...] = field(default_factory=tuple)

    def to_json(self) -> str:
        data: dict[str, Any] = {"v": 1}
        if self.color:
            data["color"] = self.color
        if self.start_tz:
            data["tz"] = [self.start_tz, self.end_tz or self.start_tz]
        if self.conference is not None:
            c = self.conference
            data["conference"] = [c.provider, c.url, c.conference_id]
        if self.visibility:
            data["visibility"] = self.visibility
        if self.recurrence:
            data["recurrence"] = list(self.recurrence)
        return orjson.dumps(data).decode()

    @classmethod
    def of(cls, fields: EventFields) -> Kept:
        conference = fields.conference if fields.conference and fields.conference.url else None
        return cls(
            color=fields.color,
            start_tz=None if fields.start.is_all_day else fields.start.tz,
            end_tz=None if fields.end.is_all_day else fields.end.tz,
            conference=conference,
            visibility="default" if fields.visibility == "default" else None,
            recurrence=fields.recurrence,
        )

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> Kept:
        for prop in item.get("singleValueExtendedProperties") or ():
            if str(prop.get("id", "")).lower() == PROPERTY_ID.lower():
                return cls.from_json(str(prop.get("value") or ""))
        return cls()

    @classmethod
    def from_json(cls, text: str) -> Kept:
        try:
            data = orjson.loads(text) if text else {}
        except orjson.JSONDecodeError:
            return cls()
        if not isinstance(data, dict):
            return cls()
        raw_tz = data.get("tz")
        tz: list[Any] = [*raw_tz, None, None] if isinstance(raw_tz, list) else [None, None]
        conference = None
        raw = data.get("conference")
        if isinstance(raw, list) and len(raw) == 3 and raw[0] in _CONFERENCES:
            conference = Conference(raw[0], str(raw[1]), str(raw[2]))
        lines = data.get("recurrence")
        return cls(
            color=str(data["color"]) if isinstance(data.get("color"), str) else None,
            start_tz=_zone_or_none(tz[0]),
            end_tz=_zone_or_none(tz[1]),
            conference=conference,
            visibility=str(data["visibility"]) if data.get("visibility") == "default" else None,
            recurrence=tuple(str(x) for x in lines) if isinstance(lines, list) else (),
        )

    def property(self) -> list[dict[str, str]]:
        return [{"id": PROPERTY_ID, "value": self.to_json()}]


def _zone_or_none(name: Any) -> str | None:
    if not isinstance(name, str):
        return None
    try:
        return zones.canonical(name)
    except KeyError:
        return None


# --- times ----------------------------------------------------------------------------------


def _ambiguous(t: EventTime) -> bool:
    assert t.wall is not None
    zone = zones.zone(t.tz)
    return (
        t.wall.replace(tzinfo=zone, fold=0).utcoffset()
        != t.wall.replace(tzinfo=zone, fold=1).utcoffset()
    )


def time_to_graph(t: EventTime, *, recurring: bool) -> dict[str, str]:
    """Graph's ``dateTimeTimeZone``: a local time without offset, and its zone."""
    if t.date is not None:
        return {"dateTime": f"{t.date.isoformat()}T00:00:00", "timeZone": "UTC"}
    assert t.wall is not None
    if _ambiguous(t) and not recurring:
        # A wall time that happens twice (DST overlap): Graph cannot say which; send the instant.
        return {"dateTime": t.utc.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}
    name = zones.to_windows(t.tz) or t.tz
    return {"dateTime": t.wall.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": name}


def _zone_for(item: Mapping[str, Any], key: str, kept: str | None, default: str) -> str:
    """The IANA zone to show an event time in: the one calgate kept while Outlook's own zone
    still agrees with it, else Outlook's."""
    original = item.get(key)
    if kept and (not original or original in (kept, zones.to_windows(kept), "UTC")):
        return kept
    if isinstance(original, str):
        try:
            return zones.canonical(original)
        except KeyError:
            return default
    return default


def time_from_graph(value: Mapping[str, Any], tz: str, all_day: bool) -> EventTime:
    text = str(value["dateTime"])
    if all_day:
        return EventTime(date=dt.date.fromisoformat(text[:10]))
    naive = parse_time(text).replace(tzinfo=None)
    source = zones.zone(str(value.get("timeZone") or "UTC"))
    return EventTime.at(naive.replace(tzinfo=source), tz)


# --- fields ---------------------------------------------------------------------------------


def _attendees(attendees: tuple[Attendee, ...]) -> list[dict[str, Any]]:
    out = []
    for a in attendees:
        address: dict[str, str] = {"address": a.email}
        if a.display_name:
            address["name"] = a.display_name
        out.append({"emailAddress": address, "type": a.type})
    return out


def recurrence_of(fields: EventFields) -> GraphRecurrence | None:
    """Graph's pattern for the fields' recurrence (501 for what Outlook cannot hold)."""
    return to_graph(fields.recurrence, fields.start) if fields.recurrence else None


def teams_join_url(item: Mapping[str, Any]) -> str | None:
    """The join URL of the Teams meeting a Graph event holds (``""`` if not known yet), or None
    when it holds no online meeting."""
    if not item.get("isOnlineMeeting"):
        return None
    meeting = item.get("onlineMeeting") or {}
    return str(meeting.get("joinUrl") or item.get("onlineMeetingUrl") or "")


def check_meeting_kept(item: Mapping[str, Any], conference: Conference | None) -> bool:
    """Whether ``conference`` keeps the online meeting the event ``item`` holds; a 501 when it
    would remove or replace it. Once ``isOnlineMeeting`` is true, "Outlook ignores any further
    changes" to it and to ``onlineMeetingProvider`` (Graph's event resource): a PATCH would
    answer 200 while the Teams link stays. False when the event holds no meeting."""
    join = teams_join_url(item)
    if join is None:
        return False
    if conference is not None and conference.provider == "teams" and conference.url in ("", join):
        return True
    raise FeatureNotImplemented(
        "conference: this Outlook event holds a Teams meeting, which Outlook keeps once made "
        "(it ignores later changes to isOnlineMeeting and onlineMeetingProvider), so calgate "
        "cannot remove or replace it; delete the event and create it again without it"
    )


# calgate field -> the Graph properties it sets (for PATCH bodies).
KEYS: dict[str, tuple[str, ...]] = {
    "title": ("subject",),
    "body": ("body",),
    "location": ("location",),
    "start": ("start", "isAllDay"),
    "end": ("end", "isAllDay"),
    "transparency": ("showAs",),
    "visibility": ("sensitivity",),
    "conference": ("isOnlineMeeting", "onlineMeetingProvider"),
    "is_attendees_list_hidden": ("hideAttendees",),
    "attendees": ("attendees",),
    "recurrence": ("recurrence",),
    "color": (),
    "notify": (),
    "guests_can_modify": (),
}


def to_graph_event(fields: EventFields, recurrence: GraphRecurrence | None) -> dict[str, Any]:
    """The full Graph event for ``fields`` (a create body, without ``transactionId``)."""
    recurring = recurrence is not None
    teams = fields.conference is not None and not fields.conference.url
    body: dict[str, Any] = {
        "subject": fields.title,
        "body": {"contentType": "text", "content": fields.body},
        "start": time_to_graph(fields.start, recurring=recurring),
        "end": time_to_graph(fields.end, recurring=recurring),
        "isAllDay": fields.start.is_all_day,
        "location": {"displayName": fields.location},
        "attendees": _attendees(fields.attendees),
        "showAs": "free" if fields.transparency == "transparent" else "busy",
        "sensitivity": _SENSITIVITY[fields.visibility],
        "hideAttendees": fields.is_attendees_list_hidden,
        "isOnlineMeeting": teams,
        "singleValueExtendedProperties": Kept.of(fields).property(),
    }
    if teams:
        body["onlineMeetingProvider"] = "teamsForBusiness"
    if recurrence is not None:
        body["recurrence"] = recurrence.recurrence
    return body


def patch_to_graph(
    fields: EventFields, changed: set[str], recurrence: GraphRecurrence | None
) -> dict[str, Any]:
    """A PATCH body for the ``changed`` calgate fields; the kept property is always rewritten."""
    full = to_graph_event(fields, recurrence)
    if fields.recurrence and {"start", "end"} & changed:
        changed = changed | {"recurrence"}  # the range starts on the start's date
    if "recurrence" in changed:
        changed = changed | {"start", "end"}
    if "conference" in changed and not full["isOnlineMeeting"]:
        full["onlineMeetingProvider"] = None
    body: dict[str, Any] = {}
    for name in changed:
        for key in KEYS.get(name, ()):
            body[key] = full.get(key)
    body["singleValueExtendedProperties"] = full["singleValueExtendedProperties"]
    return body


def _attendee(item: Mapping[str, Any]) -> Attendee:
    address = item.get("emailAddress") or {}
    kind = item.get("type")
    response = str((item.get("status") or {}).get("response") or "none")
    return Attendee(
        email=str(address.get("address") or ""),
        display_name=str(address.get("name") or ""),
        optional=kind == "optional",
        is_resource=kind == "resource",
        response_status=_RESPONSES.get(response, "noreply"),
    )


def _conference(item: Mapping[str, Any], kept: Kept) -> Conference | None:
    if kept.conference is not None:
        return kept.conference
    meeting = item.get("onlineMeeting") or {}
    url = str(meeting.get("joinUrl") or item.get("onlineMeetingUrl") or "")
    if not item.get("isOnlineMeeting") and not url:
        return None
    provider: ConferenceProvider = (
        "teams" if item.get("onlineMeetingProvider") in ("teamsForBusiness", None) else "unknown"
    )
    return Conference(provider, url, str(meeting.get("conferenceId") or ""))


def _recurrence(item: Mapping[str, Any], kept: Kept, start: EventTime) -> tuple[str, ...]:
    pattern = item.get("recurrence")
    if not pattern:
        return ()
    lines = from_graph(pattern, start)
    if kept.recurrence:
        try:
            again = to_graph(kept.recurrence, start)
        except CalgateError:
            again = None
        if again is not None and from_graph(again.recurrence, start) == lines:
            return kept.recurrence
    return lines


def from_graph_event(item: Mapping[str, Any], calendar_id: str, default_tz: str) -> Event:
    """calgate's event for a Graph event (single, series master, occurrence or exception)."""
    kept = Kept.from_item(item)
    all_day = bool(item.get("isAllDay", False))
    try:
        start_tz = _zone_for(item, "originalStartTimeZone", kept.start_tz, default_tz)
        end_tz = _zone_for(item, "originalEndTimeZone", kept.end_tz or kept.start_tz, start_tz)
        start = time_from_graph(item["start"], start_tz, all_day)
        end = time_from_graph(item["end"], end_tz, all_day)
        original = item.get("originalStart")
        recurrence_id = None
        if original and item.get("seriesMasterId"):
            moment = parse_time(str(original))
            recurrence_id = (
                EventTime(date=moment.date()) if all_day else EventTime.at(moment, start_tz)
            )
        recurrence = _recurrence(item, kept, start)
        created = parse_time(str(item.get("createdDateTime") or item["lastModifiedDateTime"]))
        updated = parse_time(str(item.get("lastModifiedDateTime") or created.isoformat()))
    except (KeyError, ValueError, TypeError) as exc:
        raise ProviderError(f"Outlook sent an event calgate cannot read ({exc!r})") from None
    visibility = _VISIBILITY.get(str(item.get("sensitivity") or "normal"), "public")
    if visibility == "public" and kept.visibility == "default":
        visibility = "default"
    attendees = tuple(_attendee(a) for a in item.get("attendees") or ())
    fields = EventFields(
        title=str(item.get("subject") or ""),
        start=start,
        end=end,
        body=str((item.get("body") or {}).get("content") or ""),
        location=str((item.get("location") or {}).get("displayName") or ""),
        transparency="transparent" if item.get("showAs") == "free" else "opaque",
        visibility=visibility,
        conference=_conference(item, kept),
        is_attendees_list_hidden=bool(item.get("hideAttendees", False)),
        attendees=attendees,
        recurrence=recurrence,
        color=kept.color,
        guests_can_modify=False,
    )
    organizer = (item.get("organizer") or {}).get("emailAddress") or {}
    graph_id = str(item["id"])
    master_id = str(item.get("seriesMasterId") or "")
    return Event(
        # An occurrence is named as on every provider: series id + its original start.
        id=f"{master_id}_{recurrence_id.token}" if master_id and recurrence_id else graph_id,
        calendar_id=calendar_id,
        ical_uid=str(item.get("iCalUId") or ""),
        fields=fields,
        created_at=created,
        updated_at=updated,
        version=version_of(str(item.get("@odata.etag") or item.get("changeKey") or "")),
        is_cancelled=bool(item.get("isCancelled", False)),
        master_event_id=master_id,
        recurrence_id=recurrence_id,
        organizer=(
            Organizer(str(organizer["address"]), str(organizer.get("name") or ""))
            if organizer.get("address")
            else None
        ),
        notifications="forced_by_provider" if attendees else "none",
        event_type="outOfOffice" if item.get("showAs") == "oof" else "default",
        extra={GRAPH_ID: graph_id},
    )
