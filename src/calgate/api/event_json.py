"""Each event's answer JSON, made once and remembered (issue 14).

A list of 100 events spent a third of its time building each event's answer
(:func:`calgate.api.wire.event_to_wire`: times formatted, attendees copied) and encoding it,
again for every list that showed the event. Here the encoded bytes of an event are kept, so
that a list is mostly the concatenation of bytes made before.

The key is everything :func:`event_to_wire` reads from the event (the event's ``extra`` is not
read, and could not be hashed), plus the ``fold`` of the start and end wall times, which
equality ignores but the answer's UTC offset shows. An edited event is simply another key (its
version and ``updated_at`` change with it, and its fields are in the key too); old entries age
out, least recently used first. The memory is used from the event loop only; a long page of
occurrences is encoded apart, in a recurrence thread (:func:`encoded_apart`, for v1 and v2).

The event's ``fields`` are compared, not hashed: an entry is found by the rest of the key and
keeps the fields it was made from, which are the very object again when the store handed out
the event it decoded before (:mod:`calgate.store.rows`), and are otherwise
compared field by field. Hashing them (dataclasses with times and attendees inside) cost more
than the rest of a hit. In front of that, the very event object answered before is found by
identity (the store, the annotators and the organizer hand out the same object again while the
event's row, its notification state and the account are unchanged).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Sequence

import orjson

from calgate import offload
from calgate.api.wire import event_to_wire
from calgate.domain.model import Event, EventFields
from calgate.domain.recurrence import Budget
from calgate.domain.times import EventTime


def _fold(time: EventTime) -> int:
    return time.wall.fold if time.wall is not None else 0


def event_key(event: Event) -> Hashable:
    """Every input of :func:`event_to_wire` but the fields (which :class:`EventJSON` compares
    beside it), with the ``fold`` of their wall times; equal keys and equal fields give equal
    answers."""
    f = event.fields
    organizer = event.organizer
    return (
        event.id,
        event.calendar_id,
        event.ical_uid,
        event.master_event_id,
        event.created_at,
        event.updated_at,
        event.version,
        event.is_cancelled,
        event.event_type,
        event.notifications,
        None if organizer is None else (organizer.email, organizer.display_name),
        _fold(f.start),
        _fold(f.end),
    )


class EventJSON:
    """``orjson.dumps(event_to_wire(event))`` with a memory of ``size`` events."""

    def __init__(self, size: int = 50_000) -> None:
        self.size = size
        # key -> (the fields the answer was made from, the answer)
        self._entries: OrderedDict[Hashable, tuple[EventFields, bytes]] = OrderedDict()
        # id(event) -> (event, its answer): the same event object again (events are frozen)
        # is found without making its key.
        self._seen: dict[int, tuple[Event, bytes]] = {}

    def __call__(self, event: Event) -> bytes:
        seen = self._seen.get(id(event))
        # The entry holds its event: while it is there, no other object has its id.
        if seen is not None and seen[0] is event:
            return seen[1]
        encoded = self._encoded(event)
        if len(self._seen) >= self.size:
            self._seen.clear()
        self._seen[id(event)] = (event, encoded)
        return encoded

    def _encoded(self, event: Event) -> bytes:
        key = event_key(event)
        entries = self._entries
        found = entries.get(key)
        if found is not None:
            fields, encoded = found
            if fields is event.fields or fields == event.fields:
                entries.move_to_end(key)
                return encoded
        encoded = orjson.dumps(event_to_wire(event))
        entries[key] = (event.fields, encoded)
        entries.move_to_end(key)
        if len(entries) > self.size:
            entries.popitem(last=False)
        return encoded

    def listed(self, events: Iterable[Event], next_cursor: str | None) -> bytes:
        """The bytes of ``{"object": "CalendarEventList", "data": [...], "next_cursor": ...}``,
        as orjson would encode that object."""
        seen, parts = self._seen, []
        for event in events:  # __call__, its identity hit in the loop
            found = seen.get(id(event))
            parts.append(found[1] if found is not None and found[0] is event else self(event))
        return list_of(parts, next_cursor)

    def __len__(self) -> int:
        return len(self._entries)


def list_of(parts: list[bytes], next_cursor: str | None) -> bytes:
    """The bytes of a v1 list's answer, ``parts`` the events' encoded bytes."""
    return b"".join(
        (
            b'{"object":"CalendarEventList","data":[',
            b",".join(parts),
            b'],"next_cursor":',
            orjson.dumps(next_cursor),
            b"}",
        )
    )


ENCODED_APART = 50
"""An expanded list's page of at least this many events is encoded off the event loop
(:func:`encoded_apart`): its occurrences are mostly new to the memory."""


async def encoded_apart(
    events: Sequence[Event], to_wire: Callable[[Event], object], tenant: str
) -> list[bytes]:
    """``orjson.dumps(to_wire(event))`` of each event (the v1 or the v2 shape), made without the
    memory in one of ``tenant``'s recurrence turns (:func:`calgate.offload.run`): in a worker
    thread that gives way to other requests between events, not on the event loop between
    them; stopped with the request's client."""

    def work(budget: Budget) -> list[bytes]:
        parts = []
        for event in events:
            budget.spend()  # a pause point, a cancellation
            parts.append(orjson.dumps(to_wire(event)))
        return parts

    return await offload.run(work, tenant)


event_json = EventJSON()
"""The process's memory, shared by the event routes."""

__all__ = ["EventJSON", "event_json", "event_key"]
