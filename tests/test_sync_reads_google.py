"""Reads from the sync mirror on Google (the test server): a one-off event, a series and the
calendar's list answer from a current mirror (a change the user makes in Google shows once sync
has seen it), a window too while the calendar holds one-off events only; what the mirror cannot
answer as Google would (a window over series, an expanded list) is read from Google."""

from __future__ import annotations

from pathlib import Path

import pytest

from calgate.settings import Settings
from tests.conftest import Api
from tests.fakes import google_sync
from tests.oauth_env import Fakes, connect, fakes_fixture, oauth_runtime
from tests.synckit import Synced, both, sync_settings
from tests.test_sync_google import timed

pytestmark = pytest.mark.anyio
__all__ = ["fakes_fixture", "oauth_runtime"]


@pytest.fixture
def settings(database_url: str, tmp_path: Path, fakes: Fakes) -> Settings:
    return fakes.settings(
        sync_settings(database_url, tmp_path, sync_enabled=False, sync_mirror_max_age_seconds=60.0)
    )


async def titles(synced: Synced, **params: str) -> list[str]:
    r = await synced.api.call(
        "GET",
        f"/api/v1/calendars/{synced.calendar_id}/events",
        params=params,
        account_id=synced.account_id,
    )
    assert r.status_code == 200, r.text
    return [e["title"] for e in r.json()["data"]]


async def test_google_reads_from_a_current_mirror(api: Api, fakes: Fakes) -> None:
    account_id = await connect(api, fakes, "GOOGLE_OAUTH")
    calendar = fakes.google.email
    made = google_sync.user_creates(fakes.google, calendar, timed("2026-06-01", 9, summary="A"))
    synced = Synced(api, account_id, calendar)
    await synced.sync()

    google_sync.user_changes(fakes.google, calendar, made["id"], {"summary": "B"})
    assert (await synced.live(made["id"]))["title"] == "A"  # the mirror, not yet synced
    assert await titles(synced) == ["A"]
    # One-off events only: a window holds those Google's timeMin/timeMax say, from the mirror.
    window = {"start": "2026-06-01T00:00:00Z", "end": "2026-06-02T00:00:00Z"}
    assert await titles(synced, **window) == ["A"]
    assert await titles(synced, start="2026-06-01T08:00:00Z", end="2026-06-02T00:00:00Z") == []
    # Expanded: Google's own pages (its page tokens are the cursors), read from Google.
    assert await titles(synced, expand_recurring="true", **window) == ["B"]

    await synced.sync()
    assert (await synced.live(made["id"]))["title"] == "B"
    assert await titles(synced) == ["B"]
    assert await titles(synced, **window) == ["B"]

    # A series in the calendar: which series and exceptions a window holds is Google's choice,
    # so windows are read from Google.
    google_sync.user_creates(
        fakes.google,
        calendar,
        timed("2026-06-08", 10, summary="Weekly", recurrence=["RRULE:FREQ=WEEKLY;COUNT=4"]),
    )
    await synced.sync()
    google_sync.user_changes(fakes.google, calendar, made["id"], {"summary": "C"})
    assert await titles(synced, **window) == ["C"]
    assert await titles(synced) == ["B", "Weekly"]


async def test_google_series_from_the_mirror_with_its_cancelled_occurrences(
    api: Api, fakes: Fakes
) -> None:
    """A series' occurrences cancelled in Google (before the first sync and after it, in any
    order) are its EXDATEs in time order, from the mirror as from Google, in GET and lists."""
    account_id = await connect(api, fakes, "GOOGLE_OAUTH")
    calendar = fakes.google.email
    body = timed("2026-06-08", 10, summary="Weekly", recurrence=["RRULE:FREQ=WEEKLY;COUNT=6"])
    series = google_sync.user_creates(fakes.google, calendar, body)
    for day in ("20260629", "20260615"):
        google_sync.user_deletes(fakes.google, calendar, f"{series['id']}_{day}T080000Z")
    synced = Synced(api, account_id, calendar)
    await synced.sync()

    mirror, live = await both(api, synced, f"/{series['id']}")
    assert mirror == live
    assert mirror[1]["recurrence"] == [
        "RRULE:FREQ=WEEKLY;COUNT=6",
        "EXDATE;TZID=Europe/Paris:20260615T100000,20260629T100000",
    ]
    google_sync.user_deletes(fakes.google, calendar, f"{series['id']}_20260608T080000Z")
    await synced.sync()
    for path, params in [(f"/{series['id']}", {}), ("", {}), ("", {"limit": "1"})]:
        mirror, live = await both(api, synced, path, **params)
        assert mirror == live, (path, params)

    # The mirror answers (until sync sees the change, it shows the series as it was).
    google_sync.user_changes(fakes.google, calendar, series["id"], {"summary": "Renamed"})
    assert (await synced.live(series["id"]))["title"] == "Weekly"
    await synced.sync()
    assert (await synced.live(series["id"]))["title"] == "Renamed"
