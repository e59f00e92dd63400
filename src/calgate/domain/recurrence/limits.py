"""The caps that keep recurrence input small and every expansion bounded."""

from __future__ import annotations

MAX_LINES = 50
"""Recurrence lines per event."""

MAX_LINE_LENGTH = 1000
"""Characters per recurrence line."""

MAX_DATES = 1000
"""RDATE and EXDATE values per event, all lines together."""

MAX_COUNT = 10_000
"""The largest ``COUNT`` a rule may have (27 years of a daily series)."""

MAX_OCCURRENCES = 1000
"""Occurrences one expansion returns unless the caller asks for another limit."""

SEARCH_YEARS = 400
"""A rule with no occurrence within this many years of the start is rejected as never occurring.

It is also the length of the Gregorian cycle that :mod:`.scan` uses to bound its searches.
"""

WORK_LIMIT = 200_000
"""Steps of recurrence work one request may spend (see :mod:`.budget`); about a second of CPU.

The ``recurrence_work_limit`` setting replaces it when the server starts (:func:`configure`).
"""


def configure(work_limit: int) -> None:
    """Set the work limit of every budget made from now on (done once, from the settings)."""
    global WORK_LIMIT  # one process-wide value, set at start-up
    WORK_LIMIT = work_limit
