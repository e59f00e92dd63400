"""RFC 5545 recurrence: checking recurrence lines and expanding series. Pure: no HTTP, no SQL.

Lines
    ``RRULE``, ``EXRULE``, ``RDATE`` and ``EXDATE`` lines are read with icalendar's content-line,
    parameter and value-type parsers and checked against RFC 5545: FREQ is required; COUNT and
    UNTIL exclude each other; UNTIL is a UTC date-time (``...Z``) when the start has a time and a
    date when the event is all-day; BYxxx values are in range (BYSECOND 0..60, BYMINUTE 0..59,
    BYHOUR 0..23, BYMONTHDAY ±1..31, BYYEARDAY ±1..366, BYWEEKNO ±1..53, BYMONTH 1..12,
    BYSETPOS ±1..366, BYDAY weekdays with ordinals ±1..53, ±1..5 for MONTHLY); BYDAY ordinals
    only with MONTHLY or YEARLY and not with BYWEEKNO; BYWEEKNO only with YEARLY; BYYEARDAY not
    with DAILY, WEEKLY or MONTHLY; BYMONTHDAY not with WEEKLY; BYSETPOS only with another BYxxx;
    no BYHOUR/BYMINUTE/BYSECOND and nothing more frequent than DAILY for all-day events; a rule
    must produce an occurrence within 400 years of the start. RDATE and EXDATE values are of the
    start's kind (``VALUE=DATE`` for all-day events, date-times otherwise, ``VALUE=PERIOD`` on
    RDATE), with an optional ``TZID`` (IANA or Windows name). Several RRULEs are accepted (RFC
    5545 advises against it); their occurrences are merged. A bad line raises
    :class:`~calgate.errors.InvalidParameters` whose detail quotes the line and names the part,
    e.g. ``recurrence[0]: 'RRULE:FREQ=WEEKLY;BYDAY=XX': BYDAY value 'XX' is not a weekday
    (MO..SU)`` (lines are counted from 0).

    Normalized lines are upper-case, rule parts in RFC order, ``TZID`` canonical, default
    ``VALUE=DATE-TIME`` dropped; date-times without ``TZID`` or ``Z`` stay wall times in the
    event start's zone.

Expansion
    The instances are DTSTART (always the first, RFC 5545), the RRULE occurrences and the RDATEs,
    minus the EXDATEs and the EXRULE occurrences. DTSTART counts as the first of an RRULE's COUNT
    occurrences even when the rule does not produce it. Rules run in the start's wall-clock time,
    so a weekly 09:00 meeting stays at 09:00 across daylight saving changes; a wall time that a
    change skips moves forward by the gap, an ambiguous one is the first (RFC 5545 section
    3.3.5). A start that is the second of two equal wall times (``fold=1``) stays the second,
    so it is the first occurrence; a sub-daily rule's times in the rest of that repeated hour
    are in the second pass too; the same wall time on other days is the first again. Every
    occurrence lasts the master's ``end - start`` (also an RDATE PERIOD: only its start is
    used). Nothing after the year 9999 exists: an occurrence must end by then, in its zone.
    Expansion never walks a series from its start: it begins at the rule period that holds the
    window (see :mod:`.scan`), so a daily series over decades costs the same as a one-month
    window's worth of days; a rule shorter than a day that keeps only some days is scanned day by
    kept day. :func:`occurrences` computes them one at a time, as a caller takes them.

Known limits of the model
    An RDATE PERIOD's own length is not kept. BYWEEKNO weeks that straddle New Year follow
    dateutil (the days of week 1 of the next year count in December's year). A start is taken
    to the second. A rule of a day or longer that matches rarely in its periods
    (``FREQ=DAILY;BYMONTH=1;BYMONTHDAY=1``) still walks every period: an open-ended query of it
    costs about a millisecond per year it covers, paid from the budget below.

Limits (module constants, see :mod:`.limits`)
    ``MAX_LINES`` = 50 lines, ``MAX_LINE_LENGTH`` = 1000 characters per line, ``MAX_DATES`` =
    1000 RDATE/EXDATE values in total, ``MAX_COUNT`` = 10000 for COUNT, ``MAX_OCCURRENCES`` =
    1000 occurrences per :func:`expand` call unless the caller sets ``limit``.

Work
    Every candidate time, rule period and rule set-up is paid from a :class:`Budget` (one per
    request; ``WORK_LIMIT`` steps, the ``recurrence_work_limit`` setting, 200,000 by default:
    about a second of CPU). Past it, :class:`WorkLimitExceeded` (a 400 naming the limit); a
    cancelled budget stops the work at its next step (:class:`Cancelled`).
"""

from __future__ import annotations

from calgate.domain.recurrence.budget import Budget, Cancelled, WorkLimitExceeded
from calgate.domain.recurrence.expand import (
    expand,
    is_occurrence,
    occurrence_end,
    occurrences,
    series_bounds,
)
from calgate.domain.recurrence.limits import (
    MAX_COUNT,
    MAX_DATES,
    MAX_LINE_LENGTH,
    MAX_LINES,
    MAX_OCCURRENCES,
    SEARCH_YEARS,
    configure,
)
from calgate.domain.recurrence.series import validate
from calgate.domain.recurrence.tokens import add_exdate, occurrence_token, parse_occurrence_token

__all__ = [
    "MAX_COUNT",
    "MAX_DATES",
    "MAX_LINES",
    "MAX_LINE_LENGTH",
    "MAX_OCCURRENCES",
    "SEARCH_YEARS",
    "Budget",
    "Cancelled",
    "WorkLimitExceeded",
    "add_exdate",
    "configure",
    "expand",
    "is_occurrence",
    "occurrence_end",
    "occurrence_token",
    "occurrences",
    "parse_occurrence_token",
    "series_bounds",
    "validate",
]
