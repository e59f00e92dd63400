"""Offset paging (Unipile's ``offset``) over lists that providers page by cursor.

A provider pages by cursor (its own page tokens or calgate's signed positions); an offset is
walked as pages of exactly the number of items still to skip, so every item read is either
skipped or shown and the cursor after the last skipped page starts the wanted page exactly.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable

from calgate.domain.model import Event, EventQuery, Page
from calgate.errors import InvalidParameters

__all__ = ["MAX_OFFSET", "at_offset"]

MAX_OFFSET = 10_000
_STEP = 250  # the largest page a provider is asked for
_MAX_CALLS = MAX_OFFSET  # a provider answering empty pages with a cursor still ends

Lister = Callable[[EventQuery], Awaitable[Page[Event]]]


async def at_offset(fetch: Lister, query: EventQuery) -> Page[Event]:
    """The page of ``query`` (``query.offset`` items skipped first)."""
    left, cursor = query.offset, query.cursor
    for _ in range(_MAX_CALLS):
        if left <= 0:
            break
        page = await fetch(
            dataclasses.replace(query, offset=0, cursor=cursor, limit=min(left, _STEP))
        )
        left -= page.size
        if page.next_cursor is None:
            return Page([])
        cursor = page.next_cursor
    else:
        raise InvalidParameters(f"offset: more than {MAX_OFFSET} pages to skip; use cursor")
    return await fetch(dataclasses.replace(query, offset=0, cursor=cursor))
