"""What one event may hold: one set of limits for every way in.

The JSON API's schemas (``api/schemas.py``) declare these numbers, so an overrun there is a 400
naming the field before anything else runs; the ``.ics`` import (API and ``calgate import``)
checks each parsed VEVENT with :func:`check`, so nothing is stored that could not be written back
through the JSON API. Recurrence limits (lines' content, COUNT, dates) live with the recurrence
rules (:mod:`calgate.domain.recurrence`).
"""

from __future__ import annotations

import re
from typing import Final

from calgate.domain.model import EventFields, Organizer
from calgate.errors import InvalidParameters

__all__ = [
    "EMAIL_PATTERN",
    "MAX_ATTENDEES",
    "MAX_BODY",
    "MAX_COMMENT",
    "MAX_CONFERENCE_ID",
    "MAX_CONFERENCE_URL",
    "MAX_EMAIL",
    "MAX_LOCATION",
    "MAX_NAME",
    "MAX_RECURRENCE_LINE",
    "MAX_RECURRENCE_LINES",
    "MAX_TITLE",
    "check",
]

MAX_TITLE: Final = 1024
MAX_BODY: Final = 65536
MAX_LOCATION: Final = 1024
MAX_ATTENDEES: Final = 500
MAX_NAME: Final = 256  # an attendee's or the organizer's display name
MAX_COMMENT: Final = 1024  # an attendee's answer comment (set by RSVP or an imported file)
MAX_EMAIL: Final = 320
MAX_RECURRENCE_LINES: Final = 50
MAX_RECURRENCE_LINE: Final = 1000
MAX_CONFERENCE_URL: Final = 2048
MAX_CONFERENCE_ID: Final = 256
EMAIL_PATTERN: Final = r"^[^@\s,;:<>()\[\]\"\\]+@[^@\s,;:<>()\[\]\"\\]+\.[^@\s,;:<>()\[\]\"\\]+$"
_EMAIL = re.compile(EMAIL_PATTERN)


def check(fields: EventFields, organizer: Organizer | None = None) -> None:
    """Refuse (400 naming the field as the JSON API names it) what no client could send."""
    texts = [
        ("title", fields.title, MAX_TITLE),
        ("body", fields.body, MAX_BODY),
        ("location", fields.location, MAX_LOCATION),
    ]
    if organizer is not None:
        texts += [
            ("organizer.email", organizer.email, MAX_EMAIL),
            ("organizer.display_name", organizer.display_name, MAX_NAME),
        ]
    if fields.conference is not None:
        texts += [
            ("conference.url", fields.conference.url, MAX_CONFERENCE_URL),
            ("conference.conference_id", fields.conference.conference_id, MAX_CONFERENCE_ID),
        ]
    if len(fields.attendees) > MAX_ATTENDEES:
        raise InvalidParameters(f"attendees: more than {MAX_ATTENDEES} ({len(fields.attendees)})")
    for n, attendee in enumerate(fields.attendees):
        if not _EMAIL.match(attendee.email):
            raise InvalidParameters(f"attendees[{n}].email: {attendee.email!r} is not an e-mail")
        texts += [
            (f"attendees[{n}].email", attendee.email, MAX_EMAIL),
            (f"attendees[{n}].display_name", attendee.display_name, MAX_NAME),
            (f"attendees[{n}].comment", attendee.comment, MAX_COMMENT),
        ]
    if len(fields.recurrence) > MAX_RECURRENCE_LINES:
        raise InvalidParameters(
            f"recurrence: more than {MAX_RECURRENCE_LINES} lines ({len(fields.recurrence)})"
        )
    texts += [(f"recurrence[{n}]", v, MAX_RECURRENCE_LINE) for n, v in enumerate(fields.recurrence)]
    for name, value, limit in texts:
        if len(value) > limit:
            raise InvalidParameters(f"{name}: longer than {limit} characters ({len(value)})")
