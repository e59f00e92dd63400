"""Decoded event rows, remembered between reads (free/busy questions, LOCAL reads and lists).

A booking page asks about the same calendars again and again, a client lists the same weeks,
and decoding a stored event (its JSON and the dataclasses built from it) costs far more than
reading its row. An unchanged row gives the very same event object again, which lets
:mod:`calgate.api.event_json` find its answer by identity. Events are frozen; nobody changes
one handed out (not even its ``extra``). The key is
every column of the row (all that :func:`calgate.store.codec.event_from_row` reads), so an
entry is exactly what decoding that row again would give: a changed event is simply another
key, and old entries age out (least recently used first).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

from calgate.domain.model import Event
from calgate.store.codec import event_from_row


def row_key(row: Any) -> Hashable:
    """The whole row: everything :func:`event_from_row` reads from it, and more (a row's values
    as one tuple cost less to take than the columns one by one by name)."""
    return tuple(row)


class DecodedRows:
    """``event_from_row`` with a memory of ``size`` rows (thread-safe; read threads share it)."""

    def __init__(self, size: int = 20_000) -> None:
        self.size = size
        self._entries: OrderedDict[Hashable, Event] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def key(row: Any) -> Hashable:
        """What names the row's decoded event here: :func:`row_key`."""
        return row_key(row)

    def __call__(self, row: Any) -> Event:
        """``event_from_row(row)``, remembered under the row's :meth:`key` (or the event
        remembered: the first one decoded wins, so a key always gives the same object)."""
        key = self.key(row)
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                return found
        event = event_from_row(row)
        with self._lock:
            event = self._entries.setdefault(key, event)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return event

    def __len__(self) -> int:
        return len(self._entries)


class RowVersions(DecodedRows):
    """Decoded LOCAL events by (id, version, updated_at), with a memory of ``size`` events
    (thread-safe; read threads share it).

    Every write of an event row goes through :func:`calgate.store.events.update_event`, which
    stores a higher version than the one it replaces, or makes a new row (a new id, or an id
    deleted before, with a new ``updated_at``): the three values name the row's content, in
    this process and in any other sharing the database. A read may therefore select only them
    (and what orders the rows), take the events it knows from here, and read the whole rows of
    the others only (:func:`calgate.store.bare.events`). The event of one key is the same
    object every time, which the layers above (:class:`calgate.api.event_json.EventJSON`) find
    again by identity.
    """

    def __init__(self, size: int = 10_000) -> None:
        super().__init__(size)

    @staticmethod
    def key(row: Any) -> Hashable:
        """(id, version, updated_at): what names the row's content."""
        return (row.id, row.version, row.updated_at)

    def known(self, keys: list[tuple[str, int, int]]) -> list[Event | None]:
        """The event of each key, None for those not in memory."""
        entries, out = self._entries, []
        with self._lock:
            for key in keys:
                found = entries.get(key)
                if found is not None:
                    entries.move_to_end(key)
                out.append(found)
        return out


__all__ = ["DecodedRows", "RowVersions", "row_key"]
