"""Issue 13: recurrence work stops when nobody waits for it any more.

A series whose expansion costs minutes of CPU (with the work limit raised far enough to allow
it) is listed, and the client gives up: the work must stop, not run on in its thread.
"""

from __future__ import annotations

import time
from pathlib import Path

import anyio
import pytest

from calgate.settings import Settings
from tests.conftest import Api
from tests.test_recurrence_hostile import ENDLESS_SECONDLY

pytestmark = pytest.mark.anyio

# Every second but 23:00:00 is excluded again: about 170,000 candidates per occurrence.
ONE_A_DAY = [
    "RRULE:FREQ=SECONDLY",
    "EXRULE:FREQ=SECONDLY;BYHOUR=" + ",".join(str(n) for n in range(23)),
    "EXRULE:FREQ=SECONDLY;BYMINUTE=" + ",".join(str(n) for n in range(1, 60)),
    "EXRULE:FREQ=SECONDLY;BYSECOND=" + ",".join(str(n) for n in range(1, 60)),
]


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path,
        sqlite_synchronous="NORMAL",
        recurrence_work_limit=10**9,
    )


async def test_an_expansion_stops_when_its_client_goes(api: Api) -> None:
    await api.create({**ENDLESS_SECONDLY, "recurrence": ONE_A_DAY})
    window = {"expand_recurring": "true", "start": "2026-06-01T00:00:00Z", "limit": "250"}
    with anyio.move_on_after(0.5) as waited:
        await api.call("GET", api.events_url(), params=window)
    assert waited.cancelled_caught  # minutes of work: the client gave up
    await anyio.sleep(0.5)
    cpu = time.process_time()
    await anyio.sleep(1.5)
    assert time.process_time() - cpu < 0.5  # nothing computes for the departed client
    # The tenant's turn is free again: another expanded list (before the series) answers.
    with anyio.fail_after(30):
        before = {**window, "start": "2025-06-01T00:00:00Z", "end": "2025-07-01T00:00:00Z"}
        r = await api.call("GET", api.events_url(), params=before)
    assert r.status_code == 200, r.text
    assert r.json()["data"] == []
