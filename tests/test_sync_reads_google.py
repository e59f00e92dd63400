"""Reads from the sync mirror on Google (the test server): a one-off event and the calendar's
list answer from a current mirror (a change the user makes in Google shows once sync has seen
it); what the mirror cannot answer as Google would (a window) is read from Google."""

from __future__ import annotations

from pathlib import Path

import pytest

from calgate.settings import Settings
from tests.conftest import Api
from tests.fakes import google_sync
from tests.oauth_env import Fakes, connect, fakes_fixture, oauth_runtime
from tests.synckit import Synced, sync_settings
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
    # A window is Google's to choose: read from Google.
    window = {"start": "2026-06-01T00:00:00Z", "end": "2026-06-02T00:00:00Z"}
    assert await titles(synced, **window) == ["B"]

    await synced.sync()
    assert (await synced.live(made["id"]))["title"] == "B"
    assert await titles(synced) == ["B"]
