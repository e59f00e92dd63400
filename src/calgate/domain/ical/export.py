"""calgate events and calendars as iCalendar: a VEVENT per event, a VCALENDAR per calendar."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from icalendar import Calendar as VCalendar
from icalendar import Event as VEvent
from icalendar import vBoolean, vCalAddress
from icalendar.prop.conference import Conference as VConference

from calgate.domain.ical import colors, tables
from calgate.domain.ical.instants import aware, parameters
from calgate.domain.ical.recurrence import to_property
from calgate.domain.ical.text import Text, clean, has_control
from calgate.domain.ical.vtimezones import vtimezones
from calgate.domain.model import Attendee, Calendar, Conference, Event, Organizer
from calgate.errors import InvalidParameters

UTC = dt.UTC


def _utc(instant: dt.datetime) -> dt.datetime:
    # Naive bookkeeping times are UTC; iCalendar has whole seconds.
    zoned = instant.replace(tzinfo=UTC) if instant.tzinfo is None else instant.astimezone(UTC)
    return zoned.replace(microsecond=0)


def _uri_text(value: str, where: str) -> str:
    if has_control(value) or any(ch.isspace() for ch in value):
        raise InvalidParameters(f"{where}: {value!r} holds a space or control character")
    return value


def _address(email: str, name: str, where: str) -> vCalAddress:
    address = vCalAddress(f"mailto:{_uri_text(email, where)}")
    if name:
        address.params["CN"] = clean(name)
    return address


def _flag(vevent: VEvent, name: str, value: bool) -> None:
    if value:
        vevent.add(name, vBoolean(True), parameters={"VALUE": "BOOLEAN"})


def _attendee(attendee: Attendee, where: str) -> vCalAddress:
    address = _address(attendee.email, attendee.display_name, f"{where}.email")
    if attendee.is_resource:
        address.params["CUTYPE"] = "RESOURCE"
        address.params["ROLE"] = tables.ROLE_RESOURCE
    else:
        address.params["ROLE"] = tables.ROLE_OPTIONAL if attendee.optional else tables.ROLE_REQUIRED
    address.params["PARTSTAT"] = tables.PARTSTAT[attendee.response_status]
    address.params["RSVP"] = "TRUE"
    if attendee.comment:
        address.params[tables.X_RESPONSE_COMMENT] = clean(attendee.comment)
    return address


def _organizer(event: Event, organizer: Organizer | None) -> Organizer | None:
    if organizer is not None or event.organizer is not None:
        return organizer or event.organizer
    for attendee in event.fields.attendees:
        if attendee.is_organizer:
            return Organizer(attendee.email, attendee.display_name)
    return None


def _conference(vevent: VEvent, conference: Conference) -> None:
    if conference.url:
        url = _uri_text(conference.url, "conference.url")
        label = tables.CONFERENCE_LABEL[conference.provider]
        vevent.add("CONFERENCE", VConference(url, feature="VIDEO", label=label).to_uri())
    vevent.add(tables.X_CONFERENCE_PROVIDER, Text(conference.provider))
    if conference.conference_id:
        vevent.add(tables.X_CONFERENCE_ID, Text(conference.conference_id))


def _color(vevent: VEvent, color: str) -> None:
    exact = colors.to_hex(color)
    if exact is not None:
        vevent.add("COLOR", Text(colors.nearest_name(exact)))
    vevent.add(tables.X_COLOR, Text(color))


def to_vevent(
    event: Event, *, organizer: Organizer | None = None, hide_attendees: bool | None = None
) -> VEvent:
    """The VEVENT of ``event``.

    ``organizer`` overrides ``event.organizer`` (else an attendee marked ``is_organizer``).
    ``hide_attendees=True`` leaves the attendees out (for mail sent to attendees of an event whose
    list is hidden); ``None`` and ``False`` write them (the owner's copy, CalDAV, exports).
    Raises :class:`InvalidParameters` for a recurrence line or address that cannot be written.
    """
    fields = event.fields
    vevent = VEvent()
    vevent.add("UID", Text(event.ical_uid))
    vevent.add("DTSTAMP", _utc(event.updated_at))
    vevent.add("CREATED", _utc(event.created_at))
    vevent.add("LAST-MODIFIED", _utc(event.updated_at))
    vevent.add("SEQUENCE", event.sequence)
    vevent.add("DTSTART", aware(fields.start), parameters(fields.start))
    vevent.add("DTEND", aware(fields.end), parameters(fields.end))
    if event.recurrence_id is not None:
        rid = event.recurrence_id
        vevent.add("RECURRENCE-ID", aware(rid), parameters(rid))
    for name, text in (
        ("SUMMARY", fields.title),
        ("DESCRIPTION", fields.body),
        ("LOCATION", fields.location),
    ):
        if text:
            vevent.add(name, Text(text))
    vevent.add("TRANSP", tables.TRANSP[fields.transparency])
    if fields.visibility in tables.CLASS:
        vevent.add("CLASS", tables.CLASS[fields.visibility])
    if event.is_cancelled:
        vevent.add("STATUS", "CANCELLED")
    chosen = _organizer(event, organizer)
    if chosen is not None:
        vevent.add("ORGANIZER", _address(chosen.email, chosen.display_name, "organizer.email"))
    if not hide_attendees:
        for index, attendee in enumerate(fields.attendees):
            vevent.add("ATTENDEE", _attendee(attendee, f"attendees[{index}]"))
    for index, line in enumerate(fields.recurrence):
        name, prop = to_property(line, f"recurrence[{index}]")
        vevent.add(name, prop)
    if fields.color:
        _color(vevent, fields.color)
    if fields.conference is not None:
        _conference(vevent, fields.conference)
    _flag(vevent, tables.X_HIDE_ATTENDEES, fields.is_attendees_list_hidden)
    _flag(vevent, tables.X_GUESTS_CAN_MODIFY, fields.guests_can_modify)
    return vevent


def _describe(vcalendar: VCalendar, calendar: Calendar) -> None:
    vcalendar.add("X-WR-CALNAME", Text(calendar.name))
    if calendar.description:
        vcalendar.add("X-WR-CALDESC", Text(calendar.description))
    vcalendar.add("X-WR-TIMEZONE", Text(calendar.timezone))
    background = colors.to_hex(calendar.background_color)
    if background is not None:
        vcalendar.add("COLOR", Text(colors.nearest_name(background)))
        vcalendar.add("X-APPLE-CALENDAR-COLOR", Text(background))


def to_vcalendar(
    vevents: Iterable[VEvent], *, calendar: Calendar | None = None, method: str | None = None
) -> VCalendar:
    """A VCALENDAR holding ``vevents``, with one VTIMEZONE for each TZID they use.

    ``calendar`` adds its name, description, zone and colour (feeds and exports; a CalDAV
    resource goes without). ``method`` is the iTIP method of a mail (``REQUEST``, ``CANCEL``).
    """
    items = list(vevents)
    vcalendar = VCalendar()
    vcalendar.add("VERSION", "2.0")
    vcalendar.add("PRODID", tables.PRODID)
    vcalendar.add("CALSCALE", "GREGORIAN")
    if method is not None:
        vcalendar.add("METHOD", method)
    if calendar is not None:
        _describe(vcalendar, calendar)
    component: Any
    for component in (*vtimezones(items), *items):
        vcalendar.add_component(component)
    return vcalendar


def calendar_to_ics(calendar: Calendar, events: Iterable[Event]) -> bytes:
    """``calendar`` and its ``events`` as one RFC 5545 text (CRLF lines, folded at 75 octets)."""
    vevents = (to_vevent(event) for event in events)
    ical: bytes = to_vcalendar(vevents, calendar=calendar).to_ical()
    return ical
