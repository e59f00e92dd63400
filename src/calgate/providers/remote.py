"""What the OAuth providers (Google, Outlook) share: authorized calls, connecting an account,
recording changes, and the list filters their APIs cannot apply themselves."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from calgate.domain import cursor as cursors
from calgate.errors import CalgateError, InvalidParameters, Unauthorized
from calgate.providers.base import AccountContext, Change, Effects, record_change
from calgate.providers.http import Deadline, Policy, error_for, send
from calgate.providers.oauth import GrantRefused, OAuthApp, TokenKeeper, Tokens, refresh
from calgate.services.accounts import AccountService
from calgate.store.db import Database

__all__ = ["OAuthProvider", "Profile", "decode_cursor", "encode_cursor"]

_CONNECT_FIELDS = frozenset({"provider", "name", "refresh_token", "client_id", "client_secret"})


@dataclass(frozen=True, slots=True)
class Profile:
    """Who an account is, read from the provider when it is connected."""

    email: str
    name: str
    timezone: str = "UTC"
    # What differs for this account from the provider's table (Capabilities.adjusted).
    capabilities: Mapping[str, Any] = field(default_factory=dict)


class OAuthProvider:
    """Base of the Google and Outlook adapters: every call carries a fresh access token."""

    kind: str = ""
    label: str = ""  # "Google", "Outlook": the provider's name in error details

    def __init__(
        self,
        db: Database,
        accounts: AccountService,
        http: httpx.AsyncClient,
        app: OAuthApp,
        policy: Policy,
    ) -> None:
        self.db = db
        self.http = http
        self.app = app
        self.policy = policy
        self.keeper = TokenKeeper(app, http, policy, accounts)

    # calls ----------------------------------------------------------------------------------

    def deadline(self) -> Deadline:
        return Deadline(self.policy.timeout)

    async def call(
        self,
        account: AccountContext,
        method: str,
        url: str,
        *,
        safe: bool,
        what: str,
        deadline: Deadline | None = None,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        expect: Collection[int] = (),
    ) -> httpx.Response:
        """One provider call with the account's token; a 401 gets one refresh and one retry
        (the provider did nothing with a request it refused, so the retry is safe)."""
        deadline = deadline or self.deadline()
        token = await self.keeper.access_token(account, deadline)
        for attempt in (1, 2):
            response = await send(
                self.http,
                method,
                url,
                policy=self.policy,
                provider=self.label,
                safe=safe,
                what=what,
                deadline=deadline,
                params=params,
                json=json,
                headers={**(headers or {}), "Authorization": f"Bearer {token}"},
                expect=(401, *expect),
            )
            if response.status_code != 401:
                return response
            await response.aread()
            if attempt == 1:
                token = await self.keeper.after_unauthorized(account, token, deadline)
        await self.keeper.mark_expired(account)
        raise error_for(response, self.label, what)

    async def record(self, effects: Effects, change: Change) -> None:
        await record_change(self.db, effects, change)

    # connecting -----------------------------------------------------------------------------

    async def profile(self, access_token: str, deadline: Deadline) -> Profile:
        raise NotImplementedError

    async def connect(
        self, accounts: AccountService, tenant_id: str, body: Mapping[str, Any]
    ) -> str:
        unknown = set(body) - _CONNECT_FIELDS
        if unknown:
            raise InvalidParameters(
                f"{', '.join(sorted(unknown))}: unknown field for a {self.kind} account "
                f"(expected {', '.join(sorted(_CONNECT_FIELDS - {'provider'}))})"
            )
        for key in _CONNECT_FIELDS - {"provider"}:
            if body.get(key) is not None and not isinstance(body[key], str):
                raise InvalidParameters(f"{key}: expected a string")
        refresh_token = (body.get("refresh_token") or "").strip()
        if not refresh_token:
            raise InvalidParameters(
                f"refresh_token: required for a {self.kind} account (or use the hosted flow, "
                "POST /api/v1/hosted/accounts/link)"
            )
        if body.get("client_secret") and not body.get("client_id"):
            raise InvalidParameters("client_secret: give client_id with it")
        app = self.app
        if body.get("client_id"):
            app = app.for_account(
                {"client_id": body["client_id"], "client_secret": body.get("client_secret") or ""}
            )
        app.require_client()
        deadline = self.deadline()
        try:
            tokens = await refresh(self.http, self.policy, app, refresh_token, deadline)
        except GrantRefused as exc:
            raise Unauthorized(f"refresh_token: {exc.detail}") from None
        return await self.connect_tokens(
            accounts, tenant_id, tokens, app=app, name=body.get("name"), deadline=deadline
        )

    async def connect_tokens(
        self,
        accounts: AccountService,
        tenant_id: str,
        tokens: Tokens,
        *,
        app: OAuthApp | None = None,
        name: str | None = None,
        deadline: Deadline | None = None,
    ) -> str:
        """Store an account for ``tokens`` (proven by reading who they belong to)."""
        who = await self._who(tokens, deadline)
        own_client = app if app is not None and app.client_id != self.app.client_id else None
        record = await accounts.create(
            tenant_id,
            self.kind,
            name or who.name or who.email,
            email=who.email,
            params={"timezone": who.timezone}
            | ({"capabilities": dict(who.capabilities)} if who.capabilities else {}),
            secrets=tokens.to_secrets(own_client),
        )
        return record.id

    async def _who(self, tokens: Tokens, deadline: Deadline | None) -> Profile:
        """Whom new ``tokens`` belong to (proving that they work)."""
        try:
            return await self.profile(tokens.access_token, deadline or self.deadline())
        except CalgateError as exc:
            if exc.status == 403:
                raise CalgateError(
                    f"{self.label} refused to show the account's calendars (is the calendar "
                    f"permission granted?): {exc.detail}",
                    type="errors/insufficient_privileges",
                ) from None
            if exc.status == 401:
                raise Unauthorized(
                    f"{self.label} refused the new access token: {exc.detail}"
                ) from None
            raise

    async def reconnect_tokens(
        self, accounts: AccountService, tenant_id: str, account_id: str, tokens: Tokens
    ) -> str:
        """Give an existing account new ``tokens`` (its id, calendars, mirror and webhooks
        stay): they must belong to the same user (403 ``account_mismatch`` otherwise). The
        account's status goes back to OK, which resumes its sync and re-arms its push
        channels (:attr:`AccountService.on_status`)."""
        record = await accounts.record(tenant_id, account_id)
        if record.type != self.kind:
            raise InvalidParameters(
                f"reconnect_account: {account_id!r} is not a {self.kind} account"
            )
        who = await self._who(tokens, None)
        if who.email.casefold() != record.email.casefold():
            raise CalgateError(
                f"{self.label} consent was given as {who.email}, but account {account_id!r} is "
                f"{record.email}: sign in as {record.email} to reconnect it",
                type="errors/account_mismatch",
            )
        await accounts.reconnect(record, tokens.to_secrets(None))
        self.keeper.forget(record.id)  # the refused tokens this process remembers
        return record.id

    async def aclose(self) -> None:
        return None


# --- helpers -------------------------------------------------------------------------------


def encode_cursor(data: Mapping[str, str]) -> str:
    """A provider's page token as a signed cursor (:mod:`calgate.domain.cursor`)."""
    return cursors.sign(orjson.dumps(dict(data)))


def decode_cursor(cursor: str) -> dict[str, str]:
    try:
        data = orjson.loads(cursors.verify(cursor))
    except orjson.JSONDecodeError:
        data = None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise InvalidParameters(
            "cursor: not a cursor returned by this API (pass next_cursor unchanged)"
        )
    return data
