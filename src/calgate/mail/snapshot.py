"""An event as JSON in an outbox payload, and back (the mail is built when it is sent)."""

from __future__ import annotations

from calgate.store.codec import event_from_json as load
from calgate.store.codec import event_to_json as dump

__all__ = ["dump", "load"]
