"""What a push notification does: it is checked (the channel must be known and carry its
secret), recorded durably (its calendar's sync is due now, in one committed write) and
answered; the sync itself runs in the scheduler, never in the request. A burst of
notifications for one calendar makes one run (or one more, when the burst races a run).

Forged or unknown notifications are answered like the others (the sender learns nothing),
recorded nowhere and counted in ``/metrics``.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any, Final

from calgate.cache import TTLCache
from calgate.push import stats
from calgate.store import push as store
from calgate.store.db import Database, now_us
from calgate.store.push import Channel

log = logging.getLogger("calgate.push")

GOOGLE_CHANGES: Final = ("exists", "not_exists")
LIFECYCLE: Final = ("reauthorizationRequired", "subscriptionRemoved", "missed")
# A known channel is looked up again after this long (a channel id is never reused with
# another secret, so a cached entry can at worst accept a stopped channel's notice briefly).
KNOWN_SECONDS: Final = 5.0
Key = tuple[str, str]


class Inbox:
    """Notifications arriving together are recorded together: each request waits for the one
    write (group commit) that covers it, then is answered."""

    def __init__(self, db: Database) -> None:
        self.db = db
        # Called after a notification is recorded: this process's scheduler looks at once.
        self.wakers: list[Callable[[], None]] = []
        # Called after a lifecycle notification only: this process's channel keeper looks at
        # once (a renewal or a new subscription is due); plain notifications leave it be.
        self.keepers: list[Callable[[], None]] = []
        self._known: TTLCache[str, Channel] = TTLCache(KNOWN_SECONDS)
        self._pending: Counter[Key] = Counter()
        self._waiting: list[asyncio.Future[None]] = []
        self._flusher: asyncio.Task[None] | None = None

    def _wake(self) -> None:
        for wake in self.wakers:
            wake()

    async def _check(self, provider: str, channel_id: str, secret: str | None) -> Channel | None:
        channel = self._known.get(channel_id)
        if channel is None and channel_id:
            channel = await self.db.read(lambda c: store.by_channel_id(c, channel_id))
            if channel is not None:
                self._known.put(channel_id, channel)
        if channel is None:
            stats.count(provider, "unknown")
            return None
        if not store.secret_matches(channel, secret):
            log.warning(
                "push: %s notification for channel %s with a wrong secret", provider, channel_id
            )
            stats.count(provider, "forged")
            return None
        return channel

    async def _record(self, provider: str, channels: list[Channel]) -> None:
        """Returns once a committed write has made the channels' calendars due."""
        if not channels:
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        for channel in channels:
            self._pending[channel.account_id, channel.calendar_id] += 1
        self._waiting.append(done)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        await done
        stats.count(provider, "accepted", len(channels))

    async def _flush(self) -> None:
        while self._waiting:
            pending, waiting = self._pending, self._waiting
            self._pending, self._waiting = Counter(), []
            now = now_us()

            def record(conn: Any, pending: Counter[Key] = pending, now: int = now) -> None:
                store.notified(conn, ((a, c, n) for (a, c), n in sorted(pending.items())), now)

            try:
                await self.db.write(record)
            except Exception as error:
                for done in waiting:
                    done.set_exception(error)
                continue
            for done in waiting:
                done.set_result(None)
            self._wake()

    async def google(self, headers: Mapping[str, str]) -> str:
        """One Google notification (``X-Goog-*`` headers); its outcome."""
        channel = await self._check(
            "google", headers.get("x-goog-channel-id", ""), headers.get("x-goog-channel-token")
        )
        if channel is None:
            return "refused"
        state = headers.get("x-goog-resource-state", "")
        if channel.resource_id and headers.get("x-goog-resource-id") not in (
            None,
            channel.resource_id,
        ):
            stats.count("google", "forged")
            return "refused"
        if state == "sync":
            stats.count("google", "handshake")
            return "handshake"
        if state not in GOOGLE_CHANGES:
            stats.count("google", "ignored")
            return "ignored"
        await self._record("google", [channel])
        return "accepted"

    async def _entries(self, body: Any) -> list[tuple[Channel, dict[str, Any]]]:
        values = body.get("value") if isinstance(body, dict) else None
        found: list[tuple[Channel, dict[str, Any]]] = []
        for entry in values if isinstance(values, list) else ():
            if not isinstance(entry, dict):
                continue
            subscription = str(entry.get("subscriptionId") or "")
            secret = entry.get("clientState")
            channel = await self._check(
                "microsoft", subscription, secret if isinstance(secret, str) else None
            )
            if channel is not None:
                found.append((channel, entry))
        return found

    async def microsoft(self, body: Any) -> int:
        """A batch of Graph change notifications; how many were accepted."""
        found = await self._entries(body)
        await self._record("microsoft", [channel for channel, _ in found])
        return len(found)

    async def lifecycle(self, body: Any) -> int:
        """Graph lifecycle notifications: ``reauthorizationRequired`` renews the subscription
        now, ``subscriptionRemoved`` makes a new one (and syncs), ``missed`` syncs."""
        found = await self._entries(body)
        now = now_us()

        def record(conn: Any) -> None:
            for channel, entry in found:
                event = entry.get("lifecycleEvent")
                if event == "reauthorizationRequired":
                    store.renew_now(conn, channel, now)
                elif event == "subscriptionRemoved":
                    store.renew_now(conn, channel, now, lost=True)
                    store.make_due(conn, channel.account_id, channel.calendar_id, now)
                elif event == "missed":
                    store.make_due(conn, channel.account_id, channel.calendar_id, now)

        if found:
            await self.db.write(record)
            stats.count("microsoft", "lifecycle", len(found))
            self._wake()
            for wake in self.keepers:
                wake()
        return len(found)


__all__ = ["Inbox"]
