"""The one table from account type to provider. Adding a provider means one line here."""

from __future__ import annotations

from calgate.errors import FeatureNotImplemented
from calgate.providers.base import Provider
from calgate.providers.caldav import CalDAVProvider, ICloudProvider
from calgate.providers.local import LocalProvider
from calgate.settings import Settings
from calgate.store.db import Database


class Providers:
    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.table: dict[str, Provider] = {
            "LOCAL": LocalProvider(db),
            "CALDAV": CalDAVProvider(settings, db),
            "ICLOUD": ICloudProvider(settings, db),
        }

    def for_type(self, account_type: str) -> Provider:
        provider = self.table.get(account_type)
        if provider is None:
            raise FeatureNotImplemented(f"account type {account_type!r} has no provider in calgate")
        return provider

    async def aclose(self) -> None:
        for provider in self.table.values():
            close = getattr(provider, "aclose", None)
            if close is not None:
                await close()
