"""The push seam: how calgate asks one provider to push a calendar's changes, beside the
change feed (:mod:`calgate.sync.feed`) that reads them.

A subscriber makes a channel for one calendar, renews it (or says it cannot: Google's channels
are made again) and stops it. It raises only :mod:`calgate.errors` exceptions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from calgate.providers.base import AccountContext
from calgate.store.push import Channel


@dataclass(frozen=True, slots=True)
class Address:
    """Where the provider sends notifications (and, for Graph, lifecycle events)."""

    notifications: str
    lifecycle: str


@dataclass(frozen=True, slots=True)
class Made:
    channel_id: str
    resource_id: str
    expires_at: int  # microseconds since the epoch


class Subscriber(Protocol):
    async def make(
        self,
        account: AccountContext,
        calendar_id: str,
        *,
        secret: str,
        address: Address,
        expires_at: int,
    ) -> Made:
        """A new channel for the calendar, sending ``secret`` with each notification."""
        ...

    async def renew(
        self, account: AccountContext, channel: Channel, expires_at: int
    ) -> Made | None:
        """The channel kept until ``expires_at``; None: it cannot be (make a new one)."""
        ...

    async def stop(self, account: AccountContext, channel: Channel) -> None:
        """The provider stops sending (a channel it no longer knows counts as stopped)."""
        ...
