"""CalDAV free/busy from the sync mirror (a real Radicale): while the mirror is current, the
busy time is what sync last saw; once sync sees a change made on the server, the busy time
follows it."""

from __future__ import annotations

from pathlib import Path

import pytest

from calgate.settings import Settings
from tests.conftest import Api
from tests.radicale import Radicale, radicale_fixture  # noqa: F401
from tests.synckit import sync_settings
from tests.test_sync_caldav import connect, ics
from tests.test_sync_reads import Synced

pytestmark = pytest.mark.anyio


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return sync_settings(
        database_url, tmp_path, sync_enabled=False, sync_mirror_max_age_seconds=60.0
    )


async def busy(api: Api, account_id: str) -> list[str]:
    body = {
        "start": "2026-06-01T00:00:00Z",
        "end": "2026-06-05T00:00:00Z",
        "calendars": [{"account_id": account_id}],
    }
    r = await api.client.post(
        "/api/v1/calendars/free_busy", json=body, headers={"X-API-KEY": api.a.key}
    )
    assert r.status_code == 200, r.text
    [entry] = r.json()["data"]
    assert entry["errors"] == []
    return [b["start"][:10] for b in entry["busy"]]


async def test_free_busy_reads_a_current_mirror(api: Api, radicale: Radicale) -> None:
    account_id, dav = await connect(api, radicale)
    dav.put("outside", ics("outside@other", "Standup"))
    synced = Synced(api, dav, account_id)
    await synced.sync()
    assert await busy(api, account_id) == ["2026-06-01"]
    # The server's event becomes a daily series; sync has not seen it: the mirror answers.
    dav.put("outside", ics("outside@other", "Standup", rrule="FREQ=DAILY;COUNT=3"))
    assert await busy(api, account_id) == ["2026-06-01"]
    await synced.sync()
    assert await busy(api, account_id) == ["2026-06-01", "2026-06-02", "2026-06-03"]
