"""Everything a running calgate holds: settings, database, providers, services."""

from __future__ import annotations

from dataclasses import dataclass

from calgate.providers.registry import Providers
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

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        db = Database(
            settings.effective_database_url,
            synchronous=settings.sqlite_synchronous,
            pool_size=settings.db_pool_size,
        )
        providers = Providers(settings, db)
        accounts = AccountService(db)
        return cls(settings, db, providers, accounts, EventService(accounts, providers))

    async def start(self) -> None:
        await self.db.migrate()

    async def aclose(self) -> None:
        await self.providers.aclose()
        await self.db.dispose()
