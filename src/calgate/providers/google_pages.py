"""Reading a page of Google's ``events.list`` into calgate's model, for provider sync
(:mod:`calgate.sync.google`): the JSON, then each item. A big page is read in one of calgate's
worker processes (:func:`calgate.sync.feed.read_apart`): this module imports nothing heavy.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from calgate.domain.recurrence import Budget
from calgate.domain.times import EventTime
from calgate.errors import ProviderError
from calgate.providers.found import Found
from calgate.providers.google_map import from_google, time_from_google
from calgate.providers.stamps import version_of

log = logging.getLogger("calgate.sync")


@dataclass(slots=True)
class Page:
    """What one page of ``events.list`` says."""

    present: list[str] = field(default_factory=list)  # items the listing holds
    changed: list[Found] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    following: str = ""  # nextPageToken
    token: str = ""  # nextSyncToken (the last page)


def read_page(content: bytes, calendar_id: str, tz: str, budget: Budget | None = None) -> Page:
    """The items of one ``events.list`` page, read into calgate's model; an event calgate
    cannot read is logged and left as the mirror has it."""
    try:
        data = json.loads(content)
    except ValueError:
        raise ProviderError("Google answered a listing that is not JSON") from None
    if not isinstance(data, dict):
        raise ProviderError("Google answered a listing that is not a JSON object")
    page = Page(following=str(data.get("nextPageToken") or ""))
    page.token = str(data.get("nextSyncToken") or "")
    for item in data.get("items") or ():
        if budget is not None:
            budget.spend(0)  # stopped if the caller has gone; gives way to other requests
        _read(page, item, calendar_id, tz)
    return page


def _read(page: Page, item: dict[str, Any], calendar_id: str, tz: str) -> None:
    item_id = str(item.get("id") or "")
    if not item_id:
        return
    etag = str(item.get("etag") or item.get("updated") or "")
    if item.get("status") == "cancelled":
        series, original = item.get("recurringEventId"), item.get("originalStartTime")
        try:
            start: EventTime | None = (
                time_from_google(original, tz) if series and isinstance(original, dict) else None
            )
        except (KeyError, ValueError, TypeError):
            start = None
        if series and start is not None:
            page.present.append(item_id)
            found = Found(item_id, "", etag, version_of(etag), cancels=(str(series), start))
            page.changed.append(found)
        else:
            page.removed.append(item_id)  # a deleted event: only its id is guaranteed
        return
    page.present.append(item_id)  # also when unreadable: kept as the mirror has it
    try:
        event = from_google(item, calendar_id, tz)
    except ProviderError as error:
        log.warning("Google sync skips event %s: %s", item_id, error.detail)
        return
    page.changed.append(Found(item_id, "", etag, event.version, [event]))
