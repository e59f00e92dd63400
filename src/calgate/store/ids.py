"""Identifiers: random, URL-safe, and valid as Google client-chosen event ids (base32hex)."""

from __future__ import annotations

import os
import random
import secrets

# Identifiers are unique, not secret (every lookup is scoped to the caller's tenant), so a
# generator seeded from the OS once per process is enough and avoids a system call per id.
_rng = random.Random(os.urandom(32))
os.register_at_fork(after_in_child=lambda: _rng.seed(os.urandom(32)))


def new_id() -> str:
    """32 lower-case hex characters: a subset of base32hex, so providers accept it as an id."""
    return f"{_rng.getrandbits(128):032x}"


def new_token(nbytes: int = 24) -> str:
    return secrets.token_urlsafe(nbytes)
