"""Opaque, tamper-evident list cursors.

A cursor is a position (``(start, id)`` after which the next page begins, or a provider's page
token) followed by an HMAC-SHA256 tag made with a key derived from the server's secret key, so a
client can only hand back a cursor calgate gave out: anything else, forged or altered, is a 400
naming ``cursor`` before it reaches a database or a provider.

The key is process-wide: cursors are made in the domain, in every provider and in the webhook
service, and a cursor must stay valid across processes that share the secret key. ``Runtime``
installs it once (:func:`use_key`); until then a random key serves (cursors of this process only).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from typing import Final

from calgate.errors import InvalidParameters

__all__ = [
    "decode",
    "decode_id",
    "encode",
    "encode_id",
    "key_in_use",
    "sign",
    "use_key",
    "verify",
]

_TAG_BYTES: Final = 16
# Positions are microsecond instants or list offsets: they fit a signed 64-bit column.
_MIN: Final = -(2**63)
_MAX: Final = 2**63 - 1
_key: bytes = os.urandom(32)


def use_key(key: bytes) -> None:
    """Sign and check cursors with ``key`` (derived from the server's secret key)."""
    global _key
    _key = key


def key_in_use() -> bytes:
    """The key cursors are signed with (for worker processes, which sign and check the
    cursors of the pages they make: :mod:`calgate.processes`)."""
    return _key


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _tag(payload: bytes) -> bytes:
    return hmac.new(_key, payload, hashlib.sha256).digest()[:_TAG_BYTES]


def _refused() -> InvalidParameters:
    return InvalidParameters(
        "cursor: not a cursor returned by this API (pass next_cursor unchanged)"
    )


def sign(payload: bytes) -> str:
    """``payload`` as an opaque cursor."""
    return f"{_b64(payload)}.{_b64(_tag(payload))}"


def verify(cursor: str) -> bytes:
    """The payload of a cursor made by :func:`sign`; anything else is a 400 naming ``cursor``."""
    body, dot, tag = cursor.partition(".")
    try:
        payload, given = _unb64(body), _unb64(tag)
    except (ValueError, binascii.Error):
        raise _refused() from None
    if not dot or not hmac.compare_digest(given, _tag(payload)):
        raise _refused()
    return payload


def encode(position: int, last_id: str) -> str:
    return sign(f"{position}:{last_id}".encode())


def decode(cursor: str) -> tuple[int, str]:
    try:
        start, last_id = verify(cursor).decode().split(":", 1)
        position = int(start)
    except (ValueError, UnicodeDecodeError):
        raise _refused() from None
    if not _MIN <= position <= _MAX:
        raise _refused()
    return position, last_id


def encode_id(last_id: str) -> str:
    """A cursor for lists paged by id alone (accounts, webhooks)."""
    return sign(last_id.encode())


def decode_id(cursor: str) -> str:
    try:
        return verify(cursor).decode()
    except UnicodeDecodeError:
        raise _refused() from None
