"""What changed in one provider object between two reads, as the webhook events a change made
through calgate would have produced. Pure: no I/O.

- a new series or event: one ``created`` (its modified occurrences: one ``updated`` each);
- gone: one ``deleted`` for each series or single event it held;
- master changed only by new EXDATEs: one ``deleted`` per occurrence removed; otherwise one
  ``updated`` (``deleted`` when it became cancelled);
- a modified occurrence added or changed: one ``updated`` carrying ``master_event_id``
  (``deleted`` when it became cancelled).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable

from calgate.domain import rules
from calgate.domain.model import Event
from calgate.domain.recurrence.dates import DateList
from calgate.domain.recurrence.series import Series, parse
from calgate.errors import InvalidParameters
from calgate.providers.base import ChangeKind

Delta = tuple[ChangeKind, Event, Event | None]  # kind, event after (as it was, if deleted), before


def _shape(event: Event) -> tuple[object, ...]:
    """What a change can be about (not the bookkeeping: version, stamps)."""
    return (
        event.fields,
        event.is_cancelled,
        event.organizer,
        event.ical_uid,
        event.recurrence_id,
        event.event_type,
    )


def _gone(event: Event) -> Event:
    return dataclasses.replace(event, is_cancelled=True)


def _series(event: Event) -> Series | None:
    try:
        return parse(event.fields.recurrence, event.fields.start)
    except InvalidParameters:
        return None


def _exdates(series: Series) -> set[dt.datetime]:
    return {
        instant
        for item in series.items
        if isinstance(item, DateList) and item.name == "EXDATE"
        for instant in item.instants
    }


def _removed_occurrences(old: Event, new: Event) -> list[Event] | None:
    """The occurrences ``new`` removes from ``old`` by EXDATEs alone, or None when the
    master changed in another way too."""
    if not old.fields.recurrence or _shape(dataclasses.replace(old, fields=new.fields)) != _shape(
        new
    ):
        return None
    if dataclasses.replace(old.fields, recurrence=new.fields.recurrence) != new.fields:
        return None
    before, after = _series(old), _series(new)
    if before is None or after is None:
        return None
    rest = [line for line in before.lines if not line.startswith("EXDATE")]
    if rest != [line for line in after.lines if not line.startswith("EXDATE")]:
        return None
    added = _exdates(after) - _exdates(before)
    if not added or not _exdates(before) <= _exdates(after):
        return None
    return [_gone(rules.occurrence_of(old, before.event_time(i))) for i in sorted(added)]


def _by_id(events: Iterable[Event]) -> dict[str, Event]:
    return {e.id: e for e in events}


def deltas(old: list[Event], new: list[Event], *, known: bool = False) -> list[Delta]:
    """The changes from ``old`` to ``new`` (the events of one provider object).

    ``known``: calgate already reported the object's creation (its own write), so a master
    that is new to the mirror is an update."""
    before, after = _by_id(old), _by_id(new)
    out: list[Delta] = []
    for event in after.values():
        previous = before.get(event.id)
        if previous is None:
            if event.master_event_id:  # an occurrence modified (or cancelled) from now on
                out.append(("deleted" if event.is_cancelled else "updated", event, None))
            elif not event.is_cancelled:
                out.append(("updated" if known else "created", event, None))
            continue
        if _shape(previous) == _shape(event):
            continue
        if event.is_cancelled and not previous.is_cancelled:
            out.append(("deleted", event, previous))
            continue
        removed = None if event.master_event_id else _removed_occurrences(previous, event)
        if removed is not None:
            out.extend(("deleted", gone, None) for gone in removed if gone.id not in after)
            continue
        out.append(("updated", event, previous))
    for event in before.values():
        if event.id in after or event.is_cancelled:
            continue
        if not event.master_event_id:
            out.append(("deleted", _gone(event), None))
    return out


def gone(old: list[Event], *, occurrences: bool = False) -> list[Delta]:
    """The object was deleted: one ``deleted`` per series or single event it held (and per
    occurrence, when the object held occurrences only: ``occurrences``)."""
    alone = occurrences and all(e.master_event_id for e in old)
    return [
        ("deleted", _gone(e), None)
        for e in old
        if (alone or not e.master_event_id) and not e.is_cancelled
    ]
