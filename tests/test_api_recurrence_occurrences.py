"""One occurrence of a series through its id: GET, PATCH (an exception), DELETE (an EXDATE)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api

pytestmark = pytest.mark.anyio

WINDOW = {"start": "2026-03-01T00:00:00Z", "end": "2026-04-05T00:00:00Z"}


async def expanded(api: Api) -> list[dict[str, Any]]:
    params = {**WINDOW, "expand_recurring": "true", "limit": "250"}
    r = await api.call("GET", api.events_url(), params=params)
    assert r.status_code == 200, r.text
    data: list[dict[str, Any]] = r.json()["data"]
    return data


async def series(api: Api, **extra: Any) -> str:
    body = {
        "title": "Standup",
        "location": "Room 1",
        "start": {"date_time": "2026-03-23T09:00:00", "time_zone": "Europe/Paris"},
        "end": {"date_time": "2026-03-23T09:15:00", "time_zone": "Europe/Paris"},
        "recurrence": ["RRULE:FREQ=DAILY;COUNT=10"],
        **extra,
    }
    return await api.create(body)


def strip(event: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in event.items() if k not in ("updated_at", "version")}


async def test_get_an_occurrence(api: Api) -> None:
    master_id = await series(api)
    # 2026-03-30 09:00 in Paris is 07:00 UTC (summer time since 03-29).
    occurrence = await api.get(f"{master_id}_20260330T070000Z")
    assert occurrence["id"] == f"{master_id}_20260330T070000Z"
    assert occurrence["master_event_id"] == master_id
    assert occurrence["start"] == {
        "date_time": "2026-03-30T09:00:00+02:00",
        "time_zone": "Europe/Paris",
    }
    assert occurrence["end"] == {
        "date_time": "2026-03-30T09:15:00+02:00",
        "time_zone": "Europe/Paris",
    }
    assert occurrence["recurrence"] == []
    assert occurrence["title"] == "Standup"
    master = await api.get(master_id)
    assert occurrence["ical_uid"] == master["ical_uid"]


@pytest.mark.parametrize(
    "suffix",
    [
        "20260330T080000Z",  # not an occurrence start (an hour off)
        "20260402T070000Z",  # after COUNT=10
        "20260330",  # a date for a timed series
        "nonsense",
    ],
)
async def test_a_time_that_is_no_occurrence_is_404(api: Api, suffix: str) -> None:
    master_id = await series(api)
    r = await api.call("GET", f"{api.events_url()}/{master_id}_{suffix}")
    assert r.status_code == 404
    assert r.json()["type"] == "errors/resource_not_found"


async def test_patch_one_occurrence_makes_an_exception(api: Api) -> None:
    master_id = await series(api)
    master_before = await api.get(master_id)
    before = await expanded(api)
    target = f"{master_id}_20260325T080000Z"
    r = await api.call(
        "PATCH",
        f"{api.events_url()}/{target}",
        json={
            "title": "Standup (long)",
            "end": {"date_time": "2026-03-25T10:00:00", "time_zone": "Europe/Paris"},
        },
    )
    assert r.status_code == 200, r.text
    after = await expanded(api)
    assert [e["id"] for e in after] == [e["id"] for e in before]
    changed = next(e for e in after if e["id"] == target)
    assert changed["title"] == "Standup (long)"
    assert changed["master_event_id"] == master_id
    assert changed["end"]["date_time"] == "2026-03-25T10:00:00+01:00"
    assert changed["location"] == "Room 1"
    # The rest of the series is untouched, the master too.
    assert [strip(e) for e in after if e["id"] != target] == [
        strip(e) for e in before if e["id"] != target
    ]
    assert await api.get(master_id) == master_before
    assert await api.get(target) == changed
    # A second edit changes the stored exception.
    r = await api.call("PATCH", f"{api.events_url()}/{target}", json={"location": "Room 2"})
    assert r.status_code == 200
    again = await api.get(target)
    assert (again["title"], again["location"]) == ("Standup (long)", "Room 2")


async def test_an_exception_may_move_out_of_the_window(api: Api) -> None:
    master_id = await series(api)
    target = f"{master_id}_20260324T080000Z"
    r = await api.call(
        "PATCH",
        f"{api.events_url()}/{target}",
        json={
            "start": {"date_time": "2026-04-10T09:00:00", "time_zone": "Europe/Paris"},
            "end": {"date_time": "2026-04-10T09:15:00", "time_zone": "Europe/Paris"},
        },
    )
    assert r.status_code == 200, r.text
    ids = [e["id"] for e in await expanded(api)]
    assert target not in ids
    assert len(ids) == 9
    moved = await api.get(target)
    assert moved["start"]["date_time"] == "2026-04-10T09:00:00+02:00"


async def test_an_occurrence_cannot_get_its_own_recurrence(api: Api) -> None:
    master_id = await series(api)
    r = await api.call(
        "PATCH",
        f"{api.events_url()}/{master_id}_20260325T080000Z",
        json={"recurrence": ["RRULE:FREQ=WEEKLY"]},
    )
    assert r.status_code == 400
    assert r.json()["detail"] == (
        "recurrence: an occurrence of a series cannot have its own recurrence"
    )


async def test_delete_one_occurrence_adds_an_exdate(api: Api) -> None:
    master_id = await series(api)
    before = await expanded(api)
    target = f"{master_id}_20260326T080000Z"
    r = await api.call("DELETE", f"{api.events_url()}/{target}")
    assert r.status_code == 200, r.text
    assert r.json() == {"object": "CalendarEventDeleted"}
    after = await expanded(api)
    assert [e["id"] for e in after] == [e["id"] for e in before if e["id"] != target]
    master = await api.get(master_id)
    assert master["recurrence"] == [
        "RRULE:FREQ=DAILY;COUNT=10",
        "EXDATE;TZID=Europe/Paris:20260326T090000",
    ]
    r = await api.call("GET", f"{api.events_url()}/{target}")
    assert r.status_code == 404
    # Deleting a second occurrence joins the same EXDATE line.
    r = await api.call("DELETE", f"{api.events_url()}/{master_id}_20260330T070000Z")
    assert r.status_code == 200
    assert (await api.get(master_id))["recurrence"] == [
        "RRULE:FREQ=DAILY;COUNT=10",
        "EXDATE;TZID=Europe/Paris:20260326T090000,20260330T090000",
    ]
    assert len(await expanded(api)) == 8


async def test_delete_an_edited_occurrence(api: Api) -> None:
    master_id = await series(api)
    target = f"{master_id}_20260327T080000Z"
    await api.call("PATCH", f"{api.events_url()}/{target}", json={"title": "moved"})
    r = await api.call("DELETE", f"{api.events_url()}/{target}")
    assert r.status_code == 200
    ids = [e["id"] for e in await expanded(api)]
    assert target not in ids
    assert len(ids) == 9
    assert (await api.call("GET", f"{api.events_url()}/{target}")).status_code == 404


async def test_all_day_series_occurrences(api: Api) -> None:
    master_id = await api.create(
        {
            "title": "Holiday",
            "start": {"date": "2026-03-02"},
            "end": {"date": "2026-03-03"},
            "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=4"],
        }
    )
    r = await api.call("DELETE", f"{api.events_url()}/{master_id}_20260309")
    assert r.status_code == 200, r.text
    r = await api.call(
        "PATCH", f"{api.events_url()}/{master_id}_20260316", json={"title": "Long holiday"}
    )
    assert r.status_code == 200, r.text
    found = await expanded(api)
    assert [(e["id"], e["title"], e["start"], e["end"]) for e in found] == [
        (f"{master_id}_20260302", "Holiday", {"date": "2026-03-02"}, {"date": "2026-03-03"}),
        (f"{master_id}_20260316", "Long holiday", {"date": "2026-03-16"}, {"date": "2026-03-17"}),
        (f"{master_id}_20260323", "Holiday", {"date": "2026-03-23"}, {"date": "2026-03-24"}),
    ]
    assert (await api.get(master_id))["recurrence"] == [
        "RRULE:FREQ=WEEKLY;COUNT=4",
        "EXDATE;VALUE=DATE:20260309",
    ]


async def test_deleting_the_master_deletes_its_exceptions(api: Api) -> None:
    master_id = await series(api)
    target = f"{master_id}_20260325T080000Z"
    await api.call("PATCH", f"{api.events_url()}/{target}", json={"title": "moved"})
    r = await api.call("DELETE", f"{api.events_url()}/{master_id}")
    assert r.status_code == 200
    assert await expanded(api) == []
    assert (await api.call("GET", f"{api.events_url()}/{target}")).status_code == 404


async def test_editing_the_master_keeps_exceptions_and_exdates(api: Api) -> None:
    master_id = await series(api)
    await api.call("PATCH", f"{api.events_url()}/{master_id}_20260325T080000Z", json={"title": "x"})
    await api.call("DELETE", f"{api.events_url()}/{master_id}_20260326T080000Z")
    r = await api.call("PATCH", f"{api.events_url()}/{master_id}", json={"location": "Room 9"})
    assert r.status_code == 200
    found = await expanded(api)
    assert len(found) == 9
    assert [e["location"] for e in found if e["title"] == "Standup"] == ["Room 9"] * 8
    assert [e["location"] for e in found if e["title"] == "x"] == ["Room 1"]
