"""Outlook series: occurrences named as on every provider, EXDATEs as deleted instances.

Graph's occurrence ids are opaque; calgate names an occurrence ``{series id}_{token}`` (the
token of its original start, as on other providers: ``20260203T080000Z`` or ``20260203``) and
finds Graph's instance among the series' instances near that time (:func:`locate`). Graph has
no EXDATE: :func:`remove_instances` deletes the instances an EXDATE excludes, and
:func:`note_exdate` records an occurrence deleted through calgate in the lines calgate keeps on
the series.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re
from collections.abc import AsyncIterator, Collection, Mapping
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

import httpx

from calgate.domain import recurrence as rrules
from calgate.domain import rules
from calgate.domain.model import Event, EventQuery
from calgate.domain.times import EventTime
from calgate.errors import CalgateError, InvalidParameters, NotFound
from calgate.providers.base import AccountContext
from calgate.providers.http import Deadline
from calgate.providers.microsoft_map import EXPAND, Kept, from_graph_event
from calgate.providers.remote import decode_cursor, encode_cursor
from calgate.providers.stamps import parse_time

log = logging.getLogger("calgate.providers.microsoft")

_PAGE_KEYS = ("$skip", "$skiptoken", "$deltatoken")
_TOKEN = re.compile(r"\d{8}(T\d{6}Z)?")
# How far from its original time an occurrence is looked for (a moved one may be elsewhere).
OCCURRENCE_REACH = dt.timedelta(days=31)
MAX_PAGES = 200


class Graph(Protocol):
    """What these operations need of the Outlook adapter."""

    async def call(
        self,
        account: AccountContext,
        method: str,
        url: str,
        *,
        safe: bool,
        what: str,
        deadline: Deadline | None = None,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        expect: Collection[int] = (),
    ) -> httpx.Response: ...

    async def fetch(
        self, account: AccountContext, calendar_id: str, event_id: str, deadline: Deadline
    ) -> dict[str, Any]: ...

    def events_url(self, calendar_id: str, event_id: str | None = None) -> str: ...

    def tz(self, account: AccountContext) -> str: ...


def page_cursor(data: Mapping[str, Any]) -> str | None:
    """calgate's cursor for Graph's next page (its ``$skip``/``$skiptoken``), if any."""
    link = data.get("@odata.nextLink")
    if not isinstance(link, str):
        return None
    kept = {k: v for k, v in parse_qsl(urlsplit(link).query) if k in _PAGE_KEYS}
    return encode_cursor(kept) if kept else None


async def instances(
    graph: Graph,
    account: AccountContext,
    calendar_id: str,
    series_id: str,
    window: tuple[dt.datetime, dt.datetime],
    deadline: Deadline,
) -> AsyncIterator[dict[str, Any]]:
    """The instances of a series overlapping ``window``, page after page."""
    params: dict[str, str] = {
        "startDateTime": window[0].isoformat(),
        "endDateTime": window[1].isoformat(),
        "$top": "250",
        "$expand": EXPAND,
    }
    url = f"{graph.events_url(calendar_id, series_id)}/instances"
    for _ in range(MAX_PAGES):
        response = await graph.call(
            account, "GET", url, safe=True, what="series instances", deadline=deadline,
            params=params,
        )  # fmt: skip
        data = response.json()
        for item in data.get("value") or ():
            yield item
        cursor = page_cursor(data)
        if cursor is None:
            return
        params = {**params, **decode_cursor(cursor)}


async def locate(
    graph: Graph, account: AccountContext, calendar_id: str, event_id: str, deadline: Deadline
) -> dict[str, Any]:
    """The Graph event ``event_id`` names: Graph's own id, or a series id and an occurrence
    token, looked up among the series' instances near that time."""
    parts = rules.split_occurrence_id(event_id)
    if parts is None or not _TOKEN.fullmatch(parts[1]):
        return await graph.fetch(account, calendar_id, event_id, deadline)
    missing = NotFound(f"event {event_id!r} not found in calendar {calendar_id!r}")
    tz = graph.tz(account)
    master = from_graph_event(await graph.fetch(account, calendar_id, parts[0], deadline), "", tz)
    if not master.fields.recurrence:
        raise missing
    try:
        at = rrules.parse_occurrence_token(parts[1], master.fields.start)
    except InvalidParameters:
        raise missing from None
    window = (at.utc - OCCURRENCE_REACH, at.utc + OCCURRENCE_REACH)
    async for item in instances(graph, account, calendar_id, master.id, window, deadline):
        if from_graph_event(item, calendar_id, tz).id == event_id:
            return item
    raise missing


async def remove_instances(
    graph: Graph,
    account: AccountContext,
    calendar_id: str,
    master: Event,
    exdates: tuple[EventTime, ...],
    deadline: Deadline,
) -> None:
    """Delete the instances of ``master`` that its EXDATEs exclude (Graph has no EXDATE)."""
    if not exdates:
        return
    wanted = {t.date.isoformat() if t.date else t.utc.isoformat() for t in exdates}
    window = (min(t.utc for t in exdates), max(t.utc for t in exdates) + dt.timedelta(minutes=1))
    doomed: list[str] = []
    async for item in instances(graph, account, calendar_id, master.id, window, deadline):
        moment = parse_time(str(item.get("originalStart") or item["start"]["dateTime"]))
        if (moment.date().isoformat() if master.is_all_day else moment.isoformat()) in wanted:
            doomed.append(str(item["id"]))
    for instance_id in doomed:
        await graph.call(
            account,
            "DELETE",
            graph.events_url(calendar_id, instance_id),
            safe=True,  # 404 on a retry: the first attempt deleted it
            what="delete an excluded instance",
            deadline=deadline,
            expect=(404,),
        )


async def note_exdate(
    graph: Graph,
    account: AccountContext,
    calendar_id: str,
    occurrence: Event,
    deadline: Deadline,
) -> None:
    """Add a deleted occurrence to the recurrence lines calgate keeps on its series, so the
    series reads back with an EXDATE as on other providers. Best effort: the occurrence is
    deleted whatever happens here."""
    assert occurrence.recurrence_id is not None
    try:
        item = await graph.fetch(account, calendar_id, occurrence.master_event_id, deadline)
        master = from_graph_event(item, calendar_id, graph.tz(account))
        kept = Kept.from_item(item)
        if not kept.recurrence or master.fields.recurrence != kept.recurrence:
            return
        lines = rrules.add_exdate(kept.recurrence, master.fields.start, occurrence.recurrence_id)
        again = dataclasses.replace(kept, recurrence=tuple(lines))
        await graph.call(
            account,
            "PATCH",
            graph.events_url(calendar_id, master.id),
            safe=True,
            what="note the deleted occurrence",
            deadline=deadline,
            json={"singleValueExtendedProperties": again.property()},
        )
    except CalgateError as exc:
        log.info("Outlook: could not note a deleted occurrence on its series: %s", exc)


def in_window(event: Event, query: EventQuery) -> bool:
    """For unexpanded lists: a series is in the window while one of its occurrences may be."""
    if query.expand_recurring or not event.fields.recurrence or query.start is None:
        return True
    f = event.fields
    try:
        _, last = rrules.series_bounds(f.start, f.end, f.recurrence)
    except CalgateError:
        return True
    return last is None or last > query.start
