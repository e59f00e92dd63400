"""Changes made through calgate, as sync must know them: an effect run in the transaction of
each such change (see :mod:`calgate.sync.engine`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from sqlalchemy.engine import Connection

from calgate.providers.base import Change, Effects
from calgate.store import mirror
from calgate.sync.feed import ChangeFeed


class OwnWrites:
    def __init__(self, feeds: Mapping[str, ChangeFeed]) -> None:
        self.feeds = feeds

    def seen(self, conn: Connection, change: Change) -> bool:
        """Record the version calgate's write left at the provider; True when sync already
        saw (and reported) that very version."""
        feed = self.feeds.get(change.account.type)
        if feed is None:
            return False
        item_id, removed = feed.own_item(change)
        gone = dataclasses.replace(change.event, is_cancelled=True) if removed else None
        found = mirror.note_own_write(
            conn, change.account.id, change.calendar_id, item_id, change.event.version, deleted=gone
        )
        return found is True

    def guard(self, inner: Effects) -> Effects:
        """``inner`` (the webhook effect), skipped for a change sync has reported already."""

        def effect(conn: Connection, change: Change) -> None:
            if not self.seen(conn, change):
                inner(conn, change)

        return effect
