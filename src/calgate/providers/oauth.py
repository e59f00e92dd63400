"""OAuth 2.0 for the Google and Microsoft accounts: tokens, PKCE, signed state, refresh.

- :class:`OAuthApp` is one provider's authorization server and calgate's client there (ids from
  settings, or given per account when it is connected).
- :func:`refresh` and :func:`exchange_code` talk to the token endpoint (RFC 6749 §6 and §4.1.3,
  with the PKCE ``code_verifier`` of RFC 7636).
- :func:`seal_state` / :func:`open_state`: the hosted flow's ``state`` is the flow itself (tenant,
  provider, PKCE verifier, redirect URLs, expiry) sealed with calgate's secret key (Fernet:
  AES + HMAC), so a forged or altered ``state`` is refused and the verifier never leaves calgate
  readable.
- :class:`TokenKeeper` hands out access tokens: refreshed before they expire and once more after a
  401; one refresh at a time per account; new tokens saved sealed; a refresh the provider refuses
  sets the account's source status to CREDENTIALS and answers 401 ``expired_credentials``.

Tokens and client secrets are never logged and never put in an error detail.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import anyio
import httpx

from calgate.errors import CalgateError, InvalidParameters, ProviderError, Unauthorized
from calgate.providers.base import AccountContext
from calgate.providers.http import Deadline, Policy, provider_message, send
from calgate.secrets import SecretBox
from calgate.services.accounts import AccountService

__all__ = [
    "REFRESH_MARGIN",
    "OAuthApp",
    "TokenKeeper",
    "Tokens",
    "exchange_code",
    "new_verifier",
    "open_state",
    "pkce_challenge",
    "refresh",
    "seal_state",
]

log = logging.getLogger("calgate.providers.oauth")

# An access token this close to its expiry is refreshed before use (seconds).
REFRESH_MARGIN = 120.0
# Token endpoint errors that mean the grant (refresh token or code) is dead, not the app.
_DEAD_GRANT = frozenset({"invalid_grant", "interaction_required", "consent_required"})
_BAD_CLIENT = frozenset({"invalid_client", "unauthorized_client"})


@dataclass(frozen=True, slots=True)
class OAuthApp:
    """One provider's OAuth endpoints and calgate's registered client there."""

    provider: str  # "Google", "Microsoft": for error details
    auth_url: str
    token_url: str
    client_id: str | None
    client_secret: str | None
    scopes: tuple[str, ...]
    auth_params: Mapping[str, str] = field(default_factory=dict)
    # Send ``scope`` to the token endpoint too (Microsoft's v2.0 endpoint asks for it).
    token_scope: bool = False

    def for_account(self, secrets: Mapping[str, str]) -> OAuthApp:
        """This app, or the client an account was connected with (ids given in its body)."""
        if not secrets.get("client_id"):
            return self
        return OAuthApp(
            self.provider,
            self.auth_url,
            self.token_url,
            secrets["client_id"],
            secrets.get("client_secret") or None,
            self.scopes,
            self.auth_params,
            self.token_scope,
        )

    def require_client(self) -> tuple[str, str | None]:
        if not self.client_id:
            raise InvalidParameters(
                f"client_id: no {self.provider} OAuth client is configured in calgate's settings; "
                "give client_id and client_secret in the body, or set them in the settings"
            )
        return self.client_id, self.client_secret

    def authorization_url(self, redirect_uri: str, state: str, challenge: str) -> str:
        client_id, _ = self.require_client()
        query = {
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "scope": " ".join(self.scopes),
            "state": state,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            **self.auth_params,
        }
        return f"{self.auth_url}?{urlencode(query)}"


@dataclass(frozen=True, slots=True)
class Tokens:
    access_token: str
    refresh_token: str
    expires_at: float  # epoch seconds
    scope: str = ""

    def fresh(self, margin: float = REFRESH_MARGIN) -> bool:
        return bool(self.access_token) and self.expires_at - margin > time.time()

    def to_secrets(self, app: OAuthApp | None = None) -> dict[str, str]:
        """The sealed form; ``app`` is kept when the account brought its own client."""
        found = {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "expires_at": f"{self.expires_at:.3f}",
            "scope": self.scope,
        }
        if app is not None and app.client_id:
            found["client_id"] = app.client_id
            found["client_secret"] = app.client_secret or ""
        return found

    @classmethod
    def from_secrets(cls, secrets: Mapping[str, str]) -> Tokens:
        try:
            expires_at = float(secrets.get("expires_at") or 0)
        except ValueError:
            expires_at = 0.0
        return cls(
            secrets.get("access_token", ""),
            secrets.get("refresh_token", ""),
            expires_at,
            secrets.get("scope", ""),
        )


# --- PKCE and state ------------------------------------------------------------------------


def new_verifier() -> str:
    """A PKCE code verifier: 64 URL-safe characters (RFC 7636: 43..128)."""
    return secrets.token_urlsafe(48)


def pkce_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def seal_state(box: SecretBox, flow: Mapping[str, str], ttl: float) -> str:
    """The ``state`` parameter carrying ``flow``, valid for ``ttl`` seconds."""
    payload = {**flow, "exp": f"{time.time() + ttl:.0f}", "nonce": secrets.token_urlsafe(8)}
    return box.seal(payload)


def open_state(box: SecretBox, state: str) -> dict[str, str]:
    """The flow sealed in ``state``; 400 when it was not made by this calgate or expired."""
    if not state or len(state) > 4096:
        raise InvalidParameters("state: missing or not issued by calgate")
    try:
        flow = box.open(state)
    except CalgateError:
        raise InvalidParameters(
            "state: not issued by this calgate (or altered); start again with a new link"
        ) from None
    try:
        expires = float(flow.get("exp", "0"))
    except ValueError:
        expires = 0.0
    if expires < time.time():
        raise CalgateError(
            "state: this link has expired; ask for a new one", type="errors/expired_link"
        )
    return flow


# --- token endpoint ------------------------------------------------------------------------


class GrantRefused(Unauthorized):
    """The token endpoint refused the refresh token or code (the grant is dead)."""


async def _token_call(
    http: httpx.AsyncClient,
    policy: Policy,
    app: OAuthApp,
    form: dict[str, str],
    deadline: Deadline | None,
) -> Tokens:
    client_id, client_secret = app.require_client()
    form = {**form, "client_id": client_id}
    if client_secret:
        form["client_secret"] = client_secret
    if app.token_scope:
        form["scope"] = " ".join(app.scopes)
    response = await send(
        http,
        "POST",
        app.token_url,
        policy=policy,
        provider=app.provider,
        safe=form["grant_type"] == "refresh_token",
        what="token endpoint",
        deadline=deadline,
        data=form,
        expect=(400, 401),
    )
    if response.status_code in (400, 401):
        body = _json(response)
        error = str(body.get("error", ""))
        said = provider_message(response)
        if error in _BAD_CLIENT:
            raise Unauthorized(
                f"{app.provider} refused calgate's OAuth client ({error}: {said}); check the "
                "client id and secret"
            )
        if error in _DEAD_GRANT or response.status_code == 400:
            raise GrantRefused(f"{app.provider} refused the grant ({error or 'error'}: {said})")
        raise Unauthorized(f"{app.provider} refused the token request: {said}")
    body = _json(response)
    access = body.get("access_token")
    if not isinstance(access, str) or not access:
        raise ProviderError(f"{app.provider}'s token endpoint answered without an access token")
    try:
        lifetime = float(body.get("expires_in") or 3600)
    except (TypeError, ValueError):
        lifetime = 3600.0
    refresh_token = body.get("refresh_token")
    return Tokens(
        access_token=access,
        refresh_token=(refresh_token if isinstance(refresh_token, str) and refresh_token else ""),
        expires_at=time.time() + lifetime,
        scope=str(body.get("scope") or ""),
    )


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


async def refresh(
    http: httpx.AsyncClient,
    policy: Policy,
    app: OAuthApp,
    refresh_token: str,
    deadline: Deadline | None = None,
) -> Tokens:
    """New tokens for ``refresh_token`` (which is kept unless the provider rotates it)."""
    tokens = await _token_call(
        http,
        policy,
        app,
        {"grant_type": "refresh_token", "refresh_token": refresh_token},
        deadline,
    )
    if not tokens.refresh_token:
        tokens = Tokens(tokens.access_token, refresh_token, tokens.expires_at, tokens.scope)
    return tokens


async def exchange_code(
    http: httpx.AsyncClient,
    policy: Policy,
    app: OAuthApp,
    code: str,
    verifier: str,
    redirect_uri: str,
) -> Tokens:
    """Tokens for an authorization code (with its PKCE verifier)."""
    tokens = await _token_call(
        http,
        policy,
        app,
        {
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": verifier,
            "redirect_uri": redirect_uri,
        },
        None,
    )
    if not tokens.refresh_token:
        raise Unauthorized(
            f"{app.provider} gave no refresh token (offline access was not granted); "
            "connect the account again and accept every permission asked"
        )
    return tokens


# --- access tokens for calls ---------------------------------------------------------------


def _expired(account: AccountContext, why: str) -> CalgateError:
    return CalgateError(
        f"account {account.id!r}: {why}; connect the account again",
        type="errors/expired_credentials",
    )


class TokenKeeper:
    """Access tokens of one provider's accounts, refreshed when needed, one refresh at a time.

    The newest tokens of each account are kept in memory, so concurrent requests share one
    refresh (providers that rotate refresh tokens invalidate the old one)."""

    def __init__(
        self, app: OAuthApp, http: httpx.AsyncClient, policy: Policy, accounts: AccountService
    ) -> None:
        self.app = app
        self.http = http
        self.policy = policy
        self.accounts = accounts
        self._tokens: dict[str, Tokens] = {}
        self._locks: dict[str, anyio.Lock] = {}
        self._dead: dict[str, str] = {}  # account id -> the refresh token that was refused

    def _current(self, account: AccountContext) -> Tokens:
        stored = Tokens.from_secrets(account.secrets)
        known = self._tokens.get(account.id)
        if known is not None and known.expires_at >= stored.expires_at:
            return known
        return stored

    def _lock(self, account_id: str) -> anyio.Lock:
        lock = self._locks.get(account_id)
        if lock is None:
            if len(self._locks) > 10_000:
                self._locks = {k: v for k, v in self._locks.items() if v.locked()}
            lock = self._locks[account_id] = anyio.Lock()
        return lock

    async def access_token(self, account: AccountContext, deadline: Deadline) -> str:
        """A token valid for at least :data:`REFRESH_MARGIN` seconds."""
        tokens = self._current(account)
        if self._dead.get(account.id) == tokens.refresh_token:
            raise _expired(account, f"{self.app.provider} refused its refresh token")
        if tokens.fresh():
            return tokens.access_token
        return await self._refresh(account, tokens.access_token, deadline)

    async def after_unauthorized(
        self, account: AccountContext, used: str, deadline: Deadline
    ) -> str:
        """A new token after the provider answered 401 to ``used``."""
        return await self._refresh(account, used, deadline, force=True)

    async def _refresh(
        self, account: AccountContext, used: str, deadline: Deadline, force: bool = False
    ) -> str:
        async with self._lock(account.id):
            tokens = self._current(account)
            if tokens.access_token != used and tokens.fresh():
                return tokens.access_token  # another request refreshed it meanwhile
            if not force and tokens.fresh():
                return tokens.access_token
            app = self.app.for_account(account.secrets)
            try:
                new = await refresh(self.http, self.policy, app, tokens.refresh_token, deadline)
            except GrantRefused:
                new = await self._retry_with_stored(account, tokens, app, deadline)
            self._tokens[account.id] = new
            saved = {**account.secrets, **new.to_secrets()}
            await self.accounts.update_secrets(account, saved)
            log.info("%s: refreshed the access token of account %s", self.app.provider, account.id)
            return new.access_token

    async def _retry_with_stored(
        self, account: AccountContext, used: Tokens, app: OAuthApp, deadline: Deadline
    ) -> Tokens:
        """The refresh token was refused: another process may have rotated it. Read the stored
        one; if it is newer, use it; else the account's credentials are dead."""
        self.accounts.cache.discard((account.tenant_id, account.id))
        record = await self.accounts.record(account.tenant_id, account.id)
        stored = Tokens.from_secrets(self.accounts.box.open(record.secrets))
        if stored.refresh_token and stored.refresh_token != used.refresh_token:
            if stored.fresh():
                return stored
            try:
                return await refresh(self.http, self.policy, app, stored.refresh_token, deadline)
            except GrantRefused:
                used = stored
        await self.mark_expired(account, used.refresh_token)
        raise _expired(account, f"{self.app.provider} refused its refresh token")

    async def mark_expired(self, account: AccountContext, refresh_token: str | None = None) -> None:
        """The account's credentials no longer work: source status CREDENTIALS."""
        token = refresh_token if refresh_token is not None else self._current(account).refresh_token
        self._dead[account.id] = token
        self._tokens.pop(account.id, None)
        await self.accounts.set_status(account, "CREDENTIALS")
        log.warning(
            "%s: account %s needs to be connected again (credentials refused)",
            self.app.provider,
            account.id,
        )

    def forget(self, account_id: str) -> None:
        self._tokens.pop(account_id, None)
        self._dead.pop(account_id, None)
