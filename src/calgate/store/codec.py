"""Converters between the domain model and the JSON kept in the ``events.data`` column."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

import orjson

from calgate.domain.model import Attendee, Conference, Event, EventFields, Organizer
from calgate.domain.times import EventTime


def us_to_dt(value: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(value / 1_000_000, dt.UTC)


def dt_to_us(value: dt.datetime) -> int:
    delta = value - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def fields_to_dict(f: EventFields) -> dict[str, Any]:
    return {
        "title": f.title,
        "start": f.start.to_storage(),
        "end": f.end.to_storage(),
        "body": f.body,
        "location": f.location,
        "transparency": f.transparency,
        "visibility": f.visibility,
        "conference": (
            {
                "provider": f.conference.provider,
                "url": f.conference.url,
                "id": f.conference.conference_id,
            }
            if f.conference
            else None
        ),
        "hidden": f.is_attendees_list_hidden,
        "attendees": [
            [
                a.email,
                a.display_name,
                a.optional,
                a.is_organizer,
                a.is_resource,
                a.response_status,
                a.comment,
            ]
            for a in f.attendees
        ],
        "recurrence": list(f.recurrence),
        "color": f.color,
        "notify": f.notify,
        "guests_can_modify": f.guests_can_modify,
    }


def fields_from_dict(d: dict[str, Any]) -> EventFields:
    conf = d.get("conference")
    return EventFields(
        title=d["title"],
        start=EventTime.from_storage(d["start"]),
        end=EventTime.from_storage(d["end"]),
        body=d["body"],
        location=d["location"],
        transparency=d["transparency"],
        visibility=d["visibility"],
        conference=Conference(conf["provider"], conf["url"], conf["id"]) if conf else None,
        is_attendees_list_hidden=d["hidden"],
        attendees=tuple(Attendee(*a) for a in d["attendees"]),
        recurrence=tuple(d["recurrence"]),
        color=d["color"],
        notify=d["notify"],
        guests_can_modify=d["guests_can_modify"],
    )


def event_to_data(event: Event) -> str:
    return orjson.dumps(
        {
            "f": fields_to_dict(event.fields),
            "organizer": (
                [event.organizer.email, event.organizer.display_name] if event.organizer else None
            ),
            "rid": event.recurrence_id.to_storage() if event.recurrence_id else None,
            "notifications": event.notifications,
            "event_type": event.event_type,
            "extra": event.extra,
        }
    ).decode()


def event_from_row(row: Any) -> Event:
    data = orjson.loads(row.data)
    org = data.get("organizer")
    rid = data.get("rid")
    return Event(
        id=row.id,
        calendar_id=row.calendar_id,
        ical_uid=row.ical_uid,
        fields=fields_from_dict(data["f"]),
        created_at=us_to_dt(row.created_at),
        updated_at=us_to_dt(row.updated_at),
        version=row.version,
        sequence=row.sequence,
        is_cancelled=row.is_cancelled,
        master_event_id=row.master_event_id,
        recurrence_id=EventTime.from_storage(rid) if rid else None,
        organizer=Organizer(org[0], org[1]) if org else None,
        event_type=data.get("event_type", "default"),
        notifications=data.get("notifications", "none"),
        extra=data.get("extra") or {},
    )


def event_to_json(event: Event) -> dict[str, Any]:
    """A whole event as JSON (identity, bookkeeping and :func:`event_to_data`), for stores
    that keep events outside the ``events`` table (outbox payloads, the sync mirror)."""
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


def event_from_json(data: dict[str, Any]) -> Event:
    return event_from_row(SimpleNamespace(**data))
