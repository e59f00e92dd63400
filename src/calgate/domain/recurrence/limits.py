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

MAX_SCANNED = 100_000
"""Candidates one expansion examines at most, including those EXDATE and EXRULE remove."""

SEARCH_YEARS = 400
"""A rule with no occurrence within this many years of the start is rejected as never occurring.

It is also the length of the Gregorian cycle that :mod:`.scan` uses to bound its searches.
"""
