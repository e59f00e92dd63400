"""Calendar object resources (one ``.ics`` file on the server) as calgate events, and back.

A resource holds one event: a master VEVENT (a single event or a series) and the VEVENTs that
modify single occurrences (``RECURRENCE-ID``), all with one UID (RFC 4791 section 4.1). The
event id is the resource name without ``.ics``; a modified occurrence is
``{event id}_{occurrence token}``, as for LOCAL events.

Writing rebuilds every VEVENT through :func:`calgate.domain.ical.to_vevent` (so text is escaped
and a CR or LF never starts a property) and carries over what calgate does not model (alarms,
other clients' ``X-`` properties, ``STATUS``), so that a PATCH through calgate keeps them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
import re
from dataclasses import dataclass, field
from typing import Any, Final

from icalendar import Calendar as VCalendar
from icalendar import Event as VEvent
from icalendar import vBoolean

from calgate.domain import recurrence, rules
from calgate.domain.ical import (
    ParsedEvent,
    canonical_recurrence,
    parse_ics,
    to_vcalendar,
    to_vevent,
)
from calgate.domain.ical import tables as ical_tables
from calgate.domain.ical.parse_parts import flag
from calgate.domain.ical.text import Text, unescape
from calgate.domain.model import Event
from calgate.errors import InvalidParameters, ProviderError

log = logging.getLogger("calgate.providers.caldav")

EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
SUFFIX: Final = ".ics"
_FOLD = re.compile(rb"\r?\n[ \t]")

# What to_vevent writes from calgate's model; the rest of an existing VEVENT is carried over.
# ORGANIZER and STATUS are carried when calgate writes none (a urn:uuid organizer, CONFIRMED).
MANAGED: Final = frozenset(
    {
        "UID", "DTSTAMP", "CREATED", "LAST-MODIFIED", "SEQUENCE", "DTSTART", "DTEND", "DURATION",
        "RECURRENCE-ID", "SUMMARY", "DESCRIPTION", "LOCATION", "TRANSP", "CLASS", "ATTENDEE",
        "COLOR", "CONFERENCE", *ical_tables.RECURRENCE_PROPERTIES,
        ical_tables.X_COLOR, ical_tables.X_HIDE_ATTENDEES, ical_tables.X_GUESTS_CAN_MODIFY,
        ical_tables.X_CONFERENCE_PROVIDER, ical_tables.X_CONFERENCE_ID,
        *ical_tables.VENDOR_CONFERENCE_PROPERTIES, "X-CALGATE-RECURRENCE", "X-CALGATE-NOTIFY",
    }
)  # fmt: skip

# ``notify`` is stored with the event, as for LOCAL events: a PATCH without it keeps the
# event's value, a DELETE uses it.
X_NOTIFY: Final = "X-CALGATE-NOTIFY"

# The recurrence lines as the client sent them (RRULE parts in its order): read back instead of
# the typed properties' canonical form as long as they still say the same (no other client
# changed the rule since).
X_RECURRENCE: Final = "X-CALGATE-RECURRENCE"


def version_of(etag: str) -> int:
    """The event ``version`` calgate shows for a server ETag (0: the server gave none).

    A number, as for LOCAL events, so that ``If-Match: <version>`` works the same way: two
    ETags give the same version only by a 1 in 2**48 chance."""
    if not etag:
        return 0
    return 1 + int(hashlib.sha256(etag.encode()).hexdigest()[:12], 16)


def resource_name(event_id: str) -> str:
    return event_id + SUFFIX


def event_id_of(name: str) -> str:
    return name[: -len(SUFFIX)] if name.lower().endswith(SUFFIX) else name


@dataclass
class Resource:
    """One resource as read: its events, and the VEVENTs they came from."""

    event_id: str
    url: str
    etag: str
    master: Event | None
    overrides: dict[str, Event] = field(default_factory=dict)  # occurrence token -> event
    sources: dict[str, VEvent] = field(default_factory=dict)  # "" or token -> VEVENT read

    @property
    def version(self) -> int:
        return version_of(self.etag)

    def events(self) -> list[Event]:
        return ([self.master] if self.master else []) + list(self.overrides.values())


def _vevents(data: bytes) -> list[VEvent]:
    calendars = VCalendar.from_ical(_FOLD.sub(b"", data).decode("utf-8"), multiple=True)
    return [v for c in calendars for v in c.walk("VEVENT") if isinstance(v, VEvent)]


def _stamp(vevent: VEvent) -> dt.datetime | None:
    prop = vevent.get("DTSTAMP")
    value = getattr(prop, "dt", None)
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
    return None


def _sent_recurrence(source: VEvent, read: tuple[str, ...]) -> tuple[str, ...]:
    value = source.get(X_RECURRENCE)
    if not read or value is None:
        return read
    sent = tuple(unescape(str(v)) for v in (value if isinstance(value, list) else [value]))
    try:
        same = canonical_recurrence(sent) == read
    except InvalidParameters:
        same = False
    return sent if same else read


def _event(
    parsed: ParsedEvent,
    source: VEvent,
    event_id: str,
    calendar_id: str,
    version: int,
    master_id: str = "",
) -> Event:
    stamp = _stamp(source)
    created = parsed.created_at or parsed.updated_at or stamp or EPOCH
    fields = parsed.fields
    if master_id:
        fields = dataclasses.replace(fields, recurrence=())
    elif fields.recurrence:
        sent = _sent_recurrence(source, fields.recurrence)
        fields = dataclasses.replace(fields, recurrence=sent)
    if flag(source, X_NOTIFY):
        fields = dataclasses.replace(fields, notify=True)
    return Event(
        id=event_id,
        calendar_id=calendar_id,
        ical_uid=parsed.uid,
        fields=fields,
        created_at=created,
        updated_at=parsed.updated_at or stamp or created,
        version=version,
        sequence=parsed.sequence,
        is_cancelled=parsed.is_cancelled,
        master_event_id=master_id,
        recurrence_id=parsed.recurrence_id if master_id else None,
        organizer=parsed.organizer,
    )


def read(data: bytes, event_id: str, calendar_id: str, url: str, etag: str) -> Resource:
    """The events of one resource; raises :class:`ProviderError` for unreadable data."""
    try:
        parsed = parse_ics(data)
        sources = _vevents(data)
    except (InvalidParameters, ValueError) as error:
        detail = error.detail if isinstance(error, InvalidParameters) else str(error)
        raise ProviderError(
            f"event {event_id!r} on the CalDAV server is unreadable: {detail}"
        ) from None
    if not parsed or len(parsed) != len(sources):
        raise ProviderError(f"event {event_id!r} on the CalDAV server holds no VEVENT")
    version = version_of(etag)
    resource = Resource(event_id, url, etag, None)
    uid = parsed[0].uid
    for item, source in zip(parsed, sources, strict=True):
        if item.uid != uid:
            continue  # RFC 4791: one UID per resource; calgate reads the first one's
        if item.recurrence_id is None and resource.master is None:
            resource.master = _event(item, source, event_id, calendar_id, version)
            resource.sources[""] = source
        elif item.recurrence_id is not None:
            token = item.recurrence_id.token
            resource.overrides[token] = _event(
                item, source, f"{event_id}_{token}", calendar_id, version, event_id
            )
            resource.sources[token] = source
    return resource


def read_or_skip(
    data: bytes, event_id: str, calendar_id: str, url: str, etag: str
) -> Resource | None:
    """:func:`read`, or None (logged) for a resource calgate cannot read, in listings."""
    try:
        return read(data, event_id, calendar_id, url, etag)
    except ProviderError as error:
        log.warning("CalDAV listing skips %s: %s", url, error.detail)
        return None


def _vevent(event: Event, old: VEvent | None, scheduling: bool) -> VEvent:
    """``event`` as a VEVENT, with what ``old`` holds that calgate does not model."""
    new = to_vevent(event)
    for line in event.fields.recurrence:
        new.add(X_RECURRENCE, Text(line))
    if event.fields.notify:
        new.add(X_NOTIFY, vBoolean(True), parameters={"VALUE": "BOOLEAN"})
    elif scheduling:
        # RFC 6638 section 7.1: the client, not the server, handles this attendee, so a
        # scheduling server sends no invitation when notify is false.
        attendees = new.get("ATTENDEE")
        for attendee in attendees if isinstance(attendees, list) else [attendees]:
            if attendee is not None:
                attendee.params["SCHEDULE-AGENT"] = "CLIENT"
    if old is None:
        return new
    for name, value in old.items():
        if name in MANAGED or name in new:
            continue
        for item in value if isinstance(value, list) else [value]:
            params: Any = getattr(item, "params", None)
            if params is not None and params.get("TZID"):
                continue  # its zone would need a VTIMEZONE calgate may not be able to write
            new.add(name, item)
    for component in old.subcomponents:
        new.add_component(component)
    return new


def render(resource: Resource, *, scheduling: bool = False) -> bytes:
    """The resource's text: every event as a VEVENT, with the VTIMEZONEs they use.

    ``scheduling``: the server sends invitations itself (RFC 6638); an event whose ``notify``
    is false then marks its attendees ``SCHEDULE-AGENT=CLIENT``."""
    vevents = []
    if resource.master is not None:
        vevents.append(_vevent(resource.master, resource.sources.get(""), scheduling))
    for token, event in sorted(resource.overrides.items()):
        vevents.append(_vevent(event, resource.sources.get(token), scheduling))
    data: bytes = to_vcalendar(vevents).to_ical()
    return data


def occurrence(resource: Resource, token: str) -> Event | None:
    """The occurrence ``token`` of the resource's series: its override, or the generated one;
    None when the token names no occurrence."""
    found = resource.overrides.get(token)
    if found is not None:
        return found
    master = resource.master
    if master is None or not master.fields.recurrence:
        return None
    f = master.fields
    try:
        start = recurrence.parse_occurrence_token(token, f.start)
    except InvalidParameters:
        return None
    if not recurrence.is_occurrence(f.start, f.end, f.recurrence, start):
        return None
    return rules.occurrence_of(master, start)
