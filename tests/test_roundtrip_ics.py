"""Round trips: events created through the API, exported to .ics, read by the ``icalendar``
package and re-imported into a fresh calendar, equal themselves (the GET JSON minus ids and
bookkeeping); the export's occurrences, expanded by ``recurring-ical-events``, are calgate's."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import icalendar
import pytest
import recurring_ical_events

from calgate.domain.ical import canonical_recurrence
from tests.conftest import SEED_BODY, Api

pytestmark = pytest.mark.anyio

WINDOW = {"start": "2024-01-01T00:00:00Z", "end": "2030-01-01T00:00:00Z"}
BOOKKEEPING = ("id", "calendar_id", "created_at", "updated_at", "version", "master_event_id")


def timed(start: str, end: str, tz: str | None = None) -> dict[str, Any]:
    zone = {"time_zone": tz} if tz else {}
    return {"start": {"date_time": start, **zone}, "end": {"date_time": end, **zone}}


BODIES: dict[str, dict[str, Any]] = {
    "seed": SEED_BODY,
    "minimal utc": {"title": "m", **timed("2026-03-01T10:00:00Z", "2026-03-01T10:30:00Z")},
    "all-day, three days": {
        "title": "Conference",
        "start": {"date": "2026-06-01"},
        "end": {"date": "2026-06-04"},
        "transparency": "transparent",
    },
    "leap day": {"title": "Leap", "start": {"date": "2028-02-29"}, "end": {"date": "2028-03-01"}},
    "windows zone name": {
        "title": "Outlook meeting",
        **timed("2026-02-10T09:00:00", "2026-02-10T10:00:00", "Eastern Standard Time"),
    },
    "offset time in kolkata": {
        "title": "Standup",
        **timed("2026-02-10T09:00:00+05:30", "2026-02-10T09:15:00+05:30", "Asia/Kolkata"),
        "visibility": "public",
    },
    "text that could break a property": {
        "title": "Line one\nLine two; semi, comma \\ backslash \u00e9\U0001f389",
        "body": "Para 1\n\nPara 2: a;b,c\\d\nEND:VEVENT\nBEGIN:VALARM",
        "location": 'Room 4, Floor 2; Building "A"',
        **timed("2026-04-01T10:00:00", "2026-04-01T11:00:00", "Europe/Paris"),
        "visibility": "confidential",
    },
    "attendees and a meeting": {
        "title": "Review",
        **timed("2026-04-02T15:00:00", "2026-04-02T16:00:00", "America/New_York"),
        "attendees": [
            {"email": "ada@example.org", "display_name": "Lovelace, Ada; Countess"},
            {"email": "bob@example.org", "is_optional": True},
        ],
        "conference": {"provider": "google_meet", "url": "https://meet.example.org/abc-defg-hij"},
        "color": "#F4511E",
        "visibility": "private",
    },
    "lord howe series with exdate and rdate": {
        "title": "Island",
        **timed("2026-09-30T02:15:00", "2026-09-30T03:00:00", "Australia/Lord_Howe"),
        "recurrence": [
            "RRULE:FREQ=DAILY;COUNT=8",
            "RDATE;TZID=Australia/Lord_Howe:20261020T021500",
            "EXDATE;TZID=Australia/Lord_Howe:20261002T021500",
        ],
    },
    "monthly last weekday until": {
        "title": "Month end",
        **timed("2026-01-30T17:00:00", "2026-01-30T18:00:00", "Europe/Paris"),
        "recurrence": [
            "RRULE:FREQ=MONTHLY;UNTIL=20260630T160000Z;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1"
        ],
    },
    "yearly all-day series": {
        "title": "Birthday",
        "start": {"date": "2024-02-29"},
        "end": {"date": "2024-03-01"},
        "recurrence": ["RRULE:FREQ=YEARLY;COUNT=3"],
    },
}

# (body key, occurrence to edit with its change, occurrence to delete)
EDITS: list[tuple[str, str, dict[str, Any], str]] = [
    (
        "seed",
        "20260127T133000Z",
        {
            "title": "Review (moved)",
            **timed("2026-01-28T10:00:00", "2026-01-28T11:00:00", "Europe/Paris"),
        },
        "20260203T133000Z",
    ),
    (
        "lord howe series with exdate and rdate",
        "20261003T154500Z",
        {"location": "Beach"},
        "20261019T151500Z",
    ),
    ("yearly all-day series", "20280229", {"title": "Birthday party"}, "20320229"),
]


def comparable(event: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in event.items() if k not in BOOKKEEPING}
    out["recurrence"] = list(canonical_recurrence(event["recurrence"]))
    out["is_occurrence"] = bool(event["master_event_id"])
    return out


def order(event: dict[str, Any]) -> tuple[str, str, str]:
    return (_instant_wire(event["start"]), event["ical_uid"], event["id"].rpartition("_")[2])


async def list_all(api: Api, calendar_id: str, **params: str) -> list[dict[str, Any]]:
    r = await api.call(
        "GET", api.events_url(calendar_id), params={"limit": "250", **WINDOW, **params}
    )
    assert r.status_code == 200, r.text
    assert r.json()["next_cursor"] is None
    data: list[dict[str, Any]] = r.json()["data"]
    return data


async def fill(api: Api) -> None:
    ids = {name: await api.create(copy.deepcopy(body)) for name, body in BODIES.items()}
    for name, edited, change, deleted in EDITS:
        url = f"{api.events_url()}/{ids[name]}"
        r = await api.call("PATCH", f"{url}_{edited}", json=change)
        assert r.status_code == 200, (name, r.text)
        r = await api.call("DELETE", f"{url}_{deleted}")
        assert r.status_code == 200, (name, r.text)


async def new_calendar(api: Api, name: str) -> str:
    r = await api.call("POST", "/api/v1/calendars", json={"name": name})
    assert r.status_code == 201, r.text
    calendar_id: str = r.json()["calendar_id"]
    return calendar_id


async def test_export_parse_reimport_equals_itself(api: Api) -> None:
    await fill(api)
    r = await api.call("GET", f"/api/v1/calendars/{api.a.calendar_id}/ics")
    assert r.status_code == 200
    vcalendar = icalendar.Calendar.from_ical(r.content)
    vevents = vcalendar.walk("VEVENT")
    assert len(vevents) == len(BODIES) + len(EDITS)
    assert sum(1 for v in vevents if "RECURRENCE-ID" in v) == len(EDITS)
    titles = {str(v["SUMMARY"]) for v in vevents}
    assert BODIES["text that could break a property"]["title"] in titles

    fresh = await new_calendar(api, "Copy")
    r = await api.call(
        "POST",
        f"/api/v1/calendars/{fresh}/ics",
        content=r.content,
        headers={"content-type": "text/calendar"},
    )
    assert r.status_code == 200, r.text
    assert r.json() == {
        "object": "CalendarImported",
        "created": len(vevents),
        "updated": 0,
        "unchanged": 0,
    }
    for expand in ("false", "true"):
        original = await list_all(api, api.a.calendar_id, expand_recurring=expand)
        copied = await list_all(api, fresh, expand_recurring=expand)
        assert len(original) == len(copied)
        # Equal starts are ordered by id, which differ between the calendars: sort by UID.
        original.sort(key=order)
        copied.sort(key=order)
        for before, after in zip(original, copied, strict=True):
            assert comparable(after) == comparable(before)
    # The UIDs are kept, so the copy's export imports into the original as unchanged.
    again = await api.call("GET", f"/api/v1/calendars/{fresh}/ics")
    r = await api.call(
        "POST",
        f"/api/v1/calendars/{api.a.calendar_id}/ics",
        content=again.content,
        headers={"content-type": "text/calendar"},
    )
    assert r.json()["unchanged"] == len(vevents)


async def test_exported_occurrences_are_calgates_occurrences(api: Api) -> None:
    await fill(api)
    r = await api.call("GET", f"/api/v1/calendars/{api.a.calendar_id}/ics")
    vcalendar = icalendar.Calendar.from_ical(r.content)
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    end = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    theirs = sorted(
        (str(o["UID"]), _instant(o["DTSTART"].dt), str(o.get("SUMMARY", "")))
        for o in recurring_ical_events.of(vcalendar).between(start, end)
    )
    ours = sorted(
        (e["ical_uid"], _instant_wire(e["start"]), e["title"])
        for e in await list_all(api, api.a.calendar_id, expand_recurring="true")
    )
    assert theirs == ours


def _instant(value: dt.date | dt.datetime) -> str:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    return value.isoformat()


def _instant_wire(value: dict[str, str]) -> str:
    if "date" in value:
        return value["date"]
    return dt.datetime.fromisoformat(value["date_time"]).astimezone(dt.UTC).isoformat()


@pytest.mark.parametrize("name", sorted(BODIES))
async def test_each_event_alone(api: Api, name: str) -> None:
    event_id = await api.create(copy.deepcopy(BODIES[name]))
    before = await api.get(event_id)
    exported = await api.call("GET", f"/api/v1/calendars/{api.a.calendar_id}/ics")
    [vevent] = icalendar.Calendar.from_ical(exported.content).walk("VEVENT")
    assert str(vevent["UID"]) == before["ical_uid"]
    fresh = await new_calendar(api, name)
    r = await api.call(
        "POST",
        f"/api/v1/calendars/{fresh}/ics",
        content=exported.content,
        headers={"content-type": "text/calendar"},
    )
    assert r.json()["created"] == 1, r.text
    [after] = await list_all(api, fresh)
    assert comparable(after) == comparable(before)


async def test_cr_lf_in_text_comes_back_as_lf(api: Api) -> None:
    body = {"title": "a\r\nb\rc", **timed("2026-03-01T10:00:00Z", "2026-03-01T11:00:00Z")}
    event_id = await api.create(body)
    assert (await api.get(event_id))["title"] == "a\r\nb\rc"
    exported = await api.call("GET", f"/api/v1/calendars/{api.a.calendar_id}/ics")
    assert b"SUMMARY:a\\nb\\nc\r\n" in exported.content
    fresh = await new_calendar(api, "crlf")
    await api.call(
        "POST",
        f"/api/v1/calendars/{fresh}/ics",
        content=exported.content,
        headers={"content-type": "text/calendar"},
    )
    [after] = await list_all(api, fresh)
    assert after["title"] == "a\nb\nc"


async def test_second_of_two_equal_wall_times_survives_the_round_trip(api: Api) -> None:
    body = {
        "title": "night",
        **timed("2026-10-25T02:30:00+01:00", "2026-10-25T03:30:00+01:00", "Europe/Paris"),
    }
    before = await api.get(await api.create(body))
    exported = await api.call("GET", f"/api/v1/calendars/{api.a.calendar_id}/ics")
    fresh = await new_calendar(api, "overlap")
    await api.call(
        "POST",
        f"/api/v1/calendars/{fresh}/ics",
        content=exported.content,
        headers={"content-type": "text/calendar"},
    )
    [after] = await list_all(api, fresh)
    assert after["start"] == before["start"]
