"""The ``notifications`` value of events read through calgate: what happened to the
invitations of the event's latest invitation-relevant change (see :mod:`calgate.outbox.notices`).

``queued`` (mail waiting in the outbox), ``sent`` (every mail accepted by the SMTP server, or
the provider sent them: Google with sendUpdates=all), ``failed`` (a mail failed for good, or
notify was asked for while no SMTP server is configured), ``forced_by_provider`` (Exchange
always sends them), ``none``. An event no change of calgate touched keeps what its provider said.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import cast

from calgate.domain.model import Event, Notifications
from calgate.outbox import notices
from calgate.providers.base import AccountContext, Note, Noted
from calgate.store.bare import ReadOn


class NotificationStates:
    """An annotator (:data:`calgate.services.events.Annotator`): run on a connection of a read,
    the provider's own read when the events are calgate's rows (one database round). The
    event with its state is remembered per event object, so that the same event (the store
    hands it out again while its row is unchanged) with the same state is the same object
    again (:class:`calgate.api.event_json.EventJSON` finds its answer by identity)."""

    def __init__(self, size: int = 10_000) -> None:
        self.size = size
        # id(event) -> (event, state, the event with that state). Read threads may use it at
        # once (reads through Core annotate there): each dict operation is atomic, and a race
        # costs a new event, never a wrong one.
        self._made: dict[int, tuple[Event, str, Event]] = {}

    def _with(self, event: Event, state: str) -> Event:
        found = self._made.get(id(event))
        # The entry holds its event: while it is there, no other object has its id.
        if found is not None and found[0] is event and found[1] == state:
            return found[2]
        made = _made(event, state)
        if len(self._made) >= self.size:
            self._made.clear()
        self._made[id(event)] = (event, state, made)
        return made

    def __call__(self, conn: ReadOn, account: AccountContext, events: list[Event]) -> list[Event]:
        if not events:
            return events
        ids = {e.id for e in events} | {e.master_event_id for e in events if e.master_event_id}
        return noted(events, notices.states(conn, account.id, ids), self._with)

    def note(self, account: AccountContext) -> Note:
        """The same, for events made in a worker process (an expanded list's page,
        :meth:`calgate.providers.local.LocalProvider.list_events_encoded`): the states of the
        events with rows and of the series, read with the rows, applied there by :func:`noted`.
        A generated occurrence gets its series' state, as here."""

        def read(conn: ReadOn, ids: set[str]) -> tuple[Noted, dict[str, str]]:
            return noted, notices.states(conn, account.id, ids)

        return read


def _made(event: Event, state: str) -> Event:
    return dataclasses.replace(event, notifications=cast(Notifications, state))


def noted(
    events: list[Event],
    found: dict[str, str],
    made: Callable[[Event, str], Event] = _made,
) -> list[Event]:
    """``events`` with their states in ``found`` (an event's own, else its series'), each
    changed one made by ``made`` (in a worker process: a new event, with no memory of the
    events made, which are new ones there)."""
    if not found:
        return events
    out: list[Event] = []
    for event in events:
        state = found.get(event.id) or found.get(event.master_event_id)
        out.append(event if state is None or state == event.notifications else made(event, state))
    return out
