"""Provider timestamps and versions: small, dependency-free readings shared by the providers'
mappings (and by the worker processes that read big provider answers: this module imports
nothing heavy)."""

from __future__ import annotations

import datetime as dt
import hashlib

__all__ = ["parse_time", "version_of"]


def version_of(tag: str) -> int:
    """An event's version as the API shows it (an integer), from the provider's etag."""
    digest = hashlib.blake2b(tag.encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big") & 0x7FFFFFFF or 1


def parse_time(value: str) -> dt.datetime:
    """An RFC 3339 timestamp from a provider (``Z`` or offset; naive means UTC)."""
    head = value.strip().replace("z", "Z")
    if "." in head:
        main, _, rest = head.partition(".")
        digits = "".join(ch for ch in rest if ch.isdigit())
        zone = rest[len(digits) :]
        head = f"{main}.{digits[:6].ljust(6, '0')}{zone}"
    moment = dt.datetime.fromisoformat(head.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
