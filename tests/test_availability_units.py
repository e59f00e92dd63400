"""Working hours' zone offsets cut exactly at a change, wherever the window starts."""

from __future__ import annotations

import datetime as dt

from calgate.domain import availability as av
from calgate.domain.freebusy import to_us

HOUR = 3_600_000_000


def us(text: str) -> int:
    return to_us(dt.datetime.fromisoformat(text))


def test_a_change_on_the_hourly_probe_is_found_to_the_microsecond() -> None:
    # Paris goes to summer time at 01:00Z on 29 March 2026.
    for start in ("2026-03-29T00:00:00+00:00", "2026-03-29T01:00:00+00:00"):
        found = av.offset_segments("Europe/Paris", us(start), us("2026-03-29T03:00:00+00:00"))
        change = us("2026-03-29T01:00:00+00:00")
        assert found[-1] == (change, us("2026-03-29T03:00:00+00:00"), 2 * HOUR)
        if found[0][0] < change:
            assert found[0] == (us(start), change, HOUR)


def test_lord_howe_changes_by_half_an_hour_between_probes() -> None:
    # Lord Howe Island: 02:00 -> 02:30 local on 4 October 2026 (15:30Z on the 3rd).
    start = us("2026-10-03T15:10:00+00:00")
    found = av.offset_segments("Australia/Lord_Howe", start, start + 2 * HOUR)
    change = us("2026-10-03T15:30:00+00:00")
    assert found == [(start, change, 10 * HOUR + HOUR // 2), (change, start + 2 * HOUR, 11 * HOUR)]


def test_a_repeated_working_hour_is_one_span_over_both_passes() -> None:
    hours = av.WorkingHours("Europe/Paris", {6: ((120, 180),)})  # Sundays 02:00-03:00
    start = us("2026-10-25T00:00:00+00:00")
    assert av.working_spans(hours, start, start + 12 * HOUR) == [(start, start + 2 * HOUR)]
