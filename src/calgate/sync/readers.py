"""How each account type's reads are answered from its mirrored items (:mod:`calgate.sync.reads`).

A reader rebuilds from the mirror what the provider's own read works on and runs the
provider's own code over it, so that both give the same answer; where it cannot be sure of
that (the Google listing of a window holding series, whose series and exceptions Google
selects), it answers None and the provider is asked.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import functools
import itertools
import threading
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from calgate.domain import cursor, rules
from calgate.domain import recurrence as rrules
from calgate.domain.filters import matches
from calgate.domain.model import Event, EventQuery, Page
from calgate.domain.recurrence import Budget
from calgate.errors import CalgateError
from calgate.providers.caldav import listing, resources
from calgate.providers.caldav.provider import _TOKEN
from calgate.providers.microsoft_map import GRAPH_ID
from calgate.providers.microsoft_rows import WHOLE
from calgate.providers.microsoft_series import _TOKEN as _GRAPH_TOKEN
from calgate.providers.microsoft_series import OCCURRENCE_REACH
from calgate.store import mirror
from calgate.store.codec import dt_to_us

__all__ = ["READERS", "Reader"]

Items = Mapping[str, mirror.Item]
T = TypeVar("T")


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
    # Whether ``get`` needs every item of the calendar for ``event_id`` (a Google series, whose
    # cancelled occurrences are items of their own), given the items ``wanted`` named.
    whole: Callable[[Items, str], bool] = lambda items, event_id: False


class _PerMapping(Generic[T]):
    """What ``build`` made of a mapping of items, for as long as that mapping lives.

    calgate.sync.reads keeps one mapping per listed calendar and sync (:class:`Listed`, the 32
    calendars listed last; a new sync of a calendar replaces its mapping), so lists between two
    syncs build once, and what they built goes with the mapping it was built from. A mapping
    that cannot be referred to weakly (a plain dict) is built from each time. Lists run in
    threads: a lock guards it (reentrant: a mapping may be collected while it is held)."""

    def __init__(self, build: Callable[[Items], T]) -> None:
        self.build = build
        self._made: dict[int, tuple[weakref.ref[Items], T]] = {}
        self._lock = threading.RLock()

    def __call__(self, items: Items) -> T:
        key = id(items)
        with self._lock:
            found = self._made.get(key)
        if found is not None and found[0]() is items:
            return found[1]
        made = self.build(items)
        try:
            ref = weakref.ref(items, functools.partial(self._forget, key))
        except TypeError:
            return made
        with self._lock:
            self._made[key] = (ref, made)
        return made

    def _forget(self, key: int, ref: weakref.ref[Items]) -> None:
        with self._lock:
            found = self._made.get(key)
            if found is not None and found[0] is ref:
                del self._made[key]

    def __len__(self) -> int:
        return len(self._made)


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


# Each listed calendar's resources, made once per sync.
_resources = _PerMapping(lambda items: [_resource(i) for i in items.values()])


def _caldav_page(items: Items, query: EventQuery, budget: Budget) -> Page[Event] | None:
    return listing.page(_resources(items), query, budget)


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


def _series_level(event: Event, cancelled: list[Event]) -> Event:
    """``event`` as :func:`calgate.providers.google_map.series_level` shows it: its cancelled
    occurrences as EXDATEs, added in the order of their times."""
    if not cancelled or not event.fields.recurrence:
        return event
    lines = event.fields.recurrence
    for occurrence in sorted(cancelled, key=lambda e: e.fields.start.utc):
        try:
            lines = rrules.add_exdate(lines, event.fields.start, occurrence.fields.start)
        except CalgateError:
            continue  # calgate's live read leaves it out the same way
    return dataclasses.replace(event, fields=dataclasses.replace(event.fields, recurrence=lines))


def _google_series(items: Items, event_id: str) -> bool:
    item = items.get(event_id)
    if item is None or len(item.events) != 1:
        return False
    event = item.events[0]
    return event.id == event_id and not event.is_cancelled and bool(event.fields.recurrence)


def _google_get(items: Items, event_id: str) -> Event | None:
    """What :meth:`GoogleProvider.get_event` answers for a one-off event, an exception or a
    series (given every item, its cancelled occurrences as EXDATEs); not for an occurrence
    Google generates, which the mirror does not hold."""
    item = items.get(event_id)
    if item is None or len(item.events) != 1 or item.events[0].is_cancelled:
        return None
    event = item.events[0]
    if event.id != event_id:
        return None
    if not event.fields.recurrence or event.master_event_id:
        return event
    cancelled = [
        e
        for i in items.values()
        for e in i.events
        if e.is_cancelled and e.master_event_id == event.id
    ]
    return _series_level(event, cancelled)


def _by_id(event_id: str) -> list[str]:
    return [event_id]


# Google offsets range from UTC-12 to UTC+14: an all-day event's day, in whichever zone Google
# places it, lies within this much of the same day in UTC.
_DAY_SLACK = dt.timedelta(hours=14)


def _google_window(items: Items, query: EventQuery) -> Callable[[Event], bool] | None:
    """Which one-off events a window of Google's series-level list holds, as Google documents
    ``timeMin`` (exclusive bound of an event's end) and ``timeMax`` (exclusive bound of its
    start); None when the answer is not certain: the mirror holds a series, an exception or a
    cancelled occurrence (Google chooses which of those a window shows), or an all-day event
    that a time zone could move across a bound."""
    after, before = query.start, query.end
    for item in items.values():
        if any(e.fields.recurrence or e.master_event_id for e in item.events):
            return None
    sure: dict[str, bool] = {}
    for item in items.values():
        for event in item.events:
            start, end = event.fields.start.utc, event.fields.end.utc
            slack = _DAY_SLACK if event.fields.start.is_all_day else dt.timedelta(0)
            inside = (after is None or end - slack > after) and (
                before is None or start + slack < before
            )
            outside = (after is not None and end + slack <= after) or (
                before is not None and start - slack >= before
            )
            if not (inside or outside):
                return None
            sure[event.id] = inside
    return lambda event: sure.get(event.id, False)


def _anywhere(event: Event) -> bool:
    return True


def _google_sorted(items: Items) -> list[tuple[tuple[int, str], Event]]:
    """Every event a whole-calendar series-level list shows, with its (start, id) key, in
    that order (each series with its cancelled occurrences as EXDATEs)."""
    cancelled = _cancelled_of(items)
    keyed: list[tuple[tuple[int, str], Event]] = []
    for item in items.values():
        if len(item.events) != 1:
            continue
        event = item.events[0]
        if event.is_cancelled or event.master_event_id:
            continue
        shown = _series_level(event, cancelled.get(event.id, []))
        keyed.append(((dt_to_us(shown.fields.start.utc), shown.id), shown))
    keyed.sort(key=lambda pair: pair[0])
    return keyed


# Each listed calendar's series-level events in the list's order, sorted once per sync.
_google_listed = _PerMapping(_google_sorted)


def _google_page(items: Items, query: EventQuery, budget: Budget) -> Page[Event] | None:
    """A series-level list, as :meth:`GoogleProvider.list_events` orders and pages it: of the
    whole calendar, or of a window when the mirror holds one-off events only. A window over
    series (Google chooses which series and exceptions it holds), ``updated_after`` (Google
    leaves out older cancelled occurrences), deleted events and expansion go to Google."""
    if query.expand_recurring or query.updated_after is not None or query.is_cancelled:
        return None
    in_window: Callable[[Event], bool] = _anywhere
    if query.start is not None or query.end is not None:
        window = _google_window(items, query)
        if window is None:
            return None
        in_window = window
    keyed = _google_listed(items)
    at = 0
    if query.cursor:
        after = cursor.decode(query.cursor)
        at = bisect.bisect_right(keyed, after, key=lambda pair: pair[0])
    shown: list[tuple[tuple[int, str], Event]] = []
    more = False
    for key, event in itertools.islice(keyed, at, None):
        if in_window(event) and matches(event, query):
            if len(shown) == query.limit:
                more = True
                break
            shown.append((key, event))
    return Page(
        [e for _, e in shown],
        cursor.encode(*shown[-1][0]) if more and shown else None,
    )


GOOGLE = Reader(_by_id, _google_get, _google_page, _google_series)


# Outlook: one item per Graph item (single event, occurrence, exception, series master) ------


def _whole_event(item: mirror.Item | None) -> Event | None:
    """The one event of an Outlook item read whole (with calgate's extended property)."""
    if item is None or item.href != WHOLE or len(item.events) != 1:
        return None
    return item.events[0]


def _outlook_occurrence_id(event_id: str) -> tuple[str, str] | None:
    """``(series id, token)`` when ``event_id`` is read as an occurrence id, as
    :func:`calgate.providers.microsoft_series.locate` reads it (whatever Graph's ids look like)."""
    parts = rules.split_occurrence_id(event_id)
    return parts if parts is not None and _GRAPH_TOKEN.fullmatch(parts[1]) else None


def _outlook_whole(items: Items, event_id: str) -> bool:
    # An exception is an item of its own Graph id: looked for among all of them.
    return _outlook_occurrence_id(event_id) is not None


def _outlook_get(items: Items, event_id: str) -> Event | None:
    """What :meth:`MicrosoftProvider.get_event` answers for the Graph id of a single event or
    of an exception read whole, or for the occurrence id of such an exception. Not a series
    master (the mirror reads it again only when one of its occurrences in the round's window
    changes), nor an occurrence that only follows its series (its delta row lacks calgate's
    extended property)."""
    parts = _outlook_occurrence_id(event_id)
    if parts is None:
        event = _whole_event(items.get(event_id))
        if event is None or event.fields.recurrence or event.extra.get(GRAPH_ID) != event_id:
            return None
        return event
    # Graph finds it among the series' instances within 31 days of its original start: only an
    # exception whole inside that reach is sure to be found, whatever "within" means to Graph.
    master = _whole_event(items.get(parts[0]))
    if master is None or not master.fields.recurrence or master.master_event_id:
        return None
    for item in items.values():
        event = _whole_event(item)
        if event is None or event.id != event_id or event.master_event_id != parts[0]:
            continue
        at = event.recurrence_id
        if at is None or at.is_all_day != master.fields.start.is_all_day:
            return None
        reach = OCCURRENCE_REACH - dt.timedelta(days=1)
        if at.utc - reach < event.fields.start.utc and event.fields.end.utc < at.utc + reach:
            return event
        return None
    return None


def _outlook_page(items: Items, query: EventQuery, budget: Budget) -> Page[Event] | None:
    """Lists go to Graph: an unexpanded list pages ``/events`` (the whole calendar, beyond the
    round's window) by Graph's ``$skip`` before calgate's filters, an expanded one Graph's
    calendar view in Graph's order and pages."""
    return None


OUTLOOK = Reader(_by_id, _outlook_get, _outlook_page, _outlook_whole)
READERS: dict[str, Reader] = {
    "CALDAV": CALDAV,
    "ICLOUD": CALDAV,
    "GOOGLE_OAUTH": GOOGLE,
    "OUTLOOK": OUTLOOK,
}
