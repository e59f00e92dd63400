"""LOCAL under real concurrency (issue 13, items 6 and 7): two writers of one series or one
occurrence; one wins cleanly, the other gets 409, nothing is lost. The races matter on
PostgreSQL (concurrent transactions); on SQLite the writes are serialized and must agree."""

from __future__ import annotations

from typing import Any

import anyio
import httpx
import pytest

from tests.conftest import Api

pytestmark = pytest.mark.anyio

SERIES: dict[str, Any] = {
    "title": "Daily",
    "recurrence": ["RRULE:FREQ=DAILY;COUNT=10"],
    "start": {"date_time": "2026-03-02T09:00:00", "time_zone": "Europe/Paris"},
    "end": {"date_time": "2026-03-02T09:15:00", "time_zone": "Europe/Paris"},
}


async def occurrences(api: Api, master: str) -> list[dict[str, Any]]:
    r = await api.call(
        "GET",
        api.events_url(),
        params={
            "expand_recurring": "true",
            "start": "2026-03-01T00:00:00Z",
            "end": "2026-03-20T00:00:00Z",
        },
    )
    assert r.status_code == 200, r.text
    return [e for e in r.json()["data"] if e["id"].startswith(f"{master}_")]


async def test_concurrent_patches_of_one_generated_occurrence(api: Api) -> None:
    """The first change of a generated occurrence stores it; racing ones get 409, not 500."""
    master = await api.create(SERIES)
    target = (await occurrences(api, master))[3]["id"]
    url = f"{api.events_url()}/{target}"
    answers: list[httpx.Response] = []

    async def patch(n: int) -> None:
        answers.append(await api.call("PATCH", url, json={"title": f"moved {n}"}))

    async with anyio.create_task_group() as tg:
        for n in range(20):
            tg.start_soon(patch, n)
    codes = sorted(r.status_code for r in answers)
    assert set(codes) <= {200, 409}, [r.text for r in answers if r.status_code not in (200, 409)]
    assert 200 in codes
    for r in answers:
        if r.status_code == 409:
            assert r.json()["type"] == "errors/conflict"
    stored = await api.get(target)
    assert stored["title"].startswith("moved ")
    assert len(await occurrences(api, master)) == 10


async def race(api: Api, trial: int) -> None:
    master = await api.create(SERIES)
    target = (await occurrences(api, master))[2 + trial % 5]["id"]
    answers: dict[str, httpx.Response] = {}

    async def delete() -> None:
        answers["delete"] = await api.call("DELETE", f"{api.events_url()}/{target}")

    async def patch() -> None:
        answers["patch"] = await api.call(
            "PATCH", f"{api.events_url()}/{master}", json={"title": f"renamed {trial}"}
        )

    async with anyio.create_task_group() as tg:
        tg.start_soon(delete)
        tg.start_soon(patch)
    assert answers["delete"].status_code in (200, 409), answers["delete"].text
    assert answers["patch"].status_code in (200, 409), answers["patch"].text
    assert 200 in (answers["delete"].status_code, answers["patch"].status_code)
    left = {e["id"] for e in await occurrences(api, master)}
    gone = await api.call("GET", f"{api.events_url()}/{target}")
    if answers["delete"].status_code == 200:
        assert target not in left, f"trial {trial}: the deleted occurrence is still listed"
        assert gone.status_code == 404, f"trial {trial}: the deleted occurrence is still there"
    else:
        assert target in left
    title = (await api.get(master))["title"]
    assert title == (f"renamed {trial}" if answers["patch"].status_code == 200 else "Daily")


async def test_delete_of_an_occurrence_racing_a_patch_of_its_series(api: Api) -> None:
    """Each answer of 200 holds: a deleted occurrence is gone, a patched series is patched."""
    for trial in range(10):
        await race(api, trial)


async def delete_series_racing(api: Api, trial: int) -> None:
    master = await api.create(SERIES)
    target = (await occurrences(api, master))[1 + trial % 5]["id"]
    answers: dict[str, httpx.Response] = {}

    async def delete() -> None:
        answers["delete"] = await api.call("DELETE", f"{api.events_url()}/{master}")

    async def patch() -> None:
        answers["patch"] = await api.call(
            "PATCH", f"{api.events_url()}/{target}", json={"title": "moved"}
        )

    async with anyio.create_task_group() as tg:
        tg.start_soon(patch)
        tg.start_soon(delete)
    assert answers["delete"].status_code == 200, answers["delete"].text
    assert answers["patch"].status_code in (200, 404, 409), answers["patch"].text
    left = await api.call("GET", f"{api.events_url()}/{target}")
    assert left.status_code == 404, f"trial {trial}: an occurrence of a deleted series is left"


async def test_delete_of_a_series_racing_a_patch_of_one_occurrence(api: Api) -> None:
    """The first change of an occurrence stores it; the series' delete must take it along."""
    for trial in range(10):
        await delete_series_racing(api, trial)
