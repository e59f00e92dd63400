"""The ``notifications`` value of events read through calgate: what happened to the
invitations of the event's latest invitation-relevant change (see :mod:`calgate.outbox.notices`).

``queued`` (mail waiting in the outbox), ``sent`` (every mail accepted by the SMTP server, or
the provider sent them: Google with sendUpdates=all), ``failed`` (a mail failed for good, or
notify was asked for while no SMTP server is configured), ``forced_by_provider`` (Exchange
always sends them), ``none``. An event no change of calgate touched keeps what its provider said.
"""

from __future__ import annotations

import dataclasses
from typing import cast

from calgate.domain.model import Event, Notifications
from calgate.outbox import notices
from calgate.providers.base import AccountContext
from calgate.store.bare import ReadOn


class NotificationStates:
    """An annotator (:data:`calgate.services.events.Annotator`): run on a connection of a read,
    the provider's own read when the events are calgate's rows (one database round)."""

    def __call__(self, conn: ReadOn, account: AccountContext, events: list[Event]) -> list[Event]:
        if not events:
            return events
        ids = {e.id for e in events} | {e.master_event_id for e in events if e.master_event_id}
        found = notices.states(conn, account.id, ids)
        if not found:
            return events
        out: list[Event] = []
        for event in events:
            state = found.get(event.id) or found.get(event.master_event_id)
            if state is None or state == event.notifications:
                out.append(event)
            else:
                out.append(dataclasses.replace(event, notifications=cast(Notifications, state)))
        return out
