"""Secrets at rest: provider passwords and tokens are encrypted with Fernet (AES-128-CBC + HMAC).

The key comes from ``CALGATE_SECRET_KEY`` or, when unset, from ``<data_dir>/secret.key``,
created on first use with owner-only permissions. Losing the key makes stored credentials
unreadable (accounts must then be connected again); it never exposes them.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

import orjson
from cryptography.fernet import Fernet, InvalidToken

from calgate.errors import CalgateError

OPENED_KEPT = 4096
"""Decrypted credentials kept per process (an account's sealed text is opened on each call)."""


class SecretBox:
    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)
        self._key = key
        # sealed text -> its secrets: a sealed text never changes meaning (new secrets are
        # sealed anew), so what it opened to stays right; oldest first out.
        self._opened: dict[str, dict[str, str]] = {}

    def derive(self, purpose: str) -> bytes:
        """A key for ``purpose`` (e.g. signing cursors), derived from the secret key."""
        return hmac.new(self._key, f"calgate {purpose}".encode(), hashlib.sha256).digest()

    @classmethod
    def from_settings(cls, secret_key: str | None, data_dir: Path) -> SecretBox:
        if secret_key:
            return cls(secret_key.encode())
        path = data_dir / "secret.key"
        if not path.exists():
            data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(Fernet.generate_key())
        return cls(path.read_bytes().strip())

    def seal(self, secrets: dict[str, str]) -> str:
        if not secrets:
            return ""
        return self._fernet.encrypt(orjson.dumps(secrets)).decode()

    def open(self, sealed: str) -> dict[str, str]:
        if not sealed:
            return {}
        known = self._opened.get(sealed)
        if known is not None:
            return dict(known)
        try:
            data: dict[str, str] = orjson.loads(self._fernet.decrypt(sealed.encode()))
        except InvalidToken:
            raise CalgateError(
                "the account's stored credentials cannot be decrypted with this secret key; "
                "connect the account again",
                type="errors/disconnected_account",
            ) from None
        if len(self._opened) >= OPENED_KEPT:
            self._opened.pop(next(iter(self._opened)), None)
        self._opened[sealed] = data
        return dict(data)
