"""Reading CalDAV answers into calgate's model: the events list's ``calendar-query`` and the
change feed's ``sync-collection``, ``calendar-multiget`` and ``getetag`` listings.

Each reading is a function of the answer's bytes (and plain values), with a
:class:`~calgate.domain.recurrence.Budget` last, so that a big answer can be read where
:func:`calgate.providers.caldav.transport.read_apart` sends it: one of calgate's worker
processes, whose CPU time does not share the event loop's interpreter (or offload's threads,
without worker processes). The budget stops a reading whose caller has gone and, while
calgate has other requests in flight, makes it give way between resources.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final
from urllib.parse import unquote, urlsplit

from calgate.domain.model import Event, EventQuery, Page
from calgate.domain.recurrence import Budget
from calgate.providers.caldav import listing, resources, xml
from calgate.providers.caldav.resources import Resource
from calgate.providers.caldav.xml import CALDAV, DAV, qname
from calgate.providers.found import Found

DATA: Final = qname(CALDAV, "calendar-data")
ETAG: Final = qname(DAV, "getetag")


def name_of(url: str) -> str:
    """A resource's name, the last segment of its URL's path, unquoted."""
    return unquote(urlsplit(url).path.rpartition("/")[2])


# The events list ---------------------------------------------------------------------------


def query_resources(
    content: bytes, url: str, calendar_id: str, budget: Budget | None = None
) -> list[Resource]:
    """The readable resources of a ``calendar-query`` answer (one that is not is logged and
    skipped)."""
    found: list[Resource] = []
    for response in xml.multistatus(content, url):
        if budget is not None:
            budget.spend(0)  # stopped if the caller has gone; gives way to other requests
        data = response.text(DATA)
        name = name_of(response.url)
        if not data or not name:
            continue
        etag = response.text(ETAG)
        resource = resources.read_or_skip(
            data.encode(), resources.event_id_of(name), calendar_id, response.url, etag
        )
        if resource is not None:
            found.append(resource)
    return found


def query_page(
    content: bytes, url: str, calendar_id: str, query: EventQuery, budget: Budget
) -> Page[Event]:
    """The page of a ``calendar-query`` answer's events that ``query`` asks for."""
    return listing.page(query_resources(content, url, calendar_id, budget), query, budget)


# The change feed (calgate.sync.caldav) ------------------------------------------------------


@dataclass(slots=True)
class Reading:
    """What one multistatus answer of the change feed says."""

    token: str = ""  # the sync-token it carries (sync-collection)
    truncated: bool = False  # 507 on the collection: continued with that token
    seen: list[tuple[str, bool]] = field(default_factory=list)  # (item id, removed), in order
    found: list[Found] = field(default_factory=list)  # the resources it holds with their data
    missing: list[tuple[str, str]] = field(default_factory=list)  # (item id, URL) without data


def feed_answer(
    content: bytes, url: str, href: str, calendar_id: str, budget: Budget | None = None
) -> Reading:
    """The items of a ``sync-collection`` or ``calendar-multiget`` answer (``href``: the
    calendar's); a resource calgate cannot read is logged and left out."""
    root = xml.multistatus_root(content)
    reading = Reading(token=(root.findtext(qname(DAV, "sync-token")) or "").strip())
    for response in xml.responses(root, url):
        if budget is not None:
            budget.spend(0)
        if xml.same_path(response.url, href):
            reading.truncated = reading.truncated or response.status == 507
            continue
        name = name_of(response.url)
        if not name:
            continue
        item_id = resources.event_id_of(name)
        removed = response.status in (404, 410)
        reading.seen.append((item_id, removed))
        if removed:
            continue
        data = response.text(DATA)
        if not data:
            reading.missing.append((item_id, response.url))
            continue
        etag = response.text(ETAG)
        resource = resources.read_or_skip(data.encode(), item_id, calendar_id, response.url, etag)
        if resource is not None:
            reading.found.append(
                Found(item_id, response.url, etag, resource.version, resource.events())
            )
    return reading


def etag_listing(
    content: bytes, url: str, href: str, budget: Budget | None = None
) -> dict[str, tuple[str, str]]:
    """The resources of a ``Depth: 1`` ``getetag`` listing: item id -> (URL, ETag)."""
    present: dict[str, tuple[str, str]] = {}
    for response in xml.multistatus(content, url):
        if budget is not None:
            budget.spend(0)
        name = name_of(response.url)
        if xml.same_path(response.url, href) or not name:
            continue
        present[resources.event_id_of(name)] = (response.url, response.text(ETAG))
    return present
