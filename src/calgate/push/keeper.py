"""The channel keeper, run beside the sync scheduler by ``calgate serve`` and ``calgate
worker``: every few seconds it gives each synced Google and Outlook calendar a channel, renews
those that expire soon (made again when the provider cannot renew or lost them, e.g. after a
restart that finds them expired) and stops those whose calendar is no longer synced. Work on
one channel is claimed with a lease, so processes share the channels, one per calendar.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.engine import Connection

from calgate.background import Background
from calgate.errors import CalgateError
from calgate.providers.base import AccountContext
from calgate.push.base import Address, Subscriber
from calgate.services.accounts import AccountService
from calgate.settings import Settings
from calgate.store import accounts as account_store
from calgate.store import push as store
from calgate.store.db import Database, now_us
from calgate.store.ids import new_id
from calgate.store.push import Channel

log = logging.getLogger("calgate.push")

GOOGLE_PATH = "/api/v1/push/google"
MICROSOFT_PATH = "/api/v1/push/microsoft"
LIFECYCLE_PATH = "/api/v1/push/microsoft/lifecycle"
MAX_BACKOFF_US = 3600 * 1_000_000
STOP_SECONDS = 10.0


def _us(seconds: float) -> int:
    return int(seconds * 1_000_000)


@dataclass(frozen=True, slots=True)
class KeeperConfig:
    base_url: str | None  # None: push is off (channels are only stopped)
    ttl_seconds: float = 604_800.0
    renew_before_seconds: float = 3600.0
    check_seconds: float = 30.0
    lease_seconds: float = 120.0
    batch: int = 50
    off_reason: str | None = None  # logged by start() in the processes that would keep channels


def push_off_reason(settings: Settings) -> str | None:
    """Why push is off although enabled (None: it is on, or deliberately disabled)."""
    if not settings.push_enabled:
        return None
    polled = f"Google and Outlook calendars are polled every {settings.sync_interval_seconds:g} s"
    base = (settings.public_url or "").rstrip("/")
    if not base:
        return (
            "push notifications are off: CALGATE_PUBLIC_URL is not set (the HTTPS address "
            f"Google and Microsoft can reach calgate at); {polled}"
        )
    if not base.startswith("https://") and not settings.push_allow_http:
        return (
            f"push notifications are off: CALGATE_PUBLIC_URL {base} is not https:// (Google and "
            f"Microsoft send only to HTTPS; CALGATE_PUSH_ALLOW_HTTP=true for tests); {polled}"
        )
    return None


def push_base_url(settings: Settings) -> str | None:
    """The base of the push URLs, or None (then Google and Outlook calendars are polled every
    ``sync_interval_seconds``; the keeper says why when it starts)."""
    if not settings.push_enabled or push_off_reason(settings) is not None:
        return None
    return (settings.public_url or "").rstrip("/")


class Keeper(Background):
    task_name = "calgate-push"

    def __init__(
        self,
        db: Database,
        accounts: AccountService,
        table: Mapping[str, Subscriber],
        config: KeeperConfig,
    ) -> None:
        super().__init__()
        self.db = db
        self.accounts = accounts
        self.table = dict(table)
        self.config = config
        self.token = new_id()

    async def start(self) -> None:
        if self.config.off_reason is not None:
            log.warning("%s", self.config.off_reason)
        if self.config.base_url is not None:
            await super().start()

    # wake (a lifecycle notification asked for a renewal), stop: Background

    async def _main(self) -> None:
        log.info("push keeper %s started (%s)", self.token, ", ".join(sorted(self.table)))
        self._wake = asyncio.Event()
        while not self._stopping:
            self._wake.clear()
            try:
                while await self.tick() >= self.config.batch:
                    pass
            except Exception:
                log.exception("push: keeping channels failed; trying again")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.config.check_seconds):
                    await self._wake.wait()

    async def tick(self) -> int:
        """Enrol new calendars, then make, renew or stop the channels due; how many."""
        now = now_us()
        until = now + _us(self.config.lease_seconds)
        await self.db.write(lambda c: store.enroll(c, self.table, now))
        due = await self.db.write(
            lambda c: store.claim(
                c, token=self.token, now=now, lease_until=until, limit=self.config.batch
            )
        )
        await asyncio.gather(*(self._keep(channel) for channel in due))
        return len(due)

    async def _context(self, account_id: str) -> AccountContext | None:
        record = await self.db.read(lambda c: account_store.get_account(c, account_id, None))
        return None if record is None else self.accounts.context_of(record)

    async def _keep(self, channel: Channel) -> None:
        account = await self._context(channel.account_id)
        subscriber = self.table.get(channel.kind)
        if account is None or subscriber is None or channel.gone:
            if account is not None and subscriber is not None:
                await self._stop_quietly(subscriber, account, channel)
            await self.db.write(lambda c: store.remove(c, channel.account_id, channel.calendar_id))
            return
        try:
            await self._renew(subscriber, account, channel)
        except Exception as error:
            if not isinstance(error, CalgateError):
                log.exception("push %s/%s failed", channel.account_id, channel.calendar_id)
            else:
                log.info("push %s/%s failed: %s", channel.account_id, channel.calendar_id, error)
            message = (
                f"{error.error.type}: {error.detail}"
                if isinstance(error, CalgateError)
                else f"{type(error).__name__}: {error}"
            )
            now = now_us()
            delay = min(
                MAX_BACKOFF_US, _us(self.config.check_seconds) * 2 ** min(channel.failures, 12)
            )
            await self.db.write(
                lambda c: store.failed(
                    c, channel, token=self.token, now=now, error=message, retry_at=now + delay
                )
            )

    async def _renew(
        self, subscriber: Subscriber, account: AccountContext, channel: Channel
    ) -> None:
        expires_at = now_us() + _us(self.config.ttl_seconds)
        made = None
        if channel.channel_id and channel.expires_at > now_us():
            made = await subscriber.renew(account, channel, expires_at)
        secret_hash = channel.secret_hash
        if made is None:
            secret = secrets.token_urlsafe(32)
            base = self.config.base_url or ""
            path = GOOGLE_PATH if channel.kind == "GOOGLE_OAUTH" else MICROSOFT_PATH
            made = await subscriber.make(
                account,
                channel.calendar_id,
                secret=secret,
                address=Address(base + path, base + LIFECYCLE_PATH),
                expires_at=expires_at,
            )
            secret_hash = store.digest(secret)
            if channel.channel_id:  # the old one (Google: still sending until stopped)
                await self._stop_quietly(subscriber, account, channel)
        now = now_us()
        left = made.expires_at - now
        renew_at = now + max(_us(1), left - min(_us(self.config.renew_before_seconds), left // 2))
        kept = await self.db.write(
            lambda c: store.established(
                c,
                channel,
                token=self.token,
                now=now,
                channel_id=made.channel_id,
                resource_id=made.resource_id,
                secret_hash=secret_hash,
                expires_at=made.expires_at,
                renew_at=renew_at,
            )
        )
        if not kept:
            log.warning("push %s/%s: lease lost", channel.account_id, channel.calendar_id)
        else:
            log.info(
                "push %s/%s: channel %s until %s",
                channel.account_id,
                channel.calendar_id,
                made.channel_id,
                made.expires_at,
            )

    async def _stop_quietly(
        self, subscriber: Subscriber, account: AccountContext, channel: Channel
    ) -> None:
        try:
            async with asyncio.timeout(STOP_SECONDS):
                await subscriber.stop(account, channel)
        except Exception as error:  # it expires by itself; notifications for it are ignored
            log.info("push: stopping channel %s failed: %s", channel.channel_id, error)

    async def forget_account(self, account: AccountContext) -> None:
        """Stop every channel of an account that is being deleted, and drop them."""
        channels = await self.db.read(lambda c: store.of_account(c, account.id))
        subscriber = self.table.get(account.type)
        if subscriber is not None:
            await asyncio.gather(*(self._stop_quietly(subscriber, account, c) for c in channels))
        await self.db.write(lambda c: store.remove(c, account.id))


def rearm_channels(
    conn: Connection, tenant_id: str, account_id: str, account_type: str, status: str
) -> None:
    """An account status effect (:attr:`AccountService.on_status`): an account connected
    again (back to OK, e.g. a hosted reconnect) has its channels made or renewed at the
    keeper's next look, with the new credentials, instead of after a failure's delay."""
    if status == "OK":
        store.rearm(conn, account_id, now_us())


__all__ = ["Keeper", "KeeperConfig", "push_base_url", "push_off_reason", "rearm_channels"]
