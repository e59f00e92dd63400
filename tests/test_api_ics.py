"""`.ics` export and import through the API: UIDs kept, idempotent re-import, exceptions, limits."""

from __future__ import annotations

from typing import Any

import httpx
import icalendar
import pytest
from sqlalchemy.engine import Connection

from calgate.api.app import create_app
from calgate.domain.ical import MAX_IMPORT_EVENTS
from calgate.providers.base import Change
from calgate.store import events as event_store
from tests.conftest import Api

pytestmark = pytest.mark.anyio

ICS = {"content-type": "text/calendar"}


def vcalendar(*vevents: str) -> bytes:
    body = "".join(vevents)
    text = f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n{body}END:VCALENDAR\r\n"
    return text.encode()


def vevent(uid: str, *lines: str, start: str = "DTSTART:20260301T100000Z") -> str:
    has_end = any(line.startswith(("DTEND", "DURATION")) for line in lines)
    end = "" if has_end else "DTEND:20260301T110000Z\r\n"
    extra = "".join(f"{line}\r\n" for line in lines)
    return f"BEGIN:VEVENT\r\nUID:{uid}\r\n{start}\r\n{end}{extra}END:VEVENT\r\n"


def ics_url(api: Api, calendar_id: str | None = None) -> str:
    return f"/api/v1/calendars/{calendar_id or api.a.calendar_id}/ics"


async def post_ics(api: Api, data: bytes, **kwargs: Any) -> httpx.Response:
    headers = kwargs.pop("headers", ICS)
    return await api.call("POST", ics_url(api, kwargs.pop("calendar_id", None)), content=data,
                          headers=headers, **kwargs)  # fmt: skip


async def imported(api: Api, data: bytes, **kwargs: Any) -> dict[str, Any]:
    r = await post_ics(api, data, **kwargs)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def list_events(api: Api, **params: str) -> list[dict[str, Any]]:
    r = await api.call("GET", api.events_url(), params={"limit": "250", **params})
    assert r.status_code == 200, r.text
    data: list[dict[str, Any]] = r.json()["data"]
    return data


async def count_rows(api: Api) -> int:
    cal = api.a.calendar_id
    return await api.runtime.db.read(lambda c: event_store.count_events(c, cal))


SERIES = vcalendar(
    vevent("series-1", "SUMMARY:Standup", "RRULE:FREQ=DAILY;COUNT=5",
           "DTEND;TZID=Europe/Paris:20260302T093000",
           start="DTSTART;TZID=Europe/Paris:20260302T090000"),
    vevent("series-1", "SUMMARY:Standup (moved)", "DTEND;TZID=Europe/Paris:20260304T113000",
           "RECURRENCE-ID;TZID=Europe/Paris:20260304T090000", "SEQUENCE:1",
           start="DTSTART;TZID=Europe/Paris:20260304T110000"),
    vevent("single-1", "SUMMARY:Lunch\\, with Ada", "LOCATION:Caf\u00e9"),
)  # fmt: skip


# export ----------------------------------------------------------------------------------------


async def test_export_is_rfc5545_with_a_vtimezone_per_zone_used(api: Api) -> None:
    for tz, day in (("Europe/Paris", "2026-01-20"), ("America/New_York", "2026-07-01")):
        await api.create(
            {
                "title": f"in {tz}",
                "start": {"date_time": f"{day}T09:00:00", "time_zone": tz},
                "end": {"date_time": f"{day}T09:30:00", "time_zone": tz},
            }
        )
    await api.create(
        {"title": "all day", "start": {"date": "2026-02-01"}, "end": {"date": "2026-02-02"}}
    )
    r = await api.call("GET", ics_url(api))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/calendar; charset=utf-8"
    assert r.headers["content-disposition"].startswith('attachment; filename="My calendar.ics"')
    assert r.content.startswith(b"BEGIN:VCALENDAR\r\n")
    cal = icalendar.Calendar.from_ical(r.content)
    assert sorted(str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")) == [
        "America/New_York",
        "Europe/Paris",
    ]
    summaries = sorted(str(e["SUMMARY"]) for e in cal.walk("VEVENT"))
    assert summaries == ["all day", "in America/New_York", "in Europe/Paris"]
    allday = next(e for e in cal.walk("VEVENT") if str(e["SUMMARY"]) == "all day")
    assert allday["DTSTART"].to_ical() == b"20260201"
    assert allday["DTEND"].to_ical() == b"20260202"  # exclusive end, as stored
    assert str(cal["X-WR-CALNAME"]) == "My calendar"


async def test_export_of_an_empty_calendar(api: Api) -> None:
    r = await api.call("GET", ics_url(api))
    assert r.status_code == 200
    cal = icalendar.Calendar.from_ical(r.content)
    assert cal.walk("VEVENT") == []
    assert str(cal["VERSION"]) == "2.0"


async def test_export_of_an_other_tenants_calendar_is_404(api: Api) -> None:
    r = await api.call("GET", ics_url(api, api.b.calendar_id))
    assert r.status_code == 404
    assert r.json()["type"] == "errors/resource_not_found"
    r = await api.call("GET", ics_url(api), tenant=api.b, account_id=api.b.account_id)
    assert r.status_code == 404


async def test_export_needs_an_api_key(api: Api) -> None:
    r = await api.client.get(ics_url(api), params={"account_id": api.a.account_id})
    assert r.status_code == 401
    assert r.json()["type"] == "errors/missing_credentials"


async def test_other_providers_answer_501_naming_the_capability(api: Api) -> None:
    record = await api.runtime.accounts.create(
        api.a.id, "GOOGLE_OAUTH", "g", calendars=[{"name": "G", "calendar_id": "gcal"}]
    )
    for method, path in (("GET", "ics"), ("POST", "ics"), ("POST", "feed"), ("DELETE", "feed")):
        r = await api.call(
            method, f"/api/v1/calendars/gcal/{path}", account_id=record.id, content=SERIES,
            headers=ICS,
        )  # fmt: skip
        assert r.status_code == 501, (method, path, r.text)
        assert r.json()["type"] == "errors/feature_not_implemented"
        assert r.json()["detail"] == (
            "GOOGLE_OAUTH accounts: calendars are not kept by calgate, so .ics export, import "
            "and feeds are not available (capability ics_files)"
        )


# import ----------------------------------------------------------------------------------------


async def test_import_keeps_uids_and_attaches_the_exception(api: Api) -> None:
    assert await imported(api, SERIES) == {
        "object": "CalendarImported",
        "created": 3,
        "updated": 0,
        "unchanged": 0,
    }
    masters = await list_events(api)
    assert [(e["ical_uid"], e["title"]) for e in masters] == [
        ("single-1", "Lunch, with Ada"),
        ("series-1", "Standup"),
    ]
    series = masters[1]
    assert series["recurrence"] == ["RRULE:FREQ=DAILY;COUNT=5"]
    assert series["start"] == {
        "date_time": "2026-03-02T09:00:00+01:00",
        "time_zone": "Europe/Paris",
    }
    assert masters[0]["location"] == "Caf\u00e9"
    expanded = await list_events(
        api, start="2026-03-01T00:00:00Z", end="2026-04-01T00:00:00Z", expand_recurring="true"
    )
    rows = [(e["id"], e["title"], e["start"]["date_time"], e["master_event_id"]) for e in expanded]
    sid = series["id"]
    assert rows == [
        (masters[0]["id"], "Lunch, with Ada", "2026-03-01T10:00:00+00:00", ""),
        (f"{sid}_20260302T080000Z", "Standup", "2026-03-02T09:00:00+01:00", sid),
        (f"{sid}_20260303T080000Z", "Standup", "2026-03-03T09:00:00+01:00", sid),
        (f"{sid}_20260304T080000Z", "Standup (moved)", "2026-03-04T11:00:00+01:00", sid),
        (f"{sid}_20260305T080000Z", "Standup", "2026-03-05T09:00:00+01:00", sid),
        (f"{sid}_20260306T080000Z", "Standup", "2026-03-06T09:00:00+01:00", sid),
    ]
    moved = await api.get(f"{sid}_20260304T080000Z")
    assert moved["ical_uid"] == "series-1"
    assert moved["master_event_id"] == sid
    assert moved["recurrence"] == []


async def test_second_import_of_the_same_file_changes_nothing(api: Api) -> None:
    await imported(api, SERIES)
    before = await list_events(
        api, start="2026-03-01T00:00:00Z", end="2026-04-01T00:00:00Z", expand_recurring="true"
    )
    assert await imported(api, SERIES) == {
        "object": "CalendarImported",
        "created": 0,
        "updated": 0,
        "unchanged": 3,
    }
    after = await list_events(
        api, start="2026-03-01T00:00:00Z", end="2026-04-01T00:00:00Z", expand_recurring="true"
    )
    assert after == before  # same ids, versions and updated_at
    assert await count_rows(api) == 3


async def test_reimporting_a_changed_file_updates_in_place(api: Api) -> None:
    await imported(api, SERIES)
    single = next(e for e in await list_events(api) if e["ical_uid"] == "single-1")
    changed = SERIES.replace(b"SUMMARY:Lunch\\, with Ada", b"SUMMARY:Lunch moved\r\nSEQUENCE:2")
    assert await imported(api, changed) == {
        "object": "CalendarImported",
        "created": 0,
        "updated": 1,
        "unchanged": 2,
    }
    again = await api.get(single["id"])
    assert again["title"] == "Lunch moved"
    assert int(again["version"]) == int(single["version"]) + 1
    assert again["created_at"] == single["created_at"]
    assert await count_rows(api) == 3


async def test_export_of_an_import_reimports_unchanged(api: Api) -> None:
    await imported(api, SERIES)
    exported = (await api.call("GET", ics_url(api))).content
    assert await imported(api, exported) == {
        "object": "CalendarImported",
        "created": 0,
        "updated": 0,
        "unchanged": 3,
    }


async def test_api_created_events_reimport_unchanged_into_their_own_calendar(api: Api) -> None:
    from tests.conftest import SEED_BODY

    await api.create({**SEED_BODY, "notify": True})
    exported = (await api.call("GET", ics_url(api))).content
    assert (await imported(api, exported))["unchanged"] == 1


async def test_multipart_upload(api: Api) -> None:
    r = await api.call(
        "POST", ics_url(api), files={"file": ("cal.ics", SERIES, "text/calendar")},
        data={"note": "x"},
    )  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json()["created"] == 3


async def test_multipart_without_a_file_field_is_400(api: Api) -> None:
    r = await api.call("POST", ics_url(api), files={"note": (None, b"x")})
    assert r.status_code == 400
    assert r.json()["detail"].startswith("file:")


@pytest.mark.parametrize(
    ("lines", "needle"),
    [
        (["RRULE:FREQ=WEEKLY;BYDAY=XX"], "VEVENT 2 (UID bad): RRULE: Expected weekday"),
        (
            ["RRULE:FREQ=WEEKLY;BYMONTHDAY=3"],
            "VEVENT 2 (UID bad): recurrence[0]: 'RRULE:FREQ=WEEKLY;BYMONTHDAY=3': ",
        ),
        (["DTEND:20260301T090000Z"], "VEVENT 2 (UID bad): DTEND: is before DTSTART"),
        (["DURATION:PT1H", "DTEND:20260301T120000Z"], "VEVENT 2 (UID bad): DTEND and DURATION"),
        (["DTSTART:20260302T100000Z"], "VEVENT 2 (UID bad): DTSTART: appears 2 times"),
        (
            ["RRULE:FREQ=DAILY;COUNT=2;UNTIL=20260310T000000Z"],
            "VEVENT 2 (UID bad): recurrence[0]",
        ),
    ],
)
async def test_a_bad_vevent_is_400_naming_it_and_nothing_is_written(
    api: Api, lines: list[str], needle: str
) -> None:
    data = vcalendar(vevent("good"), vevent("bad", *lines), vevent("good-2"))
    r = await post_ics(api, data)
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["type"] == "errors/invalid_parameters"
    assert body["detail"].startswith(needle), body["detail"]
    assert body["instance"] == ics_url(api)
    assert await count_rows(api) == 0


async def test_unknown_zone_is_400_naming_the_vevent_and_zone(api: Api) -> None:
    data = vcalendar(vevent("z", start="DTSTART;TZID=Mars/Olympus:20260301T100000"))
    r = await post_ics(api, data)
    assert r.status_code == 400
    assert r.json()["detail"] == (
        "VEVENT 1 (UID z): DTSTART: unknown time zone 'Mars/Olympus' (the file has no VTIMEZONE "
        "for it, and it is not an IANA or Windows zone name)"
    )


@pytest.mark.parametrize(
    ("data", "headers", "needle"),
    [
        (b"not a calendar", ICS, "iCalendar: "),
        (b"", ICS, "body: empty"),
        (SERIES, {"content-type": "application/json"}, "Content-Type: application/json is not"),
        (
            SERIES,
            {"content-type": "application/x-www-form-urlencoded"},
            "Content-Type: application/x-www",
        ),
    ],
)
async def test_bad_bodies_are_400(
    api: Api, data: bytes, headers: dict[str, str], needle: str
) -> None:
    r = await post_ics(api, data, headers=headers)
    assert r.status_code == 400, r.text
    assert r.json()["detail"].startswith(needle), r.json()["detail"]


async def test_timed_recurrence_id_on_an_all_day_series_is_400(api: Api) -> None:
    data = vcalendar(
        vevent(
            "d",
            "RRULE:FREQ=DAILY;COUNT=3",
            "DTEND;VALUE=DATE:20260302",
            start="DTSTART;VALUE=DATE:20260301",
        ),
        vevent(
            "d",
            "RECURRENCE-ID:20260302T000000Z",
            "DTEND:20260302T110000Z",
            start="DTSTART:20260302T100000Z",
        ),
    )
    r = await post_ics(api, data)
    assert r.status_code == 400
    assert r.json()["detail"] == (
        "VEVENT 2 (UID d): RECURRENCE-ID: is a DATE-TIME but the series' DTSTART is a DATE"
    )
    assert await count_rows(api) == 0


async def test_floating_times_are_read_in_the_calendars_zone(api: Api) -> None:
    paris = {"name": "Paris", "timezone": "Europe/Paris"}
    r = await api.call("POST", "/api/v1/calendars", json=paris)
    assert r.status_code == 201, r.text
    calendar_id = r.json()["calendar_id"]
    data = vcalendar(vevent("f", "DTEND:20260301T110000", start="DTSTART:20260301T100000"))
    await imported(api, data, calendar_id=calendar_id)
    r = await api.call("GET", api.events_url(calendar_id))
    assert r.json()["data"][0]["start"] == {
        "date_time": "2026-03-01T10:00:00+01:00",
        "time_zone": "Europe/Paris",
    }


async def test_repeated_uid_in_one_file_keeps_the_highest_sequence(api: Api) -> None:
    data = vcalendar(
        vevent("dup", "SUMMARY:second", "SEQUENCE:2"),
        vevent("dup", "SUMMARY:first", "SEQUENCE:1"),
    )
    assert (await imported(api, data))["created"] == 1
    assert [e["title"] for e in await list_events(api)] == ["second"]


async def test_an_occurrence_without_its_series_is_attached_when_the_series_comes(
    api: Api,
) -> None:
    exception = vevent(
        "late", "SUMMARY:moved", "RECURRENCE-ID:20260302T100000Z", "DTEND:20260302T130000Z",
        start="DTSTART:20260302T120000Z",
    )  # fmt: skip
    master = vevent("late", "SUMMARY:daily", "RRULE:FREQ=DAILY;COUNT=3")
    assert (await imported(api, vcalendar(exception)))["created"] == 1
    alone = await list_events(api)
    assert [(e["title"], e["master_event_id"]) for e in alone] == [("moved", "")]
    assert await imported(api, vcalendar(master, exception)) == {
        "object": "CalendarImported",
        "created": 1,
        "updated": 1,
        "unchanged": 0,
    }
    expanded = await list_events(
        api, start="2026-03-01T00:00:00Z", end="2026-03-05T00:00:00Z", expand_recurring="true"
    )
    sid = expanded[0]["master_event_id"]
    assert [(e["id"], e["title"]) for e in expanded] == [
        (f"{sid}_20260301T100000Z", "daily"),
        (f"{sid}_20260302T100000Z", "moved"),
        (f"{sid}_20260303T100000Z", "daily"),
    ]
    assert await count_rows(api) == 2


async def test_import_into_another_tenants_calendar_is_404(api: Api) -> None:
    r = await post_ics(api, SERIES, calendar_id=api.b.calendar_id)
    assert r.status_code == 404
    assert await api.runtime.db.read(lambda c: event_store.count_events(c, api.b.calendar_id)) == 0


async def test_import_emits_created_and_updated_changes_only(api: Api) -> None:
    seen: list[tuple[str, str]] = []

    def record(conn: Connection, change: Change) -> None:
        seen.append((change.kind, change.event.ical_uid))

    api.runtime.events.effects.append(record)
    try:
        await imported(api, SERIES)
        await imported(api, SERIES)
        await imported(api, SERIES.replace(b"SUMMARY:Standup\r\n", b"SUMMARY:Daily\r\n"))
    finally:
        api.runtime.events.effects.remove(record)
    assert seen == [
        ("created", "series-1"),
        ("created", "series-1"),
        ("created", "single-1"),
        ("updated", "series-1"),
    ]


# limits ----------------------------------------------------------------------------------------


async def test_body_size_setting_applies(api: Api) -> None:
    settings = api.runtime.settings.model_copy(update={"max_body_bytes": 300})
    app = create_app(settings, api.runtime)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://calgate.test") as client:
        r = await client.post(
            ics_url(api), params={"account_id": api.a.account_id}, content=SERIES,
            headers={"X-API-KEY": api.a.key, **ICS},
        )  # fmt: skip
    assert r.status_code == 400
    assert r.json()["type"] == "errors/content_too_large"
    assert await count_rows(api) == 0


async def test_more_vevents_than_the_cap_is_400_content_too_large(api: Api) -> None:
    data = vcalendar(*(["BEGIN:VEVENT\r\nEND:VEVENT\r\n"] * (MAX_IMPORT_EVENTS + 1)))
    settings = api.runtime.settings.model_copy(update={"max_body_bytes": len(data) + 1})
    app = create_app(settings, api.runtime)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://calgate.test") as client:
        r = await client.post(
            ics_url(api), params={"account_id": api.a.account_id}, content=data,
            headers={"X-API-KEY": api.a.key, **ICS},
        )  # fmt: skip
    assert r.status_code == 400
    assert r.json()["type"] == "errors/content_too_large"
    assert r.json()["detail"] == "iCalendar: more than 100000 VEVENTs in one file"
