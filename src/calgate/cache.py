"""A small time-bounded cache for hot lookups (API keys, accounts).

Entries live ``ttl`` seconds; writes made by this process invalidate them at once, writes made
by another process (the CLI, another instance) are seen within ``ttl``.
"""

from __future__ import annotations

import time
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class TTLCache(Generic[K, V]):
    def __init__(self, ttl: float, max_entries: int = 10_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._items: dict[K, tuple[float, V]] = {}

    def get(self, key: K) -> V | None:
        item = self._items.get(key)
        if item is None:
            return None
        if item[0] < time.monotonic():
            self._items.pop(key, None)
            return None
        return item[1]

    def put(self, key: K, value: V) -> None:
        if self.ttl <= 0:
            return
        if len(self._items) >= self.max_entries:
            self._items.clear()
        self._items[key] = (time.monotonic() + self.ttl, value)

    def discard(self, key: K) -> None:
        self._items.pop(key, None)

    def clear(self) -> None:
        self._items.clear()
