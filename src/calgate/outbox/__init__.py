"""The durable outbox: what a change must cause outside calgate (invitation mail, webhook
calls) is written in the change's own transaction and delivered later by a worker.

- :class:`Outbox` writes deliveries (from the change effects) and wakes this process' worker.
- :mod:`.store` is the table access; :mod:`.notices` the invitation state of events.
- :class:`~calgate.outbox.worker.Worker` claims due deliveries and hands each to its
  :class:`~calgate.outbox.worker.Channel` (``mail``, ``webhook``), with retries and backoff.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Connection

from calgate.outbox import store
from calgate.outbox.store import Delivery, NewDelivery
from calgate.store.db import now_us
from calgate.store.ids import new_id

__all__ = ["Delivery", "NewDelivery", "Outbox"]


class Outbox:
    def __init__(self) -> None:
        self._listeners: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    def add(
        self,
        conn: Connection,
        *,
        tenant_id: str,
        account_id: str,
        change_id: str,
        event_id: str,
        payload: dict[str, Any],
        deliveries: list[NewDelivery],
    ) -> list[str]:
        """Write ``deliveries`` (sharing ``payload``) in the transaction of ``conn``; returns
        their ids. Runs inside a change's transaction, possibly in the writer thread."""
        if not deliveries:
            return []
        ids = [new_id() for _ in deliveries]
        store.enqueue(
            conn,
            ids=ids,
            payload_id=new_id(),
            payload=payload,
            tenant_id=tenant_id,
            account_id=account_id,
            change_id=change_id,
            event_id=event_id,
            deliveries=deliveries,
            now=now_us(),
        )
        self.wake()
        return ids

    def subscribe(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` (thread-safe, non-blocking) whenever deliveries are written."""
        with self._lock:
            self._listeners.append(listener)

    def unsubscribe(self, listener: Callable[[], None]) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def wake(self) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener()
