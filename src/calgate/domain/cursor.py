"""Opaque list cursors: the (start, id) position after which the next page begins."""

from __future__ import annotations

import base64
import binascii

from calgate.errors import InvalidParameters


def encode(start_us: int, event_id: str) -> str:
    return base64.urlsafe_b64encode(f"{start_us}:{event_id}".encode()).decode().rstrip("=")


def decode(cursor: str) -> tuple[int, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        start, event_id = raw.split(":", 1)
        return int(start), event_id
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidParameters(
            "cursor: not a cursor returned by this API (pass next_cursor unchanged)"
        ) from None
