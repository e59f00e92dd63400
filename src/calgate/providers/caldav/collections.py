"""Calendar collections made, changed and removed: ``MKCALENDAR`` (RFC 4791 5.3.1),
``PROPPATCH`` (RFC 4918 9.2) and ``DELETE``.

The API's calendar fields become the properties discovery reads back: ``DAV:displayname``,
``C:calendar-description``, Apple's ``calendar-color`` and the time zone both as RFC 7809's
``C:calendar-timezone-id`` and as RFC 4791's ``C:calendar-timezone`` (a VCALENDAR holding the
zone's VTIMEZONE), for servers that know only the older one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from icalendar import Calendar as VCalendar

from calgate.domain.ical.vtimezones import vtimezone
from calgate.errors import CalgateError, Conflict, FeatureNotImplemented, ProviderError
from calgate.providers.caldav import discovery, xml
from calgate.providers.caldav.transport import Dav

__all__ = ["make", "patch", "remove"]

_XML = {"Content-Type": "application/xml; charset=utf-8"}


def _timezone(tzid: str) -> str:
    cal = VCalendar()
    cal.add("prodid", "-//calgate//calendar time zone//EN")
    cal.add("version", "2.0")
    year = dt.datetime.now(dt.UTC).year
    cal.add_component(vtimezone(tzid, year - 1, year + 10))
    return str(cal.to_ical().decode())


def _properties(values: Mapping[str, Any]) -> dict[str, str]:
    props: dict[str, str] = {}
    if "name" in values:
        props[discovery.DISPLAYNAME] = str(values["name"])
    if "description" in values:
        props[discovery.DESCRIPTION] = str(values["description"])
    if "background_color" in values:
        props[discovery.COLOR] = str(values["background_color"])
    if "timezone" in values:
        props[discovery.TIMEZONE_ID] = str(values["timezone"])
        props[discovery.TIMEZONE] = _timezone(str(values["timezone"]))
    return props


async def make(
    dav: Dav, url: str, values: Mapping[str, Any], *, maybe_made: bool = False
) -> CalgateError | None:
    """A new event calendar at ``url`` (a path of the calendar home) holding ``values``.
    ``maybe_made``: an earlier attempt (same Idempotency-Key) may have made it already, so a
    refusal that may mean "it exists" (403, 405 or 409, as servers answer) is returned, not
    raised, for the caller to look for the calendar first."""
    body = xml.set_properties("C:mkcalendar", _properties(values), events_only=True)
    answer = await dav.request(
        "MKCALENDAR",
        url,
        body=body,
        headers=_XML,
        safe=False,
        expect=(403, 405, 409, 415, 501),
        what="create calendar",
    )
    refused: CalgateError | None = None
    if answer.status in (405, 501):
        refused = FeatureNotImplemented("this CalDAV server does not create calendars (MKCALENDAR)")
    elif answer.status in (403, 409, 415):
        refused = ProviderError(f"the CalDAV server refused the new calendar ({answer.status})")
    if refused is not None and not (maybe_made and answer.status in (403, 405, 409)):
        raise refused
    return refused


async def patch(dav: Dav, url: str, values: Mapping[str, Any]) -> None:
    """Set ``values`` on the calendar at ``url``; a property the server refuses is a 409."""
    body = xml.set_properties("D:propertyupdate", _properties(values))
    answer = await dav.request(
        "PROPPATCH",
        url,
        body=body,
        headers=_XML,
        expect=(207, 403, 404, 405),
        what="change calendar",
    )
    if answer.status == 404:
        raise Conflict("calendar_id: the calendar was deleted meanwhile")
    if answer.status in (403, 405):
        raise ProviderError(f"the CalDAV server refused the change ({answer.status})")
    refused = xml.refused_properties(answer.content) if answer.status == 207 else []
    if refused:
        raise ProviderError(f"the CalDAV server refused {', '.join(refused)}")


async def remove(dav: Dav, url: str) -> None:
    """Delete the calendar at ``url`` with its events (already gone: nothing to do)."""
    await dav.request("DELETE", url, safe=True, expect=(404, 410), what="delete calendar")
