"""A hostile tenant's recurrence (issue 13, items 1, 2 and 11): bounded work, clean 4xx answers.

Every request here either answers correctly or is refused with a 400 naming what is wrong; none
answers 500, and none holds the event loop: ``/healthz`` answers while it runs.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import httpx
import pytest

from tests.conftest import Api

pytestmark = pytest.mark.anyio

PARIS = "Europe/Paris"
ENDLESS_SECONDLY = {
    "title": "every second",
    "start": {"date_time": "2026-01-20T10:00:00", "time_zone": PARIS},
    "end": {"date_time": "2026-01-20T10:00:01", "time_zone": PARIS},
    "recurrence": ["RRULE:FREQ=SECONDLY"],
}
LEAP_SECOND_RULE = "RRULE:FREQ=SECONDLY;BYMONTH=2;BYMONTHDAY=29;BYHOUR=23;BYMINUTE=59;BYSECOND=59"


def _timed(start: str, end: str, rule: str, tz: str = PARIS) -> dict[str, Any]:
    return {
        "title": "series",
        "start": {"date_time": start, "time_zone": tz},
        "end": {"date_time": end, "time_zone": tz},
        "recurrence": [rule],
    }


async def _expanded(api: Api, start: str, end: str, **params: str) -> httpx.Response:
    return await api.call(
        "GET",
        api.events_url(),
        params={"expand_recurring": "true", "start": start, "end": end, **params},
    )


async def _beside_healthz(
    api: Api, request: Callable[[], Awaitable[httpx.Response]]
) -> tuple[float, httpx.Response]:
    """Send ``request``; while it runs, time a /healthz. The /healthz seconds, the answer."""
    took: list[float] = []

    async def health() -> None:
        began = time.monotonic()
        await anyio.sleep(0.2)  # comes back late if the request holds the event loop
        r = await api.client.get("/healthz")
        took.append(time.monotonic() - began - 0.2)
        assert r.status_code == 200

    async with anyio.create_task_group() as tg:
        tg.start_soon(health)
        with anyio.fail_after(120):  # answers, rather than hangs
            r = await request()
        assert r.status_code in (200, 400), r.text
    return took[0], r


@pytest.mark.parametrize(
    ("rule", "part"),
    [
        ("RRULE:FREQ=DAILY;COUNT=99999999999", "COUNT"),
        ("RRULE:FREQ=DAILY;INTERVAL=99999999999", "INTERVAL"),
        ("RRULE:FREQ=MONTHLY;BYMONTHDAY=3,4;BYSETPOS=99999999999", "BYSETPOS"),
        ("RRULE:FREQ=MONTHLY;BYMONTHDAY=-99999999999", "BYMONTHDAY"),
        ("RRULE:FREQ=YEARLY;BYMONTH=99999999999", "BYMONTH"),
        ("EXRULE:FREQ=DAILY;BYHOUR=99999999999", "BYHOUR"),
    ],
)
async def test_rule_integers_past_the_rfc_range_are_400(api: Api, rule: str, part: str) -> None:
    body = _timed("2026-01-20T10:00:00", "2026-01-20T11:00:00", rule)
    r = await api.call("POST", api.events_url(), json=body)
    assert r.status_code == 400, r.text
    assert r.json()["type"] == "errors/invalid_parameters"
    assert part in r.json()["detail"]


@pytest.mark.parametrize("freq", ["YEARLY", "MONTHLY", "WEEKLY", "DAILY", "HOURLY"])
async def test_a_huge_interval_leaves_only_the_start(api: Api, freq: str) -> None:
    rule = f"RRULE:FREQ={freq};INTERVAL=2147483647"
    event_id = await api.create(_timed("2026-01-20T10:00:00", "2026-01-20T11:00:00", rule))
    r = await _expanded(api, "2026-01-01T00:00:00Z", "9999-12-31T00:00:00Z")
    assert r.status_code == 200, r.text
    assert [e["id"] for e in r.json()["data"]] == [f"{event_id}_20260120T090000Z"]


async def test_occurrence_ids_at_the_end_of_time_are_404(api: Api) -> None:
    event_id = await api.create(ENDLESS_SECONDLY)
    for token in ("99991231T235959Z", "99991231T230000Z"):
        url = f"{api.events_url()}/{event_id}_{token}"
        for method, body in (("GET", None), ("PATCH", {"title": "late"}), ("DELETE", None)):
            r = await api.call(method, url, json=body)
            assert r.status_code == 404, (method, token, r.text)
            assert r.json()["type"] == "errors/resource_not_found"


async def test_forged_cursor_positions_on_expanded_lists_are_400(api: Api) -> None:
    import base64

    await api.create(ENDLESS_SECONDLY)
    for position in ("99999999999999999999", "253402300799999999", "-99999999999999999"):
        forged = base64.urlsafe_b64encode(f"{position}:x".encode()).decode().rstrip("=")
        r = await api.call(
            "GET", api.events_url(), params={"expand_recurring": "true", "cursor": forged}
        )
        assert r.status_code == 400, (position, r.text)
        assert "cursor" in r.json()["detail"]


async def test_creating_a_rare_sub_daily_rule_leaves_the_loop_free(api: Api) -> None:
    body = _timed("2026-01-20T10:00:00", "2026-01-20T10:00:01", LEAP_SECOND_RULE)

    async def create() -> httpx.Response:
        return await api.call("POST", api.events_url(), json=body)

    took, r = await _beside_healthz(api, create)
    assert took < 2.0
    assert r.status_code == 200, r.text
    r = await _expanded(api, "2026-01-01T00:00:00Z", "2036-01-01T00:00:00Z")
    starts = [e["start"]["date_time"] for e in r.json()["data"]]
    assert starts == [
        "2026-01-20T10:00:00+01:00",
        "2028-02-29T23:59:59+01:00",
        "2032-02-29T23:59:59+01:00",
    ]


@pytest.mark.parametrize(
    "rule",
    [
        LEAP_SECOND_RULE,
        "RRULE:FREQ=MINUTELY;BYDAY=MO;BYMONTH=2;BYMONTHDAY=29;BYHOUR=23;BYMINUTE=59",
        "RRULE:FREQ=DAILY;INTERVAL=7;BYMONTH=2;BYMONTHDAY=29",
    ],
)
async def test_rare_rules_expand_over_millennia(api: Api, rule: str) -> None:
    await api.create(_timed("2026-01-20T10:00:00", "2026-01-20T10:00:01", rule))

    async def listing() -> httpx.Response:
        return await _expanded(api, "2026-02-01T00:00:00Z", "9999-12-31T00:00:00Z", limit="20")

    took, r = await _beside_healthz(api, listing)
    assert took < 2.0
    assert r.status_code == 200, r.text
    days = [e["start"]["date_time"][5:10] for e in r.json()["data"]]
    assert days and set(days) == {"02-29"}


@pytest.mark.parametrize(
    ("start", "end", "count", "first"),
    [
        ("2026-06-01T00:00:00Z", "9999-12-31T00:00:00Z", 100, "2026-06-01T02:00:00+02:00"),
        ("9000-01-01T00:00:00Z", "9000-01-02T00:00:00Z", 100, "9000-01-01T01:00:00+01:00"),
        ("9000-07-01T00:00:00Z", "9000-07-01T00:00:30Z", 30, "9000-07-01T02:00:00+02:00"),
        ("9999-12-31T22:59:30Z", "9999-12-31T23:59:59Z", 29, "9999-12-31T23:59:30+01:00"),
    ],
)
async def test_endless_secondly_series_in_far_windows(
    api: Api, start: str, end: str, count: int, first: str
) -> None:
    await api.create(ENDLESS_SECONDLY)

    async def listing() -> httpx.Response:
        return await _expanded(api, start, end)

    took, r = await _beside_healthz(api, listing)
    assert took < 2.0
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert len(data) == count
    assert data[0]["start"]["date_time"] == first


async def test_patch_and_delete_of_a_far_occurrence(api: Api) -> None:
    event_id = await api.create(ENDLESS_SECONDLY)
    url = f"{api.events_url()}/{event_id}_90000101T000000Z"

    async def patch() -> httpx.Response:
        return await api.call("PATCH", url, json={"title": "far"})

    took, r = await _beside_healthz(api, patch)
    assert took < 2.0
    assert r.status_code == 200, r.text
    assert (await api.get(f"{event_id}_90000101T000000Z"))["title"] == "far"
    r = await api.call("DELETE", f"{api.events_url()}/{event_id}_90000101T000001Z")
    assert r.status_code == 200, r.text
