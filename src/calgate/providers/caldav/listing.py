"""Listing a calendar's events from a ``calendar-query`` answer, the way LOCAL lists them.

The server selects the resources that overlap the window; calgate applies the contract's other
filters, expands series itself (same occurrence ids as LOCAL) and pages with the same
``(start, id)`` cursors. Without ``expand_recurring`` a series is one item (its master), placed
at its first occurrence; modified occurrences show up only in expanded lists.

:func:`page` is CPU work: the provider runs it off the event loop (:func:`calgate.offload.run`),
every expansion paid from the request's one :class:`~calgate.domain.recurrence.Budget`. A series
calgate cannot read is skipped and logged; a listing past the budget is the budget's 400.
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Iterable

from calgate.domain import cursor, recurrence, rules
from calgate.domain.filters import matches
from calgate.domain.model import Event, EventQuery, Page
from calgate.domain.recurrence import Budget, WorkLimitExceeded
from calgate.errors import InvalidParameters
from calgate.providers.caldav.resources import Resource
from calgate.store.codec import dt_to_us, us_to_dt

log = logging.getLogger("calgate.providers.caldav")

Keyed = tuple[int, Event]


def _bounds(event: Event) -> tuple[int, int | None]:
    """First start and last end (None: endless) in microseconds."""
    f = event.fields
    if not f.recurrence:
        return dt_to_us(f.start.utc), dt_to_us(f.end.utc)
    first, last = recurrence.series_bounds(f.start, f.end, f.recurrence)
    return dt_to_us(first), None if last is None else dt_to_us(last)


def _in_window(start: int, end: int | None, query: EventQuery) -> bool:
    if query.start is not None and end is not None and end <= dt_to_us(query.start):
        return False
    return query.end is None or start < dt_to_us(query.end)


def _page(found: Iterable[Keyed], limit: int) -> Page[Event]:
    rows = heapq.nsmallest(limit + 1, found, key=lambda p: (p[0], p[1].id))
    items = rows[:limit]
    next_cursor = cursor.encode(items[-1][0], items[-1][1].id) if len(rows) > limit else None
    return Page([e for _, e in items], next_cursor)


def _masters(
    resources: list[Resource], query: EventQuery, after: tuple[int, str] | None, budget: Budget
) -> Page[Event]:
    found: list[Keyed] = []
    for resource in resources:
        budget.spend()  # a step per resource: a cancelled listing stops here
        master = resource.master
        if master is None or not matches(master, query):
            continue
        try:
            start, end = _bounds(master)
        except InvalidParameters as error:
            log.warning("CalDAV listing skips %s: %s", resource.url, error.detail)
            continue
        if _in_window(start, end, query) and (after is None or (start, master.id) > after):
            found.append((start, master))
    return _page(found, query.limit)


def _occurrences(
    master: Event,
    query: EventQuery,
    after: tuple[int, str] | None,
    skip: set[str],
    budget: Budget,
) -> list[Keyed]:
    f = master.fields
    window_start = query.start
    if after is not None:
        resume = us_to_dt(after[0])
        window_start = resume if window_start is None or resume > window_start else window_start
    starts = recurrence.expand(
        f.start, f.end, f.recurrence, window_start, query.end, limit=query.limit + 1, budget=budget
    )
    found: list[Keyed] = []
    for start in starts:
        if start.token in skip:
            continue
        item = rules.occurrence_of(master, start)
        key = dt_to_us(start.utc)
        if after is None or (key, item.id) > after:
            found.append((key, item))
    return found


def _expanded(
    resources: list[Resource], query: EventQuery, after: tuple[int, str] | None, budget: Budget
) -> Page[Event]:
    found: list[Keyed] = []
    for resource in resources:
        budget.spend()  # a step per resource: a cancelled listing stops here
        master = resource.master
        singles = list(resource.overrides.values())
        if master is not None and not master.fields.recurrence:
            singles.append(master)
        for event in singles:
            start, end = _bounds(event)
            if not (matches(event, query) and _in_window(start, end, query)):
                continue
            if after is None or (start, event.id) > after:
                found.append((start, event))
        if master is None or not master.fields.recurrence or not matches(master, query):
            continue
        try:
            found.extend(_occurrences(master, query, after, set(resource.overrides), budget))
        except WorkLimitExceeded:
            raise  # the request's budget is spent: the listing is refused, not cut short
        except InvalidParameters as error:
            log.warning("CalDAV listing skips %s: %s", resource.url, error.detail)
    return _page(found, query.limit)


def page(resources: list[Resource], query: EventQuery, budget: Budget) -> Page[Event]:
    """One page of the events of ``resources`` that match ``query``, its recurrence work paid
    from ``budget``."""
    after = cursor.decode(query.cursor) if query.cursor else None
    if query.expand_recurring:
        return _expanded(resources, query, after, budget)
    return _masters(resources, query, after, budget)
