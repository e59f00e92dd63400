"""The one table from account type to provider. Adding a provider means one line here."""

from __future__ import annotations

import httpx

from calgate.errors import FeatureNotImplemented
from calgate.providers.base import Provider
from calgate.providers.caldav import CalDAVProvider, ICloudProvider
from calgate.providers.google import GoogleProvider
from calgate.providers.http import Policy, make_client
from calgate.providers.local import LocalProvider
from calgate.providers.microsoft import MicrosoftProvider
from calgate.secrets import SecretBox
from calgate.services.accounts import AccountService
from calgate.settings import Settings
from calgate.store.db import Database


class Providers:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        accounts: AccountService | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """``accounts`` is the runtime's account service (providers save refreshed tokens and
        set account status through it, so its cache never shows a stale status);
        ``transport`` replaces the network for the OAuth providers (tests)."""
        self.settings = settings
        # One HTTP client for Google and Outlook.
        self.http = make_client(transport=transport)
        policy = Policy(
            timeout=settings.provider_timeout_seconds,
            retries=settings.provider_retries,
            max_answer_bytes=settings.provider_max_answer_bytes,
        )
        if accounts is None:
            key = settings.secret_key.get_secret_value() if settings.secret_key else None
            accounts = AccountService(db, SecretBox.from_settings(key, settings.data_dir))
        self.table: dict[str, Provider] = {
            "LOCAL": LocalProvider(db),
            "CALDAV": CalDAVProvider(settings, db, accounts=accounts),
            "ICLOUD": ICloudProvider(settings, db, accounts=accounts),
            "GOOGLE_OAUTH": GoogleProvider(settings, db, accounts, self.http, policy),
            "OUTLOOK": MicrosoftProvider(settings, db, accounts, self.http, policy),
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
        await self.http.aclose()
