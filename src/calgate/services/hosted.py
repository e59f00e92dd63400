"""Hosted auth: connecting a Google or Outlook account through the provider's consent screen.

1. ``link``: the API client asks for a link; calgate answers the provider's authorization URL
   with a PKCE challenge and a ``state`` that seals the whole flow (tenant, provider, verifier,
   redirect URLs, expiry) with calgate's secret key.
2. The user consents; the provider sends the browser back to calgate's callback
   (``{public_url}/api/v1/hosted/accounts/callback``) with ``code`` and ``state``.
3. ``complete``: calgate opens the state (refused if forged, altered or expired), exchanges the
   code with the PKCE verifier, proves the tokens by reading the user's e-mail, and stores the
   account.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from calgate.errors import CalgateError, InvalidParameters, Unauthorized
from calgate.providers.oauth import (
    exchange_code,
    new_verifier,
    open_state,
    pkce_challenge,
    seal_state,
)
from calgate.providers.registry import Providers
from calgate.providers.remote import OAuthProvider
from calgate.services.accounts import AccountService
from calgate.settings import Settings

CALLBACK_PATH = "/api/v1/hosted/accounts/callback"
MAX_LINK_SECONDS = 24 * 3600
MIN_LINK_SECONDS = 60
# Names a client may give for each account type (Unipile's hosted-auth names included).
ALIASES: dict[str, str] = {
    "GOOGLE_OAUTH": "GOOGLE_OAUTH",
    "GOOGLE": "GOOGLE_OAUTH",
    "GOOGLE_CALENDAR": "GOOGLE_OAUTH",
    "OUTLOOK": "OUTLOOK",
    "MICROSOFT": "OUTLOOK",
}


@dataclass(frozen=True, slots=True)
class LinkRequest:
    provider: str  # an ALIASES key
    name: str | None = None
    expires_at: dt.datetime | None = None
    success_redirect_url: str | None = None
    failure_redirect_url: str | None = None


@dataclass(frozen=True, slots=True)
class Completed:
    account_id: str
    account_type: str
    success_redirect_url: str | None


class HostedAuth:
    def __init__(self, settings: Settings, providers: Providers, accounts: AccountService):
        self.settings = settings
        self.providers = providers
        self.accounts = accounts

    @property
    def redirect_uri(self) -> str:
        return self.settings.base_url + CALLBACK_PATH

    def _provider(self, account_type: str) -> OAuthProvider:
        provider = self.providers.for_type(account_type)
        if not isinstance(provider, OAuthProvider):
            raise InvalidParameters(f"provider: {account_type} accounts do not use OAuth")
        return provider

    def link(self, tenant_id: str, request: LinkRequest) -> str:
        """The URL to send the user to."""
        account_type = ALIASES.get(request.provider.upper())
        if account_type is None:
            raise InvalidParameters(
                f"provider: {request.provider!r} has no hosted flow; use GOOGLE_OAUTH or OUTLOOK"
            )
        provider = self._provider(account_type)
        if not provider.app.client_id:
            # The link's body takes no client: name the settings (not require_client's body fields).
            prefix = f"CALGATE_{provider.app.provider.upper()}_CLIENT"
            raise InvalidParameters(
                f"provider: no {provider.app.provider} OAuth client is configured; the hosted "
                f"flow uses calgate's own client: set {prefix}_ID and {prefix}_SECRET in "
                "calgate's settings"
            )
        ttl = float(self.settings.hosted_link_seconds)
        if request.expires_at is not None:
            ttl = (request.expires_at - dt.datetime.now(dt.UTC)).total_seconds()
        if not MIN_LINK_SECONDS <= ttl <= MAX_LINK_SECONDS:
            raise InvalidParameters("expiresOn: must be between 1 minute and 24 hours from now")
        verifier = new_verifier()
        flow = {"tenant": tenant_id, "type": account_type, "verifier": verifier}
        optional = {
            "name": request.name,
            "ok": request.success_redirect_url,
            "ko": request.failure_redirect_url,
        }
        flow |= {k: v for k, v in optional.items() if v}
        state = seal_state(self.accounts.box, flow, ttl)
        return provider.app.authorization_url(self.redirect_uri, state, pkce_challenge(verifier))

    def failure_url(self, state: str) -> str | None:
        """Where to send the browser when the flow of ``state`` fails (None: answer the error)."""
        try:
            return open_state(self.accounts.box, state).get("ko")
        except CalgateError:
            return None

    async def complete(self, code: str | None, state: str, error: str | None) -> Completed:
        flow = open_state(self.accounts.box, state)
        provider = self._provider(flow["type"])
        if error:
            raise Unauthorized(
                f"{provider.label} did not grant access ({error[:100]}); the user may have "
                "refused consent"
            )
        if not code:
            raise InvalidParameters("code: missing from the provider's redirect")
        tokens = await exchange_code(
            provider.http, provider.policy, provider.app, code, flow["verifier"], self.redirect_uri
        )
        account_id = await provider.connect_tokens(
            self.accounts, flow["tenant"], tokens, name=flow.get("name")
        )
        return Completed(account_id, flow["type"], flow.get("ok"))
