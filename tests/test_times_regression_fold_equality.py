"""Regression: the two passes of a repeated hour compared equal, so moving an event from one
02:30 to the other looked like no change."""

from __future__ import annotations

import datetime as dt

from calgate.domain.times import EventTime


def test_two_passes_of_a_repeated_hour_differ() -> None:
    first = EventTime(wall=dt.datetime(2026, 10, 25, 2, 30), tz="Europe/Paris")
    second = EventTime(wall=dt.datetime(2026, 10, 25, 2, 30, fold=1), tz="Europe/Paris")
    assert first != second
    assert len({first, second}) == 2
    assert first.utc != second.utc
    assert second == EventTime(wall=dt.datetime(2026, 10, 25, 2, 30, fold=1), tz="Europe/Paris")
    assert EventTime(date=dt.date(2026, 1, 1)) == EventTime(date=dt.date(2026, 1, 1))
