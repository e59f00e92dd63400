"""Security helpers: validation of URLs calgate will call, and redaction of secrets.

``validate_public_url`` is the one check for every URL a client hands calgate to call later
(webhook ``request_url``, OAuth ``redirect_uri``, CalDAV server URLs): http or https, a host, no
user info, no control characters, and no loopback / link-local / unspecified address unless the
deployment allows it (``allow_loopback``; tests and development). It is a syntactic check of the
URL as given: a host *name* that resolves to a loopback address is caught when connecting, by
:func:`public_transport`, which resolves the name once, checks every address with
``is_blocked_address`` and connects to the address it checked (a name that answers a public
address to the check and a loopback one to the connection, DNS rebinding, gets nowhere). TLS
still names the host (SNI, certificate check) and so does the ``Host`` header.

``redact`` and ``mask`` keep secrets out of logs, errors and responses.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import time
from collections.abc import Iterable
from urllib.parse import SplitResult, urlsplit

import anyio
import httpcore
import httpx

from calgate.errors import InvalidParameters

__all__ = [
    "MAX_URL_LENGTH",
    "BlockedAddress",
    "blocked_address",
    "is_blocked_address",
    "mask",
    "public_transport",
    "redact",
    "validate_public_url",
]

MAX_URL_LENGTH = 2048
ALLOW_LOOPBACK = "CALGATE_ALLOW_LOOPBACK_URLS=true"  # the setting that lifts the refusal
_SCHEMES = ("http", "https")
# Any ASCII control character, space or DEL: none of them belongs in a URL, and CR/LF in one
# would become a header or a request line of its own.
_FORBIDDEN = re.compile(r"[\x00-\x20\x7f]")
_LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")
_HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$")


def validate_public_url(url: object, *, allow_loopback: bool, field: str = "url") -> str:
    """``url`` if calgate may call it; else :class:`InvalidParameters` naming ``field``.

    Refused: other schemes than http/https, no host, user info (``user:pass@``), control
    characters (CR/LF...), spaces, fragments, more than 2048 characters, an invalid port, and
    (unless ``allow_loopback``) loopback, link-local (cloud metadata), unspecified and multicast
    addresses and the ``localhost`` names.
    """
    if not isinstance(url, str) or not url:
        raise InvalidParameters(f"{field}: expected an http(s) URL")
    if len(url) > MAX_URL_LENGTH:
        raise InvalidParameters(f"{field}: longer than {MAX_URL_LENGTH} characters")
    if _FORBIDDEN.search(url):
        raise InvalidParameters(f"{field}: control characters and spaces are not allowed")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidParameters(f"{field}: not a valid URL ({exc})") from None
    if parts.scheme.lower() not in _SCHEMES:
        raise InvalidParameters(f"{field}: the scheme must be http or https")
    if "@" in parts.netloc:
        raise InvalidParameters(f"{field}: user information (user:password@) is not allowed")
    if parts.fragment or url.endswith("#"):
        raise InvalidParameters(f"{field}: a fragment (#...) is not allowed")
    host = _host_of(parts, field)
    if port == 0:
        raise InvalidParameters(f"{field}: port 0 is not allowed")
    if not allow_loopback and _is_local(host):
        raise InvalidParameters(
            f"{field}: {host!r} is a loopback, link-local or unspecified address, which calgate "
            f"does not call unless {ALLOW_LOOPBACK} (development and tests)"
        )
    return url


def _host_of(parts: SplitResult, field: str) -> str:
    host = parts.hostname or ""
    if not host:
        raise InvalidParameters(f"{field}: the URL has no host")
    if _address(host) is not None:
        return host
    name = host.rstrip(".")
    if not name or len(name) > 253 or not all(_HOST_LABEL.match(p) for p in name.split(".")):
        raise InvalidParameters(f"{field}: {host!r} is not a valid host name")
    return name.lower()


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    # Forms the resolver accepts though ipaddress does not: 127.1, 0x7f.0.0.1, 2130706433.
    if re.fullmatch(r"[0-9a-fA-FxX.]+", host) and any(c.isdigit() for c in host):
        import socket

        try:
            return ipaddress.ip_address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def _is_local(host: str) -> bool:
    if host in _LOCAL_NAMES or host.endswith(".localhost"):
        return True
    address = _address(host)
    return address is not None and is_blocked_address(address)


def is_blocked_address(address: str | ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """True for an address a public URL must not reach: loopback, link-local (169.254/16,
    fe80::/10: cloud metadata services), unspecified (0.0.0.0, ::) and multicast, also when
    written as an IPv4-mapped IPv6 address. Private ranges (10/8, 192.168/16...) are allowed:
    a self-hosted calgate often delivers to services on its own network."""
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback or ip.is_link_local or ip.is_unspecified or ip.is_multicast


# Connecting only to the address that was checked --------------------------------------------


class BlockedAddress(httpcore.ConnectError):
    """A host that is or resolves to an address calgate does not call."""

    def __init__(self, host: str, address: str) -> None:
        self.host = host
        self.address = address
        super().__init__(
            f"{host} is or resolves to {address}, a loopback or link-local address calgate "
            f"does not call unless {ALLOW_LOOPBACK} (development and tests)"
        )


def blocked_address(error: BaseException) -> BlockedAddress | None:
    """The :class:`BlockedAddress` behind an httpx error, if that is why it failed."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, BlockedAddress):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


class _PublicOnly(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, resolving each host once, refusing it when any of its
    addresses is blocked, and connecting to the addresses it checked."""

    def __init__(self) -> None:
        self._backend = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        started = time.monotonic()
        try:
            with anyio.fail_after(timeout):
                infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"resolving {host} took too long") from None
        except OSError as exc:
            raise httpcore.ConnectError(f"{host} cannot be resolved ({exc})") from None
        addresses = list(dict.fromkeys(str(info[4][0]).split("%", 1)[0] for info in infos))
        for address in addresses:
            if is_blocked_address(address):
                raise BlockedAddress(host, address)
        failure: Exception = httpcore.ConnectError(f"{host} has no address")
        for address in addresses:
            left = None if timeout is None else max(0.001, timeout - (time.monotonic() - started))
            try:
                return await self._backend.connect_tcp(
                    address, port, left, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("calgate calls no Unix socket")

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


def public_transport(limits: httpx.Limits) -> httpx.AsyncHTTPTransport:
    """An httpx transport that connects only to addresses :func:`is_blocked_address` allows,
    checking the very address it connects to. Proxy variables of the environment are not used
    (through a proxy, calgate could not know where it connects)."""
    transport = httpx.AsyncHTTPTransport(limits=limits, trust_env=False)
    # httpx takes no network backend: give the transport a pool built as httpx builds its own.
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=httpx.create_ssl_context(),
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=_PublicOnly(),
    )
    return transport


# Redaction ---------------------------------------------------------------------------------

_MASK = "***"
_SECRET_PATTERNS = (
    # calgate API keys (keys.generate_key) wherever they appear.
    re.compile(r"cg_[A-Za-z0-9_-]{8,}"),
    # Authorization schemes.
    re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{6,}"),
    # name=value / "name": "value" for names that hold secrets.
    re.compile(
        r"(?i)(?P<name>[\"']?\b(?:x-api-key|api[_-]?key|password|passwd|secret|client_secret|"
        r"secret_key|token|access_token|refresh_token|id_token|authorization)\b[\"']?"
        r"\s*[:=]\s*[\"']?)(?P<value>[^\"'\s,;&}]+)"
    ),
)


def redact(text: str, secrets: tuple[str, ...] | list[str] = ()) -> str:
    """``text`` with known secret shapes (API keys, bearer tokens, ``password=...``,
    ``"refresh_token": "..."``) and each of ``secrets`` replaced by ``***``."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, _MASK)
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(_keep_name if pattern.groups else _MASK, text)
    return text


def _keep_name(match: re.Match[str]) -> str:
    if "name" in match.groupdict():
        return match.group("name") + _MASK
    return match.group(1) + " " + _MASK


def mask(secret: str, keep: int = 6) -> str:
    """A secret shown as its first characters and ``…`` (e.g. an API key's prefix)."""
    if len(secret) <= keep * 2:
        return _MASK
    return secret[:keep] + "…"
