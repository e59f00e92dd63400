"""Everything a running calgate holds: settings, database, providers, services."""

from __future__ import annotations

from dataclasses import dataclass, field

from calgate.cache import TTLCache
from calgate.providers.registry import Providers
from calgate.secrets import SecretBox
from calgate.services.accounts import AccountService
from calgate.services.events import EventService
from calgate.settings import Settings
from calgate.store.db import Database


@dataclass
class Runtime:
    settings: Settings
    db: Database
    providers: Providers
    accounts: AccountService
    events: EventService
    keys: TTLCache[str, str] = field(default_factory=lambda: TTLCache(0.0))

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        db = Database(
            settings.effective_database_url,
            synchronous=settings.sqlite_synchronous,
            pool_size=settings.db_pool_size,
        )
        providers = Providers(settings, db)
        box = SecretBox.from_settings(
            settings.secret_key.get_secret_value() if settings.secret_key else None,
            settings.data_dir,
        )
        accounts = AccountService(db, box, settings.cache_seconds)
        return cls(
            settings,
            db,
            providers,
            accounts,
            EventService(accounts, providers),
            TTLCache(settings.cache_seconds),
        )

    async def start(self) -> None:
        await self.db.migrate()

    async def aclose(self) -> None:
        await self.providers.aclose()
        await self.db.dispose()
