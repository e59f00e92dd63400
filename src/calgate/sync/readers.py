"""How each account type's reads are answered from its mirrored items (:mod:`calgate.sync.reads`).

A reader rebuilds from the mirror what the provider's own read works on and runs the
provider's own code over it, so that both give the same answer; where it cannot be sure of
that (the Google listing of a window, whose series and exceptions Google selects), it answers
None and the provider is asked.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from calgate.domain import cursor, rules
from calgate.domain import recurrence as rrules
from calgate.domain.filters import matches
from calgate.domain.model import Event, EventQuery, Page
from calgate.domain.recurrence import Budget
from calgate.errors import CalgateError
from calgate.providers.caldav import listing, resources
from calgate.providers.caldav.provider import _TOKEN
from calgate.store import mirror
from calgate.store.codec import dt_to_us

__all__ = ["READERS", "Reader"]

Items = Mapping[str, mirror.Item]


@dataclass(frozen=True, slots=True)
class Reader:
    """How one account type's reads are answered from its mirrored items."""

    # The event ``event_id`` (None: the mirror does not hold it), from the items named by
    # ``wanted(event_id)``.
    wanted: Callable[[str], list[str]]
    get: Callable[[Items, str], Event | None]
    # One page of the list (None: ask the provider), its recurrence work paid from the budget
    # (run off the event loop).
    page: Callable[[Items, EventQuery, Budget], Page[Event] | None]


# CalDAV: one item per resource, its events the master and the overrides ------------------


def _resource(item: mirror.Item) -> resources.Resource:
    master: Event | None = None
    overrides: dict[str, Event] = {}
    for event in item.events:
        parts = rules.split_occurrence_id(event.id) if event.master_event_id else None
        if parts is None:
            master = event
        else:
            overrides[parts[1]] = event
    return resources.Resource(item.item_id, item.href, item.etag, master, overrides)


def _caldav_wanted(event_id: str) -> list[str]:
    parts = rules.split_occurrence_id(event_id)
    return [event_id] + ([parts[0]] if parts is not None and _TOKEN.fullmatch(parts[1]) else [])


def _caldav_get(items: Items, event_id: str) -> Event | None:
    """What :meth:`CalDavProvider.get_event` finds: an occurrence of a series, else the
    resource named ``event_id``."""
    parts = rules.split_occurrence_id(event_id)
    if parts is not None and _TOKEN.fullmatch(parts[1]) and parts[0] in items:
        series = _resource(items[parts[0]])
        if series.master is not None:
            found = resources.occurrence(series, parts[1])
            if found is not None:
                return found
    if event_id not in items:
        return None
    return _resource(items[event_id]).master


def _caldav_page(items: Items, query: EventQuery, budget: Budget) -> Page[Event] | None:
    return listing.page([_resource(i) for i in items.values()], query, budget)


CALDAV = Reader(_caldav_wanted, _caldav_get, _caldav_page)


# Google: one item per Google event (one-off, series, exception, cancelled occurrence) --------


def _cancelled_of(items: Items) -> dict[str, list[Event]]:
    """The cancelled occurrences the mirror holds, by series id."""
    found: dict[str, list[Event]] = {}
    for item in items.values():
        for event in item.events:
            if event.is_cancelled and event.master_event_id:
                found.setdefault(event.master_event_id, []).append(event)
    return found


def _series_level(event: Event, cancelled: list[Event]) -> Event | None:
    """``event`` as :func:`calgate.providers.google_map.series_level` shows it, its cancelled
    occurrences as EXDATEs; None when the order Google lists them in could matter (two or
    more)."""
    if not cancelled or not event.fields.recurrence:
        return event
    if len(cancelled) > 1:
        return None
    try:
        lines = rrules.add_exdate(
            event.fields.recurrence, event.fields.start, cancelled[0].fields.start
        )
    except CalgateError:
        return event  # calgate's live read leaves it out the same way
    return dataclasses.replace(event, fields=dataclasses.replace(event.fields, recurrence=lines))


def _google_get(items: Items, event_id: str) -> Event | None:
    """What :meth:`GoogleProvider.get_event` answers for a one-off event, an exception or a
    series (not for an occurrence Google generates, which the mirror does not hold)."""
    item = items.get(event_id)
    if item is None or len(item.events) != 1 or item.events[0].is_cancelled:
        return None
    event = item.events[0]
    if event.id != event_id or not event.fields.recurrence:
        return event if event.id == event_id else None
    return None  # its cancelled occurrences are other items: read by the page function


def _google_wanted(event_id: str) -> list[str]:
    return [event_id]


def _google_page(items: Items, query: EventQuery, budget: Budget) -> Page[Event] | None:
    """A series-level list of the whole calendar, as :meth:`GoogleProvider.list_events`
    orders and pages it. A window (Google chooses which series and exceptions it holds),
    ``updated_after`` (Google leaves out older cancelled occurrences), deleted events and
    expansion go to Google."""
    if query.expand_recurring or query.start is not None or query.end is not None:
        return None
    if query.updated_after is not None or query.is_cancelled:
        return None
    after = cursor.decode(query.cursor) if query.cursor else None
    cancelled = _cancelled_of(items)
    keyed: list[tuple[tuple[int, str], Event]] = []
    for item in items.values():
        if len(item.events) != 1:
            continue
        event = item.events[0]
        if event.is_cancelled or event.master_event_id:
            continue
        shown = _series_level(event, cancelled.get(event.id, []))
        if shown is None:
            return None
        if matches(shown, query):
            keyed.append(((dt_to_us(shown.fields.start.utc), shown.id), shown))
    keyed.sort()
    if after is not None:
        keyed = [(k, e) for k, e in keyed if k > after]
    shown_page = keyed[: query.limit]
    more = len(keyed) > query.limit
    return Page(
        [e for _, e in shown_page],
        cursor.encode(*shown_page[-1][0]) if more and shown_page else None,
    )


GOOGLE = Reader(_google_wanted, _google_get, _google_page)
READERS: dict[str, Reader] = {"CALDAV": CALDAV, "ICLOUD": CALDAV, "GOOGLE_OAUTH": GOOGLE}
