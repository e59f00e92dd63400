"""format_utc writes the same text as the strftime form it replaced, for any instant."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from calgate.domain.times import format_utc

ZONES = [dt.UTC, ZoneInfo("Europe/Paris"), ZoneInfo("America/New_York"), ZoneInfo("Asia/Kolkata")]


@given(
    st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30)),
    st.sampled_from(ZONES),
)
def test_same_text_as_strftime(wall: dt.datetime, zone: dt.tzinfo) -> None:
    instant = wall.replace(tzinfo=zone)
    expected = instant.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.")
    assert format_utc(instant) == expected + f"{instant.microsecond // 1000:03d}Z"
