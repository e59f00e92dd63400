"""The per-request recurrence work budget (issue 13): past it, a 400 that names the limit."""

from __future__ import annotations

from pathlib import Path

import pytest

from calgate.settings import Settings
from tests.conftest import Api
from tests.test_recurrence_hostile import ENDLESS_SECONDLY

pytestmark = pytest.mark.anyio


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path,
        sqlite_synchronous="NORMAL",
        recurrence_work_limit=5000,
    )


async def test_work_past_the_budget_is_a_400_naming_the_limit(api: Api) -> None:
    # One second a minute is left: each occurrence costs about 120 candidates.
    seconds = ",".join(str(n) for n in range(1, 60))
    rules = ["RRULE:FREQ=SECONDLY", f"EXRULE:FREQ=SECONDLY;BYSECOND={seconds}"]
    await api.create({**ENDLESS_SECONDLY, "recurrence": rules})
    window = {
        "expand_recurring": "true",
        "start": "2026-06-01T00:00:00Z",
        "end": "2027-06-01T00:00:00Z",
    }
    r = await api.call("GET", api.events_url(), params={**window, "limit": "100"})
    assert r.status_code == 400, r.text
    assert r.json()["type"] == "errors/invalid_parameters"
    assert "recurrence_work_limit" in r.json()["detail"]
    assert "5000" in r.json()["detail"]
    r = await api.call("GET", api.events_url(), params={**window, "limit": "10"})
    assert r.status_code == 200, r.text
    starts = [e["start"]["date_time"] for e in r.json()["data"]]
    assert starts[:2] == ["2026-06-01T02:00:00+02:00", "2026-06-01T02:01:00+02:00"]
    # Another tenant's lists are not affected.
    r = await api.call("GET", api.events_url(api.b.calendar_id), tenant=api.b)
    assert r.status_code == 200
