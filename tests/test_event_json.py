"""Each event's answer JSON, remembered (issue 14): the bytes are always what encoding the
event afresh gives, whatever the memory saw before."""

from __future__ import annotations

import dataclasses
import datetime as dt

import orjson

from calgate.api.event_json import EventJSON
from calgate.api.wire import event_to_wire
from calgate.domain.model import Attendee, Event, EventFields, Organizer
from calgate.domain.times import EventTime

NOW = dt.datetime(2026, 12, 5, 3, 0, tzinfo=dt.UTC)


def _event() -> Event:
    fields = EventFields(
        title="Standup",
        start=EventTime(wall=dt.datetime(2026, 10, 25, 2, 30), tz="Europe/Paris"),
        end=EventTime(wall=dt.datetime(2026, 10, 25, 3, 30), tz="Europe/Paris"),
        attendees=(Attendee("a@example.com"), Attendee("Me@Example.com")),
        recurrence=("RRULE:FREQ=WEEKLY;COUNT=10",),
    )
    return Event(
        id="evt_1",
        calendar_id="cal_1",
        ical_uid="uid-1",
        fields=fields,
        created_at=NOW,
        updated_at=NOW,
        organizer=Organizer("me@example.com", "Me"),
    )


def _fresh(event: Event) -> bytes:
    return orjson.dumps(event_to_wire(event))


def test_an_event_is_encoded_as_event_to_wire_gives_it_and_remembered() -> None:
    memory = EventJSON()
    event = _event()
    assert memory(event) == _fresh(event)
    assert memory(dataclasses.replace(event)) is memory(event)
    # The same event decoded anew: equal fields, another object.
    again = dataclasses.replace(event, fields=dataclasses.replace(event.fields))
    assert again.fields is not event.fields
    assert memory(again) is memory(event)
    assert len(memory) == 1


def test_every_change_an_answer_shows_is_another_entry() -> None:
    memory = EventJSON()
    event = _event()
    memory(event)
    f = event.fields
    later = NOW + dt.timedelta(seconds=1)
    changed = [
        dataclasses.replace(event, fields=dataclasses.replace(f, title="Retro")),
        dataclasses.replace(
            event, fields=dataclasses.replace(f, attendees=(Attendee("b@example.com"),))
        ),
        dataclasses.replace(event, updated_at=later),
        dataclasses.replace(event, version=2),
        dataclasses.replace(event, is_cancelled=True),
        dataclasses.replace(event, organizer=Organizer("me@example.com", "Someone")),
        dataclasses.replace(event, notifications="sent"),
        dataclasses.replace(event, master_event_id="evt_0"),
        # The second 02:30 of the night clocks go back: equal wall times, another offset.
        dataclasses.replace(
            event,
            fields=dataclasses.replace(
                f, start=EventTime(wall=f.start.wall.replace(fold=1), tz="Europe/Paris")
            ),
        ),
    ]
    for other in changed:
        assert memory(other) == _fresh(other) != _fresh(event)
    assert memory(event) == _fresh(event)


def test_a_list_is_the_bytes_orjson_gives_the_whole_answer() -> None:
    memory = EventJSON()
    events = [_event(), dataclasses.replace(_event(), id="evt_2")]
    for cursor in (None, 'abc"def'):
        whole = {
            "object": "CalendarEventList",
            "data": [event_to_wire(e) for e in events],
            "next_cursor": cursor,
        }
        assert memory.listed(events, cursor) == orjson.dumps(whole)
    assert memory.listed([], None) == orjson.dumps(
        {"object": "CalendarEventList", "data": [], "next_cursor": None}
    )


def test_the_oldest_entries_go_first() -> None:
    memory = EventJSON(size=2)
    a, b, c = (dataclasses.replace(_event(), id=f"evt_{n}") for n in range(3))
    memory(a)
    memory(b)
    memory(a)  # used again: b is now the oldest
    memory(c)
    assert len(memory) == 2
    assert memory(a) == _fresh(a) and memory(c) == _fresh(c)
