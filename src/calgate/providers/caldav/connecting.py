"""Connecting a CALDAV or ICLOUD account: the body of ``POST /api/v1/accounts``, the discovery
it leads to, and what the account keeps of it; connecting one again (a hosted reconnect) must
reach the same account."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

from calgate.errors import CalgateError, InvalidParameters
from calgate.providers.caldav import discovery
from calgate.providers.caldav.discovery import DavCalendar
from calgate.providers.caldav.transport import Credentials, Dav
from calgate.security import validate_public_url

FIELDS: Final = frozenset({"provider", "name", "url", "username", "password", "email"})
# What differs for an account whose server schedules itself (Capabilities.adjusted).
SCHEDULING_SERVER: Final[Mapping[str, Any]] = {"invitations": "provider", "hidden_attendees": False}


def text(body: Mapping[str, Any], key: str, *, required: bool) -> str:
    value = body.get(key)
    if value is None or value == "":
        if required:
            raise InvalidParameters(f"{key}: required for a CalDAV account")
        return ""
    if not isinstance(value, str):
        raise InvalidParameters(f"{key}: expected a string")
    if len(value) > 2000:
        raise InvalidParameters(f"{key}: longer than 2000 characters")
    return value


def server_url(value: str, *, allow_loopback: bool) -> str:
    url = value.strip()
    parts = urlsplit(url)
    if parts.username or parts.password:
        raise InvalidParameters("url: put the username and password in their own fields")
    return validate_public_url(url, allow_loopback=allow_loopback, field="url")


@dataclass(frozen=True, slots=True)
class Request:
    """What the client gave to connect an account."""

    url: str
    credentials: Credentials
    name: str = ""
    email: str = ""

    @classmethod
    def read(cls, body: Mapping[str, Any], kind: str, url: str) -> Request:
        """The body's fields (``url``: the server, already read and checked)."""
        unknown = set(body) - FIELDS
        if unknown:
            raise InvalidParameters(
                f"{', '.join(sorted(unknown))}: unknown field for a {kind} account"
            )
        return cls(
            url=url,
            credentials=Credentials(
                text(body, "username", required=True), text(body, "password", required=True)
            ),
            name=text(body, "name", required=False),
            email=text(body, "email", required=False),
        )


@dataclass(frozen=True, slots=True)
class Found:
    """The account as discovery found it: what to store and its calendars."""

    name: str
    email: str
    params: dict[str, Any]
    calendars: list[DavCalendar] = field(default_factory=list)


async def discover(dav: Dav, request: Request) -> Found:
    """Principal, calendar home and calendars of the account ``request`` names."""
    principal = await discovery.find_principal(dav, request.url)
    home = await discovery.list_home(dav, principal.home)
    username = request.credentials.username
    params: dict[str, Any] = {
        "url": request.url,
        "username": username,
        "principal": principal.url,
        "home": principal.home,
        "calendar_auto_schedule": home.auto_schedule,
        # Kept: a calendar created later must not become the default by sorting first.
        "default": discovery.default_of(home.calendars),
    }
    if home.auto_schedule:
        # RFC 6638: the server invites the attendees itself (calgate must not send a second
        # invitation), and its invitations list every attendee.
        params["capabilities"] = dict(SCHEDULING_SERVER)
    return Found(
        name=request.name or principal.display_name or username,
        email=request.email or principal.email or (username if "@" in username else ""),
        params=params,
        calendars=home.calendars,
    )


def _server(url: str) -> str:
    """The server of ``url``: scheme, host and port."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return urlunsplit((parts.scheme, f"{(parts.hostname or '').lower()}:{port}", "", "", ""))


def _mismatch(account_id: str, params: Mapping[str, Any], given: str) -> CalgateError:
    wanted = f"{params.get('username', '')} at {_server(str(params.get('url', '')))}"
    return CalgateError(
        f"these details reach {given}, but account {account_id!r} is {wanted}: enter that "
        "account's details to reconnect it",
        type="errors/account_mismatch",
    )


def same_server(account_id: str, params: Mapping[str, Any], request: Request) -> None:
    """Before a reconnect's password goes anywhere: the server and username of ``request``
    are those of the account (its ``params``), else 403 ``account_mismatch``."""
    username = request.credentials.username
    same_user = username.casefold() == str(params.get("username", "")).casefold()
    if not same_user or _server(request.url) != _server(str(params.get("url", ""))):
        raise _mismatch(account_id, params, f"{username} at {_server(request.url)}")


def same_principal(account_id: str, params: Mapping[str, Any], found: Found) -> None:
    """After discovery: the server names the account's own principal (the same user there)."""
    if found.params["principal"] != params.get("principal"):
        raise _mismatch(account_id, params, f"the principal {found.params['principal']}")
