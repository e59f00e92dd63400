"""Hosted auth: connecting a Google or Outlook account through the provider's consent screen.

1. ``link``: the API client asks for a link; calgate answers the provider's authorization URL
   with a PKCE challenge and a ``state`` that seals the whole flow (tenant, provider, verifier,
   redirect URLs, expiry) with calgate's secret key.
2. The user consents; the provider sends the browser back to calgate's callback
   (``{public_url}/api/v1/hosted/accounts/callback``) with ``code`` and ``state``.
3. ``complete``: calgate opens the state (refused if forged, altered or expired), exchanges the
   code with the PKCE verifier, proves the tokens by reading the user's e-mail, and stores the
   account.

A link may also name several account kinds (or ``*``), or a kind connected with a password
(ICLOUD, CALDAV) or none (LOCAL): it then opens calgate's own page (``PAGE_PATH``,
:mod:`calgate.api.pages.hosted`), where the user picks a kind; Google and Outlook go on to
their consent screens, the others fill in a form checked live by the connect path of
``POST /api/v1/accounts``.

A reconnect link (``type: "reconnect"``) gives an existing account new credentials, keeping
its id, calendars, mirror and webhooks: Google and Outlook through their consent screens
(:meth:`HostedAuth.complete`), ICLOUD and CALDAV through the page's form for that one account
(:meth:`HostedAuth.connect`).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlencode

import httpx

from calgate import __version__
from calgate.errors import CalgateError, InvalidParameters, Unauthorized
from calgate.providers.caldav import CalDAVProvider
from calgate.providers.oauth import (
    exchange_code,
    new_verifier,
    open_state,
    pkce_challenge,
    seal_state,
)
from calgate.providers.registry import Providers
from calgate.providers.remote import OAuthProvider
from calgate.security import public_transport, validate_public_url
from calgate.services.accounts import AccountService
from calgate.settings import Settings

log = logging.getLogger("calgate.hosted")

CALLBACK_PATH = "/api/v1/hosted/accounts/callback"
PAGE_PATH = "/hosted/accounts"
MAX_LINK_SECONDS = 24 * 3600
MIN_LINK_SECONDS = 60
NOTIFY_TIMEOUT = 10.0
# Names a client may give for each account type (Unipile's hosted-auth names included).
ALIASES: dict[str, str] = {
    "GOOGLE_OAUTH": "GOOGLE_OAUTH",
    "GOOGLE": "GOOGLE_OAUTH",
    "GOOGLE_CALENDAR": "GOOGLE_OAUTH",
    "OUTLOOK": "OUTLOOK",
    "MICROSOFT": "OUTLOOK",
    "ICLOUD": "ICLOUD",
    "APPLE": "ICLOUD",
    "CALDAV": "CALDAV",
    "LOCAL": "LOCAL",
}


@dataclass(frozen=True, slots=True)
class Kind:
    """An account kind as the hosted page offers it."""

    type: str
    label: str
    method: Literal["oauth", "password", "local"]
    needs_url: bool = False
    help: str = ""


KINDS: dict[str, Kind] = {
    k.type: k
    for k in (
        Kind("GOOGLE_OAUTH", "Google Calendar", "oauth"),
        Kind("OUTLOOK", "Microsoft Outlook or Microsoft 365", "oauth"),
        Kind(
            "ICLOUD",
            "iCloud Calendar",
            "password",
            help="Use an app-specific password, not your Apple Account password: create one "
            "at account.apple.com, Sign-In and Security, App-Specific Passwords.",
        ),
        Kind(
            "CALDAV",
            "Another CalDAV server (Nextcloud, Fastmail, Radicale…)",
            "password",
            needs_url=True,
            help="Your provider's CalDAV address is in its help pages (Nextcloud: Calendar, "
            "Settings, Copy primary CalDAV address). Where the provider offers app "
            "passwords (Nextcloud: Settings, Security; Fastmail: Settings, Privacy & "
            "Security), create one for calgate rather than giving your main password.",
        ),
        Kind("LOCAL", "A calendar kept by this server", "local"),
    )
}
# What `*` offers: every kind connecting an outside calendar (LOCAL only when named).
ANY = ("GOOGLE_OAUTH", "OUTLOOK", "ICLOUD", "CALDAV")


@dataclass(frozen=True, slots=True)
class LinkRequest:
    providers: tuple[str, ...]  # ALIASES keys, or ("*",)
    name: str | None = None
    expires_at: dt.datetime | None = None
    success_redirect_url: str | None = None
    failure_redirect_url: str | None = None
    notify_url: str | None = None
    reconnect: str | None = None  # ``type: "reconnect"``: the account to connect again


@dataclass(frozen=True, slots=True)
class Link:
    """A hosted page link, opened: what its sealed token says."""

    token: str
    tenant: str
    kinds: tuple[Kind, ...]
    name: str | None
    success_redirect_url: str | None
    failure_redirect_url: str | None
    expires: float
    flow: dict[str, str] = field(repr=False)

    @property
    def reconnect(self) -> str | None:
        """The account a reconnect link connects again (None: a link creating one)."""
        return self.flow.get("reconnect")


@dataclass(frozen=True, slots=True)
class Completed:
    account_id: str
    account_type: str
    success_redirect_url: str | None


Connect = Callable[[str, Mapping[str, Any]], Awaitable[str]]


def with_query(url: str, **query: str) -> str:
    """``url`` with ``query`` added to its own (a redirect of the link)."""
    return url + ("&" if "?" in url else "?") + urlencode(query)


class HostedAuth:
    def __init__(
        self,
        settings: Settings,
        providers: Providers,
        accounts: AccountService,
        connect: Connect | None = None,
    ):
        self.settings = settings
        self.providers = providers
        self.accounts = accounts
        self.connect_account = connect  # EventService.connect: the POST /api/v1/accounts path

    @property
    def redirect_uri(self) -> str:
        return self.settings.base_url + CALLBACK_PATH

    def _provider(self, account_type: str) -> OAuthProvider:
        provider = self.providers.for_type(account_type)
        if not isinstance(provider, OAuthProvider):
            raise InvalidParameters(f"provider: {account_type} accounts do not use OAuth")
        return provider

    def _oauth_ready(self, account_type: str) -> bool:
        return bool(self._provider(account_type).app.client_id)

    def _kinds(self, names: tuple[str, ...]) -> list[str]:
        if names == ("*",):
            return [k for k in ANY if KINDS[k].method != "oauth" or self._oauth_ready(k)]
        types: list[str] = []
        for name in names:
            account_type = ALIASES.get(name.upper())
            if account_type is None:
                raise InvalidParameters(
                    f"provider: {name!r} has no hosted flow; use {', '.join(KINDS)} or '*'"
                )
            if account_type not in types:
                types.append(account_type)
        return types

    def _flow(self, tenant_id: str, request: LinkRequest) -> tuple[dict[str, str], float]:
        """What the link seals (tenant, redirect and notify URLs) and how long it lives."""
        ttl = float(self.settings.hosted_link_seconds)
        if request.expires_at is not None:
            ttl = (request.expires_at - dt.datetime.now(dt.UTC)).total_seconds()
        if not MIN_LINK_SECONDS <= ttl <= MAX_LINK_SECONDS:
            raise InvalidParameters("expiresOn: must be between 1 minute and 24 hours from now")
        if request.notify_url:
            validate_public_url(
                request.notify_url,
                allow_loopback=self.settings.allow_loopback_urls,
                field="notify_url",
            )
        flow = {"tenant": tenant_id}
        optional = {
            "name": request.name,
            "ok": request.success_redirect_url,
            "ko": request.failure_redirect_url,
            "notify": request.notify_url,
        }
        flow |= {k: v for k, v in optional.items() if v}
        return flow, ttl

    def link(self, tenant_id: str, request: LinkRequest) -> str:
        """The URL to send the user to: the consent screen when the link names one of Google
        and Outlook alone, else calgate's page (``PAGE_PATH``) offering the kinds named."""
        types = self._kinds(request.providers)
        if not types:
            raise InvalidParameters("provider: name at least one provider for the link")
        flow, ttl = self._flow(tenant_id, request)
        if len(types) == 1 and KINDS[types[0]].method == "oauth":
            return self._consent_url(types[0], flow, ttl)
        for account_type in types:
            if KINDS[account_type].method == "oauth":
                self._consent_client(account_type)
        flow["kinds"] = ",".join(types)
        return f"{self.settings.base_url}{PAGE_PATH}/{seal_state(self.accounts.box, flow, ttl)}"

    async def reconnect_link(self, tenant_id: str, request: LinkRequest) -> str:
        """Unipile's ``type: "reconnect"``: the URL that connects the account
        ``request.reconnect`` again (its id, calendars, mirror and webhooks stay): its
        provider's consent screen for Google and Outlook (see :meth:`complete`), calgate's
        page on that account's form for ICLOUD and CALDAV (see :meth:`connect`). The
        providers named, if any, must include its kind."""
        assert request.reconnect is not None
        record = await self.accounts.record(tenant_id, request.reconnect)
        named = [] if request.providers in ((), ("*",)) else self._kinds(request.providers)
        if named and record.type not in named:
            raise InvalidParameters(
                f"providers: account {record.id!r} is {record.type}, which the link does not name"
            )
        kind = KINDS.get(record.type)
        if kind is None or kind.method == "local":
            raise InvalidParameters(
                f"reconnect_account: a {record.type} account has no credentials to reconnect"
            )
        flow, ttl = self._flow(tenant_id, request)
        flow["reconnect"] = record.id
        if kind.method == "oauth":
            return self._consent_url(record.type, flow, ttl)
        token = seal_state(self.accounts.box, {**flow, "kinds": record.type}, ttl)
        return f"{self.settings.base_url}{PAGE_PATH}/{token}/form/{record.type}"

    def _consent_client(self, account_type: str) -> OAuthProvider:
        provider = self._provider(account_type)
        if not provider.app.client_id:
            # The link's body takes no client: name the settings (not require_client's body fields).
            prefix = f"CALGATE_{provider.app.provider.upper()}_CLIENT"
            raise InvalidParameters(
                f"provider: no {provider.app.provider} OAuth client is configured; the hosted "
                f"flow uses calgate's own client: set {prefix}_ID and {prefix}_SECRET in "
                "calgate's settings"
            )
        return provider

    def _consent_url(self, account_type: str, flow: Mapping[str, str], ttl: float) -> str:
        provider = self._consent_client(account_type)
        verifier = new_verifier()
        sealed = {**flow, "type": account_type, "verifier": verifier}
        state = seal_state(self.accounts.box, sealed, ttl)
        return provider.app.authorization_url(self.redirect_uri, state, pkce_challenge(verifier))

    def open_link(self, token: str) -> Link:
        """The page link sealed in ``token`` (400 when forged, ``expired_link`` when late)."""
        flow = open_state(self.accounts.box, token)
        kinds = tuple(KINDS[k] for k in flow.get("kinds", "").split(",") if k in KINDS)
        if not kinds:
            raise InvalidParameters("link: not a hosted page link; ask for a new one")
        return Link(
            token,
            flow["tenant"],
            kinds,
            flow.get("name"),
            flow.get("ok"),
            flow.get("ko"),
            float(flow["exp"]),
            flow,
        )

    @staticmethod
    def kind(link: Link, account_type: str) -> Kind:
        for kind in link.kinds:
            if kind.type == account_type:
                return kind
        raise InvalidParameters(f"provider: this link does not offer {account_type!r}")

    def start(self, link: Link, account_type: str) -> str:
        """The consent URL for a Google or Outlook account chosen on the page."""
        if self.kind(link, account_type).method != "oauth":
            raise InvalidParameters(f"provider: {account_type} accounts do not use OAuth")
        flow = {k: v for k, v in link.flow.items() if k not in ("kinds", "exp", "nonce")}
        return self._consent_url(account_type, flow, link.expires - time.time())

    async def known(self, link: Link) -> dict[str, str]:
        """What the form of a reconnect link shows already: the account's server and
        username (never its password); nothing for a link creating an account."""
        if link.reconnect is None:
            return {}
        record = await self.accounts.record(link.tenant, link.reconnect)
        return {k: str(record.params.get(k) or "") for k in ("url", "username")}

    async def connect(self, link: Link, account_type: str, form: Mapping[str, str]) -> Completed:
        """Connect an account with the page's form (checked live by the provider's connect);
        ``form`` holds ``url``, ``username``, ``password`` as the kind needs. A reconnect
        link gives its account these credentials instead (the provider's ``reconnect``)."""
        kind = self.kind(link, account_type)
        if kind.method == "oauth" or self.connect_account is None:
            raise InvalidParameters(f"provider: {account_type} accounts connect by consent")
        body: dict[str, Any] = {"provider": account_type}
        if link.name and link.reconnect is None:
            body["name"] = link.name
        if kind.method == "password":
            wanted = ("url", "username", "password") if kind.needs_url else ("username", "password")
            for key in wanted:
                if not form.get(key, "").strip():
                    raise InvalidParameters(f"{key}: required")
                body[key] = form[key].strip() if key != "password" else form[key]
        if link.reconnect is not None:
            provider = self.providers.for_type(account_type)
            if not isinstance(provider, CalDAVProvider):
                raise InvalidParameters(f"provider: {account_type} accounts are not reconnected")
            account_id = await provider.reconnect(self.accounts, link.tenant, link.reconnect, body)
        else:
            account_id = await self.connect_account(link.tenant, body)
        await self.notify(link.flow, account_id)
        return Completed(account_id, account_type, link.success_redirect_url)

    async def notify(self, flow: Mapping[str, str], account_id: str) -> None:
        """Unipile's ``notify_url`` call: ``{"status": "CREATION_SUCCESS", "account_id",
        "name"}`` POSTed once (``"RECONNECTED"`` for a reconnect link; a failure is logged,
        the account stays connected)."""
        url = flow.get("notify")
        if not url:
            return
        status = "RECONNECTED" if flow.get("reconnect") else "CREATION_SUCCESS"
        body = {"status": status, "account_id": account_id, "name": flow.get("name")}
        loopback = self.settings.allow_loopback_urls
        transport = None if loopback else public_transport(httpx.Limits())
        try:
            async with httpx.AsyncClient(
                timeout=NOTIFY_TIMEOUT,
                follow_redirects=False,
                transport=transport,
                headers={"User-Agent": f"calgate-hosted/{__version__}"},
            ) as client:
                response = await client.post(url, json=body)
            if not 200 <= response.status_code < 300:
                log.warning("notify_url answered HTTP %s", response.status_code)
        except httpx.HTTPError as exc:
            log.warning("notify_url not reached: %s", type(exc).__name__)

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
        if flow.get("reconnect"):
            account_id = await provider.reconnect_tokens(
                self.accounts, flow["tenant"], flow["reconnect"], tokens
            )
        else:
            account_id = await provider.connect_tokens(
                self.accounts, flow["tenant"], tokens, name=flow.get("name")
            )
        await self.notify(flow, account_id)
        return Completed(account_id, flow["type"], flow.get("ok"))
