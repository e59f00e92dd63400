"""The free/busy seam: where one account's busy time comes from.

A :class:`Source` answers the busy time of some calendars of one account over a window. The
table in :mod:`calgate.freebusy.registry` picks one per account type; ``origin`` is what
``GET /api/v1/accounts/{id}/capabilities`` shows. A source raises only
:mod:`calgate.errors` exceptions; an error that concerns one calendar is kept on its entry.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from calgate.domain.freebusy import Busy
from calgate.domain.model import Event, EventQuery, Page
from calgate.errors import CalgateError
from calgate.providers.base import AccountContext


@dataclass(frozen=True, slots=True)
class CalendarBusy:
    """One calendar's merged busy time in the window, or the error that kept it unknown."""

    calendar_id: str | None
    busy: Sequence[Busy] = ()
    error: CalgateError | None = None


@dataclass(frozen=True, slots=True)
class Window:
    start: dt.datetime
    end: dt.datetime


@dataclass(frozen=True, slots=True)
class Origin:
    """Where an account's free/busy comes from: ``primary`` (no ``calendar_ids``) and
    ``calendars`` (calendars named in the request); shown by the capabilities route."""

    primary: str
    calendars: str
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_wire(self) -> dict[str, object]:
        return {"primary": self.primary, "calendars": self.calendars, "notes": list(self.notes)}


class EventReads(Protocol):
    """Reads of a calendar's events from a copy calgate keeps (the sync mirror,
    :mod:`calgate.sync.reads`); None: ask the provider."""

    async def list_events(
        self, account: AccountContext, calendar_id: str, query: EventQuery
    ) -> Page[Event] | None: ...


class Source(Protocol):
    origin: Origin

    async def busy(
        self, account: AccountContext, calendar_ids: Sequence[str] | None, window: Window
    ) -> list[CalendarBusy]:
        """Busy time of ``calendar_ids`` (None: the account's primary calendar)."""
        ...
