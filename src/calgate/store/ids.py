"""Identifiers: random, URL-safe, and valid as Google client-chosen event ids (base32hex)."""

from __future__ import annotations

import secrets
import uuid


def new_id() -> str:
    """32 lower-case hex characters: a subset of base32hex, so providers accept it as an id."""
    return uuid.uuid4().hex


def new_token(nbytes: int = 24) -> str:
    return secrets.token_urlsafe(nbytes)
