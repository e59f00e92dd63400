"""Reads from the sync mirror on CalDAV (a real Radicale): while the mirror is current, GET and
list answer from it (a change made on the server shows once sync has seen it, not before);
calgate's own writes show at once (read-your-writes); a mirror older than
CALGATE_SYNC_MIRROR_MAX_AGE_SECONDS, or the setting at 0, sends reads to the server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest

from calgate.settings import Settings
from calgate.sync.reads import MirrorReads
from tests import synckit
from tests.conftest import Api
from tests.radicale import Radicale, radicale_fixture  # noqa: F401
from tests.synckit import sync_settings
from tests.test_sync_caldav import Dav, connect, ics

pytestmark = pytest.mark.anyio

MAX_AGE = 2.0


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return sync_settings(
        database_url, tmp_path, sync_enabled=False, sync_mirror_max_age_seconds=MAX_AGE
    )


class Synced(synckit.Synced):
    def __init__(self, api: Api, dav: Dav, account_id: str) -> None:
        super().__init__(api, account_id, "work")
        self.dav = dav

    @property
    def events(self) -> str:
        return f"/api/v1/calendars/{self.calendar_id}/events"

    async def title(self, event_id: str) -> str:
        return str((await self.live(event_id))["title"])

    async def titles(self, **params: str) -> list[str]:
        r = await self.api.call("GET", self.events, params=params, account_id=self.account_id)
        assert r.status_code == 200, r.text
        return [e["title"] for e in r.json()["data"]]

    async def call(self, method: str, url: str, **kwargs: Any) -> Any:
        return await self.api.call(method, url, account_id=self.account_id, **kwargs)


@pytest.fixture
async def synced(api: Api, radicale: Radicale) -> Synced:
    account_id, dav = await connect(api, radicale)
    dav.put("outside", ics("outside@other", "Before"))
    synced = Synced(api, dav, account_id)
    await synced.sync()
    return synced


async def test_a_current_mirror_answers_until_sync_sees_the_change(synced: Synced) -> None:
    synced.dav.put("outside", ics("outside@other", "Changed on the server"))
    # Not synced yet: the mirror (younger than the bound) answers, as it was.
    assert await synced.title("outside") == "Before"
    assert await synced.titles() == ["Before"]
    await synced.sync()
    assert await synced.title("outside") == "Changed on the server"
    assert await synced.titles() == ["Changed on the server"]


async def test_an_old_mirror_is_not_used(synced: Synced) -> None:
    synced.dav.put("outside", ics("outside@other", "Changed on the server"))
    assert await synced.title("outside") == "Before"
    await anyio.sleep(MAX_AGE + 0.2)  # the last sync is now older than the bound
    assert await synced.title("outside") == "Changed on the server"
    assert await synced.titles() == ["Changed on the server"]


async def test_max_age_zero_always_reads_the_server(synced: Synced, api: Api) -> None:
    reads = api.runtime.events.mirror
    assert isinstance(reads, MirrorReads)
    reads.max_age_us = 0  # as CALGATE_SYNC_MIRROR_MAX_AGE_SECONDS=0
    synced.dav.put("outside", ics("outside@other", "Changed on the server"))
    assert await synced.title("outside") == "Changed on the server"
    assert await synced.titles() == ["Changed on the server"]


async def test_reads_after_calgate_writes_see_them(synced: Synced) -> None:
    synced.dav.put("outside", ics("outside@other", "Changed on the server"))
    assert await synced.title("outside") == "Before"  # from the mirror

    # A write through calgate: the calendar is read from the server until sync sees it.
    r = await synced.call("PATCH", f"{synced.events}/outside", json={"title": "Patched"})
    assert r.status_code == 200, r.text
    assert await synced.title("outside") == "Patched"
    body = {
        "title": "Created",
        "start": {"date_time": "2026-06-02T10:00:00", "time_zone": "UTC"},
        "end": {"date_time": "2026-06-02T11:00:00", "time_zone": "UTC"},
    }
    r = await synced.call("POST", synced.events, json=body)
    assert r.status_code == 200, r.text
    created = r.json()["event_id"]
    assert await synced.titles() == ["Patched", "Created"]

    # Once sync has seen them, the mirror answers again: a change on the server is not shown.
    await synced.sync()
    synced.dav.put("outside", ics("outside@other", "Changed again on the server"))
    assert await synced.title("outside") == "Patched"

    r = await synced.call("DELETE", f"{synced.events}/{created}")
    assert r.status_code == 200, r.text
    r = await synced.call("GET", f"{synced.events}/{created}")
    assert r.status_code == 404, r.text
    assert await synced.titles() == ["Changed again on the server"]


async def test_an_item_is_decoded_once_until_it_changes(synced: Synced, api: Api) -> None:
    reads = api.runtime.events.mirror
    assert isinstance(reads, MirrorReads)
    assert len(reads.decoded) == 0
    assert await synced.title("outside") == "Before"
    assert len(reads.decoded) == 1
    # Another GET and a list of the same item: its events are not decoded again.
    assert await synced.title("outside") == "Before"
    assert await synced.titles() == ["Before"]
    assert len(reads.decoded) == 1
    # Changed and synced: its new content is decoded (once), and answers.
    synced.dav.put("outside", ics("outside@other", "Changed on the server"))
    await synced.sync()
    assert await synced.title("outside") == "Changed on the server"
    assert await synced.titles() == ["Changed on the server"]
    assert len(reads.decoded) == 2
