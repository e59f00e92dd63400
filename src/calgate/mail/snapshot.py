"""An event as JSON in an outbox payload, and back (the mail is built when it is sent)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from calgate.domain.model import Event
from calgate.store.codec import dt_to_us, event_from_row, event_to_data


def dump(event: Event) -> dict[str, Any]:
    return {
        "id": event.id,
        "calendar_id": event.calendar_id,
        "ical_uid": event.ical_uid,
        "master_event_id": event.master_event_id,
        "created_at": dt_to_us(event.created_at),
        "updated_at": dt_to_us(event.updated_at),
        "version": event.version,
        "sequence": event.sequence,
        "is_cancelled": event.is_cancelled,
        "data": event_to_data(event),
    }


def load(data: dict[str, Any]) -> Event:
    return event_from_row(SimpleNamespace(**data))
