"""The change-feed seam: how sync reads one provider's changes, beside
:class:`calgate.providers.base.Provider` (which reads and writes events on request).

A feed lists an account's calendars and, for one calendar, pulls what changed since the
cursor it returned last time. It raises only :mod:`calgate.errors` exceptions (plus
:class:`CalendarGone`). The engine (:mod:`calgate.sync.engine`) compares what a feed found with
the mirror and commits both, with the webhook deliveries they cause and the new cursor, in one
transaction.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Final, Protocol, TypeVar

from calgate import offload
from calgate.errors import NotFound
from calgate.providers.base import AccountContext, Change
from calgate.providers.found import Found
from calgate.store.mirror import CalendarState, Item

T = TypeVar("T")


class CalendarGone(NotFound):
    """The calendar is no longer at the provider (the account's calendar list is read again)."""


@dataclass(slots=True)
class Pull:
    """What one run of a feed found.

    ``present``: the feed listed the whole calendar; mirror items not in it are deleted.
    ``resync``: that full listing was forced because the provider refused the cursor."""

    cursor: str
    mode: str
    changed: list[Found] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    present: set[str] | None = None
    resync: bool = False


# The mirror's items of a calendar, read only when a feed needs them.
KnownEtags = Callable[[], Awaitable[dict[str, Item]]]


class ChangeFeed(Protocol):
    async def calendars(self, account: AccountContext) -> dict[str, str]:
        """The account's calendars: calendar id -> the calendar's address at the provider."""
        ...

    async def pull(self, account: AccountContext, state: CalendarState, known: KnownEtags) -> Pull:
        """The changes since ``state.cursor`` (None: everything, the first run)."""
        ...

    def own_item(self, change: Change) -> tuple[str, bool]:
        """The provider object a change made through calgate wrote (an occurrence's series
        for CalDAV), and whether the change removed that object (or cancelled it)."""
        ...


BIG_PAGE: Final = 64 * 1024
"""A provider's answer from this size on is read in calgate's worker processes."""

BIG_ROWS: Final = 100
"""As many items read at once, from this many on, are read there too."""


async def read_apart(tenant: str, big: bool, reading: Callable[..., T], *args: Any) -> T:
    """``reading(*args)``, the reading of a provider's answer into calgate's model (JSON, then
    each item): on the event loop unless ``big`` (``BIG_PAGE``, ``BIG_ROWS``); a big one in
    one of ``tenant``'s turns, in one of calgate's worker processes when it has them
    (:func:`calgate.offload.run_apart`, setting ``recurrence_processes``), in offload's threads
    otherwise, so that a big calendar's sync neither stalls the event loop nor shares its
    interpreter. ``reading`` is a function of the module level taking a budget last."""
    if not big:
        return reading(*args)
    return await offload.run_apart(reading, args, tenant)
