"""An EventTime keeps its instant and zoned wall time once computed: what it keeps is what a
fresh one computes (folds, all-day dates, zones), is never carried to another time by
``dataclasses.replace``, and is not pickled (the worker processes get the time itself)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import pickle

import pytest

from calgate.domain.times import EventTime

TIMES = [
    EventTime(wall=dt.datetime(2026, 10, 25, 2, 30), tz="Europe/Paris"),
    EventTime(wall=dt.datetime(2026, 10, 25, 2, 30, fold=1), tz="Europe/Paris"),
    EventTime(wall=dt.datetime(2026, 3, 8, 1, 59), tz="America/New_York"),
    EventTime(wall=dt.datetime(2026, 1, 20, 10), tz="UTC"),
    EventTime(date=dt.date(2026, 2, 28)),
]


@pytest.mark.parametrize("time", TIMES, ids=repr)
def test_what_a_time_keeps_is_what_a_fresh_one_computes(time: EventTime) -> None:
    fresh = pickle.loads(pickle.dumps(time))
    first, aware = time.utc, time.aware  # computed, then kept
    assert time.utc is first and time.aware is aware
    again = EventTime(date=time.date, wall=time.wall, tz=time.tz)
    assert len(pickle.dumps(time)) == len(pickle.dumps(again))  # nothing kept is sent
    assert (again.utc, again.aware, again.token) == (first, aware, time.token)
    assert again.aware.fold == aware.fold and again.aware.utcoffset() == aware.utcoffset()
    unpickled = pickle.loads(pickle.dumps(time))
    assert unpickled.utc == first and unpickled.wall == time.wall
    assert unpickled == time and fresh.utc == first


def test_a_replaced_time_computes_its_own() -> None:
    paris = EventTime(wall=dt.datetime(2026, 7, 1, 9), tz="Europe/Paris")
    assert paris.utc == dt.datetime(2026, 7, 1, 7, tzinfo=dt.UTC)
    tokyo = dataclasses.replace(paris, tz="Asia/Tokyo")
    assert tokyo.utc == dt.datetime(2026, 7, 1, 0, tzinfo=dt.UTC)
    assert tokyo.aware.utcoffset() == dt.timedelta(hours=9)
    later = dataclasses.replace(paris, wall=dt.datetime(2026, 12, 1, 9))
    assert later.utc == dt.datetime(2026, 12, 1, 8, tzinfo=dt.UTC)
