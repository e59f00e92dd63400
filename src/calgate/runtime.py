"""Everything a running calgate holds: settings, database, providers, services."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx

from calgate import offload, sync
from calgate.cache import TTLCache
from calgate.domain import cursor, recurrence
from calgate.freebusy.registry import sources as freebusy_sources
from calgate.inbound import Inbound, InvitationIndex
from calgate.mail import Invitations, MailConfig, NotificationStates, SmtpChannel
from calgate.mail.reply import Replies
from calgate.meetings import MeetingLinks
from calgate.outbox import Outbox
from calgate.outbox.worker import Backoff, Channel, Worker, WorkerConfig
from calgate.providers.base import AccountContext, Capabilities
from calgate.providers.registry import Providers
from calgate.push import subscribers
from calgate.push.inbox import Inbox
from calgate.push.keeper import (
    Keeper,
    KeeperConfig,
    push_base_url,
    push_off_reason,
    rearm_channels,
)
from calgate.secrets import SecretBox
from calgate.services.accounts import AccountService
from calgate.services.events import EventService
from calgate.services.freebusy import FreeBusyService, Limits
from calgate.settings import Settings
from calgate.store.db import Database
from calgate.sync import ChangeFeed
from calgate.sync.engine import Engine
from calgate.sync.own import OwnWrites
from calgate.sync.reads import MirrorReads
from calgate.sync.scheduler import Scheduler, SyncConfig
from calgate.webhooks import WebhookChannel, WebhookEffect, WebhookService
from calgate.webhooks.status import AccountStatusEffect


@dataclass
class Runtime:
    settings: Settings
    db: Database
    providers: Providers
    accounts: AccountService
    events: EventService
    keys: TTLCache[str, str] = field(default_factory=lambda: TTLCache(0.0))
    # Invitations and webhooks (set up by _install_outbox).
    outbox: Outbox = field(default_factory=Outbox)
    mail: MailConfig | None = None
    webhooks: WebhookService = field(init=False)
    sync_feeds: dict[str, ChangeFeed] = field(init=False)
    own_writes: OwnWrites = field(init=False)
    freebusy: FreeBusyService = field(init=False)
    inbound: Inbound = field(init=False)
    push_inbox: Inbox = field(init=False)
    push_keeper: Keeper = field(init=False)

    @classmethod
    def build(
        cls, settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> Runtime:
        """``transport`` replaces the network of the OAuth providers (tests)."""
        db = Database(
            settings.effective_database_url,
            synchronous=settings.sqlite_synchronous,
            pool_size=settings.db_pool_size,
        )
        box = SecretBox.from_settings(
            settings.secret_key.get_secret_value() if settings.secret_key else None,
            settings.data_dir,
        )
        cursor.use_key(box.derive("cursor"))
        recurrence.configure(settings.recurrence_work_limit)
        offload.configure(
            settings.recurrence_threads,
            settings.recurrence_processes,
            settings.recurrence_priority,
        )
        accounts = AccountService(db, box, settings.cache_seconds)
        providers = Providers(settings, db, accounts, transport=transport)
        runtime = cls(
            settings,
            db,
            providers,
            accounts,
            EventService(accounts, providers),
            TTLCache(settings.cache_seconds),
        )
        runtime._install_outbox()
        runtime._install_push()
        runtime.freebusy = FreeBusyService(
            accounts,
            freebusy_sources(providers, db, runtime.events.mirror),
            Limits.from_settings(settings),
        )
        return runtime

    def _capabilities_of(self, account: AccountContext) -> Capabilities:
        return self.providers.for_type(account.type).capabilities.adjusted(account.params)

    def _install_outbox(self) -> None:
        """Invitations, meeting links and webhooks: effects writing to the outbox with every
        event change, and the notification state read back with events."""
        s = self.settings
        self.mail = MailConfig.from_settings(s)
        self.events.meetings = MeetingLinks(s.meeting_url_template)
        sender = self.mail.sender if self.mail else None
        self.events.effects.append(Invitations(self.outbox, self._capabilities_of, sender))
        self.events.replies = Replies(self.outbox, sender)
        self.events.effects.append(InvitationIndex(self._capabilities_of))
        self.inbound = Inbound(self.db, self.events)
        # Provider sync records calgate's own changes, so that it does not report them twice.
        self.sync_feeds = sync.feeds(self.providers)
        self.own_writes = OwnWrites(self.sync_feeds)
        self.events.mirror = MirrorReads(self.db, s.sync_mirror_max_age_seconds)
        self.events.effects.append(self.own_writes.guard(WebhookEffect(self.outbox)))
        self.events.annotators.append(NotificationStates())
        self.accounts.on_status.append(AccountStatusEffect(self.outbox))
        self.webhooks = WebhookService(
            self.db, self.accounts.box, self.outbox, allow_loopback=s.allow_loopback_urls
        )

    def _install_push(self) -> None:
        """Push channels (docs/push.md): the keeper making them, the inbox taking their
        notifications; an account's channels are stopped when it is deleted."""
        s = self.settings
        config = KeeperConfig(
            base_url=push_base_url(s),
            off_reason=push_off_reason(s),
            ttl_seconds=s.push_ttl_seconds,
            renew_before_seconds=s.push_renew_before_seconds,
            check_seconds=s.push_check_seconds,
        )
        self.push_keeper = Keeper(self.db, self.accounts, subscribers(self.providers), config)
        self.push_inbox = Inbox(self.db)
        self.push_inbox.keepers.append(self.push_keeper.wake)
        self.accounts.before_delete.append(self.push_keeper.forget_account)
        self.accounts.on_status.append(rearm_channels)

    def worker(self) -> Worker:
        """An outbox worker delivering mail (when SMTP is configured) and webhooks."""
        s = self.settings
        channels: list[Channel] = [
            WebhookChannel(
                self.db,
                self.accounts.box,
                timeout=s.webhook_timeout_seconds,
                max_retries=s.webhook_max_retries,
                allow_loopback=s.allow_loopback_urls,
            )
        ]
        if self.mail is not None:
            channels.append(SmtpChannel(self.mail))
        config = WorkerConfig(
            concurrency=s.worker_concurrency,
            per_tenant=s.worker_tenant_concurrency,
            poll_seconds=s.worker_poll_seconds,
            lease_seconds=s.worker_lease_seconds,
            backoff=Backoff(s.retry_base_seconds, s.retry_max_seconds),
            retention_seconds=s.outbox_retention_days * 86400,
        )
        return Worker(self.db, self.outbox, channels, config)

    def scheduler(self) -> Scheduler:
        """The provider sync scheduler (reports changes through the webhook effect)."""
        s = self.settings
        engine = Engine(
            self.db,
            self.sync_feeds,
            WebhookEffect(self.outbox),
            interval_seconds=s.sync_interval_seconds,
        )
        config = SyncConfig(
            interval_seconds=s.sync_interval_seconds,
            concurrency=s.sync_concurrency,
            per_account=s.sync_per_account,
            lease_seconds=s.sync_lease_seconds,
            tick_seconds=min(1.0, s.sync_interval_seconds),
        )
        return Scheduler(self.db, self.accounts, engine, config)

    async def start(self) -> None:
        await self.db.migrate()

    async def aclose(self) -> None:
        await self.providers.aclose()
        await self.db.dispose()
