"""iCalendar (RFC 5545, RFC 7986) in and out, as a typed model through the ``icalendar`` package.

Used by the ``.ics`` export and import routes, the secret feed URL, the CalDAV adapter and iMIP
mail. Pure: no I/O, no clock. ``to_vevent`` and ``calendar_to_ics`` write; ``parse_ics`` reads
what they write and reasonable real-world files (see :mod:`.parse` for the rules).
"""

from __future__ import annotations

from calgate.domain.ical.export import calendar_to_ics, to_vcalendar, to_vevent
from calgate.domain.ical.parse import (
    MAX_IMPORT_EVENTS,
    ZERO_LENGTH_STANDIN,
    ParsedEvent,
    iter_ics,
    parse_ics,
)
from calgate.domain.ical.recurrence import canonical as canonical_recurrence
from calgate.domain.ical.vtimezones import OPEN_SERIES_YEARS

__all__ = [
    "MAX_IMPORT_EVENTS",
    "OPEN_SERIES_YEARS",
    "ZERO_LENGTH_STANDIN",
    "ParsedEvent",
    "calendar_to_ics",
    "canonical_recurrence",
    "iter_ics",
    "parse_ics",
    "to_vcalendar",
    "to_vevent",
]
