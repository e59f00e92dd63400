"""The contract's list filters, applied in calgate to events a provider's API returned (the
built-in store applies the same filters in SQL: calgate.store.events)."""

from __future__ import annotations

import unicodedata

from calgate.domain.model import Event, EventQuery

__all__ = ["EVENT_TYPES", "fold", "matches"]

# The kinds of event a provider may report (Google's eventType; Outlook's showAs "oof" is an
# outOfOffice; LOCAL and CalDAV events are all "default").
EVENT_TYPES = ("default", "outOfOffice", "focusTime", "workingLocation", "birthday", "fromGmail")


def fold(text: str) -> str:
    """``text`` for case-insensitive comparison: Unicode compatibility normalization (NFKC) and
    full case folding, so ``ÉCOLE`` matches ``école``, ``STRASSE`` ``Straße`` and full-width
    letters their ASCII forms. The built-in store keeps these folded forms in columns of their
    own, so that SQLite and PostgreSQL answer alike (neither database's ``lower`` does this)."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


def _has(text: str, wanted: str | None) -> bool:
    return not wanted or fold(wanted) in fold(text)


def matches(event: Event, query: EventQuery, *, window: bool = False) -> bool:
    """The list filters of the contract, for those a provider's API cannot apply itself;
    ``window``: also the start/end window (for a series: only that it begins before the end)."""
    f = event.fields
    if window and query.start is not None and f.end.utc <= query.start and not f.recurrence:
        return False
    if window and query.end is not None and f.start.utc >= query.end:
        return False
    if query.updated_after is not None and event.updated_at <= query.updated_after:
        return False
    if query.updated_before is not None and event.updated_at >= query.updated_before:
        return False
    if query.busy is not None and (f.transparency == "opaque") != query.busy:
        return False
    if query.is_cancelled is not None and event.is_cancelled != query.is_cancelled:
        return False
    if query.event_types and event.event_type not in query.event_types:
        return False
    if query.ical_uid is not None and event.ical_uid != query.ical_uid:
        return False
    if not (_has(f.title, query.title) and _has(f.location, query.location)):
        return False
    if not _has(f.body, query.description):
        return False
    if query.attendees:
        wanted = {a.lower() for a in query.attendees}
        if not wanted & {a.email.lower() for a in f.attendees}:
            return False
    return True
