"""Window queries find every overlapping single event, however long, through the calendar's
longest-single-event bound."""

from __future__ import annotations

import pytest

from tests.conftest import Api

pytestmark = pytest.mark.anyio


def timed(title: str, start: str, end: str) -> dict[str, object]:
    return {"title": title, "start": {"date_time": start}, "end": {"date_time": end}}


async def titles(api: Api, start: str, end: str, expand: bool) -> list[str]:
    params = {"start": start, "end": end, "expand_recurring": str(expand).lower()}
    r = await api.call("GET", api.events_url(), params=params)
    assert r.status_code == 200, r.text
    return [e["title"] for e in r.json()["data"]]


@pytest.mark.parametrize("expand", [False, True])
async def test_long_event_started_long_before_the_window(api: Api, expand: bool) -> None:
    for day in range(1, 28):
        await api.create(
            timed(f"short {day}", f"2026-01-{day:02d}T09:00:00Z", f"2026-01-{day:02d}T10:00:00Z")
        )
    await api.create(timed("quarter", "2025-11-01T00:00:00Z", "2026-02-01T00:00:00Z"))
    assert await titles(api, "2026-01-20T00:00:00Z", "2026-01-21T00:00:00Z", expand) == [
        "quarter",
        "short 20",
    ]


async def test_event_made_longer_by_patch_is_found(api: Api) -> None:
    event_id = await api.create(timed("grows", "2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z"))
    assert await titles(api, "2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z", False) == []
    r = await api.call(
        "PATCH",
        f"{api.events_url()}/{event_id}",
        json={"end": {"date_time": "2026-06-01T00:00:00Z"}},
    )
    assert r.status_code == 200
    assert await titles(api, "2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z", False) == ["grows"]


async def test_series_and_singles_merge_in_start_order_across_pages(api: Api) -> None:
    await api.create(
        {
            **timed("weekly", "2025-12-29T08:00:00Z", "2025-12-29T09:00:00Z"),
            "recurrence": ["RRULE:FREQ=WEEKLY"],
        }
    )
    for day in (5, 12, 19):
        await api.create(
            timed(f"single {day}", f"2026-01-{day:02d}T07:00:00Z", f"2026-01-{day:02d}T07:30:00Z")
        )
    seen: list[str] = []
    params = {"start": "2026-01-01T00:00:00Z", "end": "2026-02-01T00:00:00Z", "limit": "2"}
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        page = (await api.call("GET", api.events_url(), params=query)).json()
        seen += [e["title"] for e in page["data"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == ["weekly", "single 5", "single 12", "single 19"]
