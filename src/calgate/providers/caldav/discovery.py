"""Finding an account's calendars: principal -> calendar home -> calendar collections.

RFC 4791 section 6 and RFC 5397: ``PROPFIND`` ``current-user-principal`` on the URL given
(the server root, a principal or a calendar home); when the URL knows nothing of it, the
``/.well-known/caldav`` URL of its host (RFC 6764). Then ``calendar-home-set`` on the principal
and a ``Depth: 1`` ``PROPFIND`` on the home lists the calendars. The ``DAV`` header of the home
tells whether the server schedules itself (RFC 6638 ``calendar-auto-schedule``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final
from urllib.parse import unquote, urljoin, urlsplit

from calgate.domain import zones
from calgate.domain.model import Calendar, text_on
from calgate.errors import InvalidParameters, ProviderError
from calgate.providers.caldav import xml
from calgate.providers.caldav.transport import Answer, Dav
from calgate.providers.caldav.xml import CALDAV, CS, DAV, ICAL, qname

PRINCIPAL: Final = qname(DAV, "current-user-principal")
RESOURCETYPE: Final = qname(DAV, "resourcetype")
HOME_SET: Final = qname(CALDAV, "calendar-home-set")
ADDRESS_SET: Final = qname(CALDAV, "calendar-user-address-set")
DISPLAYNAME: Final = qname(DAV, "displayname")
COLOR: Final = qname(ICAL, "calendar-color")
COMPONENTS: Final = qname(CALDAV, "supported-calendar-component-set")
TIMEZONE: Final = qname(CALDAV, "calendar-timezone")
TIMEZONE_ID: Final = qname(CALDAV, "calendar-timezone-id")
DESCRIPTION: Final = qname(CALDAV, "calendar-description")
CTAG: Final = qname(CS, "getctag")
SYNC_TOKEN: Final = qname(DAV, "sync-token")
PRIVILEGES: Final = qname(DAV, "current-user-privilege-set")

_WRITE: Final = tuple(qname(DAV, p) for p in ("write", "write-content", "all", "bind"))
_TZID = re.compile(r"^TZID[;:](?:[^:\r\n]*:)?([^\r\n]+)$", re.MULTILINE)
_HEX = re.compile(r"#[0-9A-Fa-f]{6}(?:[0-9A-Fa-f]{2})?")
DEFAULT_COLOR: Final = "#1A73E8"


@dataclass(frozen=True, slots=True)
class DavCalendar:
    """A calendar collection; ``id`` is its last path segment (unescaped)."""

    id: str
    url: str
    name: str
    description: str
    color: str
    timezone: str
    version: str
    read_only: bool


@dataclass(frozen=True, slots=True)
class Principal:
    url: str
    home: str
    email: str
    display_name: str


def calendar_id(url: str) -> str:
    return unquote(urlsplit(url).path.rstrip("/").rpartition("/")[2])


def _not_caldav(url: str, why: str) -> InvalidParameters:
    return InvalidParameters(f"url: {url} is not a CalDAV server or principal URL ({why})")


async def _propfind(dav: Dav, url: str, depth: str, *props: str, what: str) -> Answer:
    return await dav.request(
        "PROPFIND",
        url,
        body=xml.propfind(*props),
        headers={"Depth": depth, "Content-Type": "application/xml; charset=utf-8"},
        expect=(207, 400, 404, 405, 501),
        what=what,
    )


async def _principal_url(dav: Dav, url: str) -> str | None:
    answer = await dav.request(
        "PROPFIND",
        url,
        body=xml.propfind(PRINCIPAL, RESOURCETYPE, HOME_SET),
        headers={"Depth": "0", "Content-Type": "application/xml; charset=utf-8"},
        expect=(207, 400, 403, 404, 405, 501),  # 403: a path the user may not see
        what="discovery",
    )
    if answer.status != 207:
        return None
    try:
        responses = xml.multistatus(answer.content, answer.url)
    except ProviderError:  # unreadable: not a CalDAV server
        return None
    for response in responses:
        principals = response.hrefs(PRINCIPAL)
        if principals:
            return principals[0]
        if response.has(RESOURCETYPE, qname(DAV, "principal")) or response.hrefs(HOME_SET):
            return response.url
    return None


async def find_principal(dav: Dav, url: str) -> Principal:
    """The principal of the account behind ``url`` with its calendar home."""
    principal = await _principal_url(dav, url)
    if principal is None:
        parts = urlsplit(url)
        well_known = f"{parts.scheme}://{parts.netloc}/.well-known/caldav"
        if not xml.same_path(url, well_known):
            principal = await _principal_url(dav, well_known)
    if principal is None:
        raise _not_caldav(url, "no current-user-principal found there or at /.well-known/caldav")
    answer = await _propfind(
        dav, principal, "0", HOME_SET, ADDRESS_SET, DISPLAYNAME, what="principal"
    )
    if answer.status != 207:
        raise _not_caldav(url, f"the principal {principal} answered {answer.status}")
    for response in xml.multistatus(answer.content, answer.url):
        homes = response.hrefs(HOME_SET)
        if homes:
            mails = [
                address[7:]
                for address in response.hrefs(ADDRESS_SET)
                if address.lower().startswith("mailto:")
            ]
            return Principal(
                principal, homes[0], mails[0] if mails else "", response.text(DISPLAYNAME)
            )
    raise _not_caldav(url, f"the principal {principal} has no calendar-home-set")


def _color(text: str) -> str:
    match = _HEX.fullmatch(text.strip())
    return match.group(0)[:7].upper() if match else DEFAULT_COLOR


def _timezone(response: xml.Response) -> str:
    candidates = [response.text(TIMEZONE_ID)]
    candidates += _TZID.findall(response.text(TIMEZONE).replace("\r\n ", "").replace("\n ", ""))
    for name in candidates:
        try:
            return zones.canonical(name.strip().strip('"'))
        except KeyError:
            continue
    return "UTC"


def _holds_events(response: xml.Response) -> bool:
    element = response.props.get(COMPONENTS)
    if element is None or not len(element):
        return True  # no restriction announced: every component type
    return any(c.get("name", "").upper() == "VEVENT" for c in element)


def _read_only(response: xml.Response) -> bool:
    if PRIVILEGES not in response.props:
        return False
    return not any(response.has(PRIVILEGES, p) for p in _WRITE)


def _calendar(response: xml.Response) -> DavCalendar:
    return DavCalendar(
        id=calendar_id(response.url),
        url=response.url if response.url.endswith("/") else response.url + "/",
        name=response.text(DISPLAYNAME) or calendar_id(response.url),
        description=response.text(DESCRIPTION),
        color=_color(response.text(COLOR)),
        timezone=_timezone(response),
        version=response.text(SYNC_TOKEN) or response.text(CTAG) or "1",
        read_only=_read_only(response),
    )


@dataclass(frozen=True, slots=True)
class Home:
    calendars: list[DavCalendar]
    auto_schedule: bool


async def list_home(dav: Dav, home: str) -> Home:
    """The event calendars under ``home``, in path order."""
    answer = await _propfind(
        dav,
        home,
        "1",
        RESOURCETYPE,
        DISPLAYNAME,
        COLOR,
        COMPONENTS,
        TIMEZONE,
        TIMEZONE_ID,
        DESCRIPTION,
        CTAG,
        SYNC_TOKEN,
        PRIVILEGES,
        what="calendar list",
    )
    if answer.status != 207:
        raise _not_caldav(home, f"the calendar home answered {answer.status}")
    found = [
        _calendar(r)
        for r in xml.multistatus(answer.content, answer.url)
        if r.has(RESOURCETYPE, qname(CALDAV, "calendar"))
        and not xml.same_path(r.url, home)
        and _holds_events(r)
        and calendar_id(r.url)
    ]
    found.sort(key=lambda c: c.url)
    dav_header = {token.strip().lower() for token in answer.headers.get("dav", "").split(",")}
    return Home(found, "calendar-auto-schedule" in dav_header)


def default_of(calendars: list[DavCalendar], chosen: object = None) -> str | None:
    """The calendar calgate calls default: ``chosen`` (the one it was at connection, kept in
    the account's params) while it exists, else the first writable one in path order."""
    if any(c.id == chosen for c in calendars):
        return str(chosen)
    for calendar in calendars:
        if not calendar.read_only:
            return calendar.id
    return calendars[0].id if calendars else None


def to_calendar(account_id: str, found: DavCalendar, default: str | None) -> Calendar:
    """The API's calendar for a collection (text black or white, whichever reads on it)."""
    return Calendar(
        id=found.id,
        account_id=account_id,
        name=found.name,
        description=found.description,
        is_read_only=found.read_only,
        is_default=found.id == default,
        is_primary=found.id == default,
        access_role="reader" if found.read_only else "owner",
        background_color=found.color,
        foreground_color=text_on(found.color),
        timezone=found.timezone,
        version=found.version,
    )


def join(base: str, name: str) -> str:
    return urljoin(base if base.endswith("/") else base + "/", name)
