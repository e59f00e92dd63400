"""Reading the parts of a VEVENT other than its times: text, people, meeting, colour, rules."""

from __future__ import annotations

from typing import Any

from icalendar import Event as VEvent
from icalendar import vText

from calgate.domain.ical import colors, tables
from calgate.domain.ical.recurrence import to_line
from calgate.domain.ical.text import unescape
from calgate.domain.model import Attendee, Conference, ConferenceProvider, Organizer

_PROVIDERS: dict[str, ConferenceProvider] = {name: name for name in tables.CONFERENCE_LABEL}


def _all(vevent: VEvent, name: str) -> list[Any]:
    value = vevent.get(name)
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def text(vevent: VEvent, name: str) -> str:
    """A TEXT property (the first, when a producer repeats it); ``""`` when absent.

    Unknown properties (``X-…``) come from ``icalendar`` verbatim: they are unescaped here.
    """
    values = _all(vevent, name)
    if not values:
        return ""
    return str(values[0]) if isinstance(values[0], vText) else unescape(str(values[0]))


def flag(vevent: VEvent, name: str) -> bool:
    """A calgate boolean: ``TRUE`` (typed BOOLEAN or plain text)."""
    values = _all(vevent, name)
    if not values:
        return False
    value = values[0]
    if isinstance(value, bool | int):
        return bool(value)
    return str(value).strip().upper() == "TRUE"


def _email(address: Any) -> str | None:
    value = str(address).strip()
    if value[:7].lower() == "mailto:":
        value = value[7:].strip()
    elif ":" in value:
        return None  # urn:uuid:…, tel:…: not an email
    return value if "@" in value else None


def _param(address: Any, name: str) -> str:
    params = getattr(address, "params", None)
    value = params.get(name) if params is not None else None
    return str(value) if value is not None else ""


def organizer(vevent: VEvent) -> Organizer | None:
    for address in _all(vevent, "ORGANIZER"):
        email = _email(address)
        if email:
            return Organizer(email, _param(address, "CN"))
    return None


def attendees(vevent: VEvent, chosen: Organizer | None) -> tuple[Attendee, ...]:
    """The ATTENDEE lines; the organizer's own line (same email or ROLE=CHAIR) is marked."""
    found: list[Attendee] = []
    organizer_email = chosen.email.lower() if chosen else None
    for address in _all(vevent, "ATTENDEE"):
        email = _email(address)
        if email is None:
            continue
        role = _param(address, "ROLE").upper()
        is_resource = _param(address, "CUTYPE").upper() in tables.RESOURCE_CUTYPES
        found.append(
            Attendee(
                email=email,
                display_name=_param(address, "CN"),
                # A resource is a NON-PARTICIPANT by nature, not an optional guest.
                optional=role == tables.ROLE_OPTIONAL
                or (role == tables.ROLE_RESOURCE and not is_resource),
                is_organizer=role == tables.ROLE_CHAIR or email.lower() == organizer_email,
                is_resource=is_resource,
                response_status=tables.PARTSTAT_IN.get(
                    _param(address, "PARTSTAT").upper(), "noreply"
                ),
                comment=_param(address, tables.X_RESPONSE_COMMENT),
            )
        )
    return tuple(found)


def _meeting_url(vevent: VEvent) -> str:
    """The video CONFERENCE's URI (else the first CONFERENCE, else a vendor property)."""
    uris = _all(vevent, "CONFERENCE")
    video = [uri for uri in uris if "VIDEO" in _param(uri, "FEATURE").upper()]
    if uris:
        return str((video or uris)[0])
    for name in tables.VENDOR_CONFERENCE_PROPERTIES:
        url = text(vevent, name)
        if url:
            return url
    return ""


def _provider_of(url: str) -> ConferenceProvider:
    host = url.split("://", 1)[-1].split("/", 1)[0].split("@")[-1].split(":")[0].lower()
    for suffix, provider in tables.CONFERENCE_HOSTS:
        if host == suffix or host.endswith(f".{suffix}"):
            return provider
    return "unknown"


def conference(vevent: VEvent) -> Conference | None:
    url = _meeting_url(vevent)
    named = _PROVIDERS.get(text(vevent, tables.X_CONFERENCE_PROVIDER).strip().lower())
    if not url and named is None:
        return None
    return Conference(
        provider=named or _provider_of(url),
        url=url,
        conference_id=text(vevent, tables.X_CONFERENCE_ID),
    )


def color(vevent: VEvent) -> str | None:
    exact = text(vevent, tables.X_COLOR).strip()
    if colors.is_hex(exact):
        return exact
    return colors.to_hex(exact) or colors.to_hex(text(vevent, "COLOR"))


def recurrence(vevent: VEvent, floating_tz: str) -> tuple[str, ...]:
    return tuple(
        to_line(name, prop, floating_tz, name)
        for name in tables.RECURRENCE_PROPERTIES
        for prop in _all(vevent, name)
    )
