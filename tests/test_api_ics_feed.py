"""Secret feed URLs: create, rotate, revoke, serve without an API key."""

from __future__ import annotations

import hashlib

import icalendar
import pytest
import sqlalchemy as sa

from calgate.store import tables
from tests.conftest import Api

pytestmark = pytest.mark.anyio


def feed_url(api: Api, calendar_id: str | None = None) -> str:
    return f"/api/v1/calendars/{calendar_id or api.a.calendar_id}/feed"


async def new_feed(api: Api) -> str:
    r = await api.call("POST", feed_url(api))
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"object", "url"}
    assert body["object"] == "CalendarFeed"
    url: str = body["url"]
    return url


async def test_feed_serves_the_calendar_without_an_api_key(api: Api) -> None:
    await api.create(
        {
            "title": 'Weekly; sync, with "quotes"',
            "start": {"date_time": "2026-01-20T14:30:00", "time_zone": "Europe/Paris"},
            "end": {"date_time": "2026-01-20T15:30:00", "time_zone": "Europe/Paris"},
            "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=3"],
        }
    )
    url = await new_feed(api)
    base = api.runtime.settings.base_url
    assert url.startswith(f"{base}/feeds/") and url.endswith(".ics")
    token = url.removeprefix(f"{base}/feeds/").removesuffix(".ics")
    assert len(token) >= 40
    r = await api.client.get(f"/feeds/{token}.ics")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/calendar; charset=utf-8"
    cal = icalendar.Calendar.from_ical(r.content)
    [vevent] = cal.walk("VEVENT")
    assert str(vevent["SUMMARY"]) == 'Weekly; sync, with "quotes"'
    assert vevent["RRULE"].to_ical() == b"FREQ=WEEKLY;COUNT=3"
    assert [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")] == ["Europe/Paris"]
    # The export through the API is the same text.
    exported = await api.call("GET", f"/api/v1/calendars/{api.a.calendar_id}/ics")
    assert exported.content == r.content


async def test_feed_sends_an_etag_and_answers_304(api: Api) -> None:
    token = (await new_feed(api)).rsplit("/", 1)[1].removesuffix(".ics")
    first = await api.client.get(f"/feeds/{token}.ics")
    etag = first.headers["etag"]
    again = await api.client.get(f"/feeds/{token}.ics", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    await api.create(
        {
            "title": "new",
            "start": {"date_time": "2026-03-01T10:00:00Z"},
            "end": {"date_time": "2026-03-01T11:00:00Z"},
        }
    )
    changed = await api.client.get(f"/feeds/{token}.ics", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    assert changed.content != first.content


async def test_every_kind_of_change_changes_the_etag(api: Api) -> None:
    token = (await new_feed(api)).rsplit("/", 1)[1]
    series = await api.create(
        {
            "title": "daily",
            "start": {"date_time": "2026-03-01T10:00:00Z"},
            "end": {"date_time": "2026-03-01T11:00:00Z"},
            "recurrence": ["RRULE:FREQ=DAILY;COUNT=5"],
        }
    )
    single = await api.create(
        {
            "title": "once",
            "start": {"date_time": "2026-03-02T10:00:00Z"},
            "end": {"date_time": "2026-03-02T11:00:00Z"},
        }
    )
    url = api.events_url()
    changes = [
        ("PATCH", f"{url}/{single}", {"title": "renamed"}),
        ("PATCH", f"{url}/{series}_20260302T100000Z", {"title": "moved"}),
        ("DELETE", f"{url}/{series}_20260303T100000Z", None),
        ("DELETE", f"{url}/{single}", None),
    ]
    tags = {(await api.client.get(f"/feeds/{token}")).headers["etag"]}
    for method, path, json in changes:
        r = await api.call(method, path, json=json) if json else await api.call(method, path)
        assert r.status_code == 200, r.text
        answer = await api.client.get(f"/feeds/{token}")
        assert answer.status_code == 200
        tags.add(answer.headers["etag"])
    assert len(tags) == len(changes) + 1


async def test_rotating_the_feed_revokes_the_previous_url(api: Api) -> None:
    old = (await new_feed(api)).rsplit("/", 1)[1]
    new = (await new_feed(api)).rsplit("/", 1)[1]
    assert old != new
    assert (await api.client.get(f"/feeds/{old}")).status_code == 404
    assert (await api.client.get(f"/feeds/{new}")).status_code == 200


async def test_deleting_the_feed_revokes_it(api: Api) -> None:
    name = (await new_feed(api)).rsplit("/", 1)[1]
    r = await api.call("DELETE", feed_url(api))
    assert r.status_code == 200
    assert r.json() == {"object": "CalendarFeedDeleted"}
    r = await api.client.get(f"/feeds/{name}")
    assert r.status_code == 404
    assert r.json() == {
        "status": 404,
        "type": "errors/resource_not_found",
        "title": "Resource not found",
        "detail": "no calendar feed at this address (unknown or revoked)",
        "instance": f"/feeds/{name}",
    }
    assert (await api.call("DELETE", feed_url(api))).status_code == 200  # revoking twice is fine


@pytest.mark.parametrize("token", ["x", "A" * 43, "A" * 300, "..%2F..%2Fetc"])
async def test_unknown_tokens_are_404(api: Api, token: str) -> None:
    await new_feed(api)
    r = await api.client.get(f"/feeds/{token}.ics")
    assert r.status_code == 404
    assert r.json()["type"] == "errors/resource_not_found"


async def test_the_database_keeps_only_a_hash_of_the_token(api: Api) -> None:
    token = (await new_feed(api)).rsplit("/", 1)[1].removesuffix(".ics")
    stored = await api.runtime.db.read(
        lambda c: c.execute(
            sa.select(tables.calendars.c.feed_token).where(
                tables.calendars.c.id == api.a.calendar_id
            )
        ).scalar_one()
    )
    assert stored == hashlib.sha256(token.encode()).hexdigest()


async def test_feeds_of_another_tenants_calendar_are_404(api: Api) -> None:
    r = await api.call("POST", feed_url(api, api.b.calendar_id))
    assert r.status_code == 404
    r = await api.call("DELETE", feed_url(api, api.b.calendar_id))
    assert r.status_code == 404


async def test_each_calendar_has_its_own_feed(api: Api) -> None:
    a = (await new_feed(api)).rsplit("/", 1)[1]
    r = await api.call("POST", feed_url(api, api.b.calendar_id), tenant=api.b)
    assert r.status_code == 200, r.text
    b = r.json()["url"].rsplit("/", 1)[1]
    cal_a = icalendar.Calendar.from_ical((await api.client.get(f"/feeds/{a}")).content)
    cal_b = icalendar.Calendar.from_ical((await api.client.get(f"/feeds/{b}")).content)
    assert str(cal_a["X-WR-CALNAME"]) == "My calendar"
    assert str(cal_b["X-WR-CALNAME"]) == "B calendar"


async def test_feed_url_uses_the_public_url_setting(api: Api) -> None:
    api.runtime.settings.public_url = "https://cal.example.org/base/"
    try:
        url = await new_feed(api)
    finally:
        api.runtime.settings.public_url = None
    assert url.startswith("https://cal.example.org/base/feeds/")
