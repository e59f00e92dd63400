"""Regression: an `.ics` import answered 400 after writing its first 500 events, though "a bad
file imports nothing". An import is now one transaction: a file refused for any reason leaves
the calendar as it was."""

from __future__ import annotations

import pytest

from tests.conftest import Api
from tests.test_api_ics import count_rows, imported, post_ics, vcalendar, vevent

pytestmark = pytest.mark.anyio

SINGLES = 600  # more than one write batch


async def test_a_file_refused_late_writes_nothing(api: Api) -> None:
    # An all-day series already in the calendar, then a file of many new events ending with a
    # timed RECURRENCE-ID of that series: refusable only against the stored series.
    series = vevent("series", "SUMMARY:Daily", "RRULE:FREQ=DAILY;COUNT=5",
                    "DTEND;VALUE=DATE:20260302", start="DTSTART;VALUE=DATE:20260301")  # fmt: skip
    assert (await imported(api, vcalendar(series)))["created"] == 1
    singles = [vevent(f"single-{n}", f"SUMMARY:Single {n}") for n in range(SINGLES)]
    moved = vevent("series", "SUMMARY:Moved", "RECURRENCE-ID:20260303T000000Z",
                   "DTEND:20260303T110000Z", start="DTSTART:20260303T100000Z")  # fmt: skip

    r = await post_ics(api, vcalendar(*singles, moved))

    assert r.status_code == 400, r.text
    assert f"VEVENT {SINGLES + 1} (UID series): RECURRENCE-ID" in r.json()["detail"]
    assert await count_rows(api) == 1
