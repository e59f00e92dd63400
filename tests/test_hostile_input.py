"""Hostile and broken input through the API: every limit is a clear 400 naming its field, NUL
characters are refused everywhere, Unicode goes through untouched, and CR/LF in every text
field stays data in JSON and in the `.ics` calgate writes."""

from __future__ import annotations

import time
from typing import Any

import pytest
from icalendar import Calendar

from tests.conftest import Api

pytestmark = pytest.mark.anyio

DAY: dict[str, Any] = {"start": {"date": "2026-06-01"}, "end": {"date": "2026-06-02"}}
BASE: dict[str, Any] = {"title": "Base", **DAY}


def event(**fields: Any) -> dict[str, Any]:
    return {**BASE, **fields}


LIMITS = [
    ("title", event(title="x" * 1025), "title:"),
    ("body", event(body="x" * 65537), "body:"),
    ("location", event(location="x" * 1025), "location:"),
    (
        "attendees",
        event(attendees=[{"email": f"p{i}@example.org"} for i in range(501)]),
        "attendees:",
    ),
    (
        "display name",
        event(attendees=[{"email": "a@example.org", "display_name": "n" * 257}]),
        "attendees[0].display_name:",
    ),
    (
        "email",
        event(attendees=[{"email": "a" * 310 + "@example.org"}]),
        "attendees[0].email:",
    ),
    ("recurrence lines", event(recurrence=["RDATE:20260601"] * 51), "recurrence:"),
    (
        "recurrence line length",
        event(recurrence=["RRULE:FREQ=DAILY;COUNT=2;X-PAD=" + "x" * 1000]),
        "recurrence[0]:",
    ),
    (
        "recurrence dates",
        event(
            recurrence=[
                "RDATE;VALUE=DATE:"
                + ",".join(f"2027{m:02d}{d:02d}" for m in (1, 2) for d in range(1, 29))
            ]
            * 20
        ),
        "recurrence",
    ),
    ("recurrence count", event(recurrence=["RRULE:FREQ=DAILY;COUNT=10001"]), "COUNT"),
    (
        "conference url",
        event(conference={"provider": "zoom", "url": "https://x/" + "u" * 2048}),
        "conference.url:",
    ),
    (
        "conference id",
        event(conference={"provider": "zoom", "conference_id": "9" * 257}),
        "conference.conference_id:",
    ),
]


@pytest.mark.parametrize(("name", "body", "field"), LIMITS, ids=[n for n, _, _ in LIMITS])
async def test_each_event_limit_is_a_400_naming_the_field(
    api: Api, name: str, body: dict[str, Any], field: str
) -> None:
    r = await api.call("POST", api.events_url(), json=body)
    assert r.status_code == 400, r.text
    error = r.json()
    assert error["type"] == "errors/invalid_parameters"
    assert field in error["detail"], error["detail"]
    patched = await api.call("PATCH", f"{api.events_url()}/{await api.create(BASE)}", json=body)
    assert patched.status_code == 400
    assert field in patched.json()["detail"]


CALENDAR_LIMITS = [
    ({"name": "n" * 257}, "name:"),
    ({"name": ""}, "name:"),
    ({"name": "ok", "description": "d" * 4097}, "description:"),
    ({"name": "ok", "timezone": "Mars/Olympus_Mons"}, "timezone"),
]


@pytest.mark.parametrize(("body", "field"), CALENDAR_LIMITS)
async def test_calendar_limits(api: Api, body: dict[str, Any], field: str) -> None:
    r = await api.call("POST", "/api/v1/calendars", json=body)
    assert r.status_code == 400, r.text
    assert field in r.json()["detail"]


QUERY_LIMITS = [
    ({"title": "t" * 1025}, "title"),
    ({"cursor": "c" * 401}, "cursor"),
    ({"limit": "251"}, "limit"),
    ({"limit": "zero"}, "limit"),
    ({"start": "yesterday"}, "start"),
]


@pytest.mark.parametrize(("params", "field"), QUERY_LIMITS)
async def test_query_limits(api: Api, params: dict[str, str], field: str) -> None:
    r = await api.call("GET", api.events_url(), params=params)
    assert r.status_code == 400, r.text
    assert r.json()["type"] == "errors/invalid_parameters"
    assert field in r.json()["detail"]


async def test_account_id_length(api: Api) -> None:
    r = await api.call("GET", api.events_url(), account_id="a" * 81)
    assert r.status_code == 400
    assert "account_id" in r.json()["detail"]


async def test_body_size_limit(api: Api) -> None:
    r = await api.call("POST", api.events_url(), json=event(body="x" * 1_000_001))
    assert r.status_code == 400
    assert r.json()["type"] == "errors/content_too_large"
    assert r.json()["detail"] == "the request body is larger than 1000000 bytes"


async def test_expansion_is_bounded(api: Api) -> None:
    """A daily series without end over a century: one page at a time, quickly."""
    await api.create(event(title="Forever", recurrence=["RRULE:FREQ=DAILY"]))
    started = time.monotonic()
    r = await api.call(
        "GET",
        api.events_url(),
        params={
            "start": "2026-01-01T00:00:00Z",
            "end": "2126-01-01T00:00:00Z",
            "expand_recurring": "true",
            "limit": "250",
        },
    )
    assert r.status_code == 200, r.text
    assert len(r.json()["data"]) == 250
    assert r.json()["next_cursor"]
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("field", ["title", "body", "location"])
async def test_nul_characters_are_refused_in_the_body(api: Api, field: str) -> None:
    r = await api.call("POST", api.events_url(), json=event(**{field: "a\u0000b"}))
    assert r.status_code == 400
    assert r.json()["type"] == "errors/invalid_parameters"
    assert r.json()["detail"] == (
        "the body holds a NUL character (\\u0000), which no calendar text may contain"
    )
    listed = await api.call("GET", api.events_url())
    assert listed.json()["data"] == []


async def test_nul_is_refused_in_query_path_and_raw_bodies(api: Api) -> None:
    query = await api.call("GET", api.events_url(), params={"title": "a\u0000b"})
    assert query.status_code == 400
    assert query.json()["detail"].startswith("the URL holds a NUL character")
    path = await api.call("GET", f"{api.events_url()}/abc%00def")
    assert path.status_code == 400
    raw = await api.call(
        "POST",
        f"/api/v1/calendars/{api.a.calendar_id}/ics",
        content=b"BEGIN:VCALENDAR\r\nX:\x00\r\nEND:VCALENDAR\r\n",
        headers={"content-type": "text/calendar"},
    )
    assert raw.status_code == 400
    assert raw.json()["detail"].startswith("the body holds a NUL character")


async def test_an_escaped_backslash_before_u0000_is_just_text(api: Api) -> None:
    title = "C:\\u0000 is a path, not a NUL"
    event_id = await api.create(event(title=title))
    assert (await api.get(event_id))["title"] == title


UNICODE = [
    "Réunion d'équipe — café ☕",
    "会議 📅 with 👩🏽‍💻 and 🏳️‍🌈",
    "اجتماع الفريق",
    "\u202eevil\u202c mirrored",
    "Zalgo z\u0335\u0321a\u0337l\u0336g\u0334o",
    "\U0001d4d2\U0001d4ea\U0001d4f5 astral",
]


@pytest.mark.parametrize("text", UNICODE)
async def test_unicode_goes_through_json_and_ics_untouched(api: Api, text: str) -> None:
    event_id = await api.create(
        event(
            title=text,
            body=text * 3,
            location=text,
            attendees=[{"email": "ada@example.org", "display_name": text}],
        )
    )
    got = await api.get(event_id)
    assert (got["title"], got["body"], got["location"]) == (text, text * 3, text)
    assert got["attendees"][0]["display_name"] == text
    vevent = await exported_event(api, event_id)
    assert str(vevent["SUMMARY"]) == text
    assert str(vevent["DESCRIPTION"]) == text * 3
    assert str(vevent["LOCATION"]) == text


@pytest.mark.parametrize(
    ("zone", "offset"),
    [
        ("Asia/Kathmandu", "+05:45"),
        ("America/St_Johns", "-02:30"),
        ("Pacific/Chatham", "+12:45"),
        ("America/Argentina/Buenos_Aires", "-03:00"),
        ("America/Port-au-Prince", "-04:00"),
    ],
)
async def test_zone_names(api: Api, zone: str, offset: str) -> None:
    event_id = await api.create(
        {
            "title": "Zoned",
            "start": {"date_time": "2026-07-01T09:00:00", "time_zone": zone},
            "end": {"date_time": "2026-07-01T10:00:00", "time_zone": zone},
        }
    )
    got = await api.get(event_id)
    assert got["start"] == {"date_time": f"2026-07-01T09:00:00{offset}", "time_zone": zone}
    vevent = await exported_event(api, event_id)
    assert vevent["DTSTART"].params["TZID"] == zone


async def test_unicode_calendar_and_zone(api: Api) -> None:
    r = await api.call(
        "POST",
        "/api/v1/calendars",
        json={"name": "日本語の予定 📅", "description": "Ünïcödé", "timezone": "Asia/Kathmandu"},
    )
    assert r.status_code == 201, r.text
    calendar_id = r.json()["calendar_id"]
    got = await api.call("GET", f"/api/v1/calendars/{calendar_id}")
    assert got.json()["name"] == "日本語の予定 📅"
    assert got.json()["timezone"] == "Asia/Kathmandu"
    ics = await api.call("GET", f"/api/v1/calendars/{calendar_id}/ics")
    assert Calendar.from_ical(ics.content)["X-WR-CALNAME"] == "日本語の予定 📅"


INJECT = "Lunch\r\nATTENDEE:mailto:evil@example.org\r\nX-INJECTED:1\r\nEND:VEVENT\nBEGIN:VEVENT"


async def exported_event(api: Api, event_id: str, calendar_id: str | None = None) -> Any:
    r = await api.call("GET", f"/api/v1/calendars/{calendar_id or api.a.calendar_id}/ics")
    assert r.status_code == 200
    for line in r.text.splitlines():
        assert not line.startswith(("X-INJECTED", "ATTENDEE:mailto:evil")), line
    found = [
        c
        for c in Calendar.from_ical(r.content).walk("VEVENT")
        if str(c["UID"]).startswith(event_id)
    ]
    assert len(found) == 1
    return found[0]


@pytest.mark.parametrize("field", ["title", "body", "location"])
async def test_crlf_in_text_fields_stays_data(api: Api, field: str) -> None:
    event_id = await api.create(event(**{field: INJECT}, attendees=[{"email": "ada@example.org"}]))
    assert (await api.get(event_id))[field] == INJECT
    vevent = await exported_event(api, event_id)
    prop = {"title": "SUMMARY", "body": "DESCRIPTION", "location": "LOCATION"}[field]
    assert str(vevent[prop]) == INJECT.replace("\r\n", "\n")
    attendees = vevent.get("ATTENDEE")
    assert [str(attendees)] == ["mailto:ada@example.org"]
    assert "X-INJECTED" not in vevent


async def test_crlf_in_names_and_conference_stays_data(api: Api) -> None:
    event_id = await api.create(
        event(
            attendees=[{"email": "ada@example.org", "display_name": INJECT}],
            conference={
                "provider": "unknown",
                "url": "https://meet.example.org/x",
                "conference_id": INJECT,
            },
        )
    )
    got = await api.get(event_id)
    assert got["attendees"][0]["display_name"] == INJECT
    vevent = await exported_event(api, event_id)
    assert [str(vevent["ATTENDEE"])] == ["mailto:ada@example.org"]


async def test_crlf_in_calendar_name_reaches_no_header(api: Api) -> None:
    name = "Team\r\nSet-Cookie: session=stolen"
    r = await api.call("POST", "/api/v1/calendars", json={"name": name, "description": INJECT})
    assert r.status_code == 201, r.text
    calendar_id = r.json()["calendar_id"]
    assert (await api.call("GET", f"/api/v1/calendars/{calendar_id}")).json()["name"] == name
    ics = await api.call("GET", f"/api/v1/calendars/{calendar_id}/ics")
    assert ics.status_code == 200
    assert "set-cookie" not in ics.headers
    assert "\r" not in ics.headers["content-disposition"]
    assert "\n" not in ics.headers["content-disposition"]
    unfolded = ics.text.replace("\r\n ", "")
    assert "X-WR-CALNAME:Team\\nSet-Cookie: session=stolen\r\n" in unfolded
    assert "\nSet-Cookie" not in unfolded


async def test_crlf_in_urls_and_emails_is_refused(api: Api) -> None:
    bad_email = await api.call(
        "POST", api.events_url(), json=event(attendees=[{"email": "a@b.org\r\nBcc: x@y.org"}])
    )
    assert bad_email.status_code == 400
    hook = await api.call(
        "POST",
        "/api/v1/webhooks",
        json={"source": "calendar_event", "request_url": "https://hooks.example.org/\r\nX: 1"},
    )
    assert hook.status_code == 400
    assert "request_url" in hook.json()["detail"]
    header = await api.call(
        "POST",
        "/api/v1/webhooks",
        json={
            "source": "calendar_event",
            "request_url": "https://hooks.example.org/h",
            "headers": [{"key": "X-Tag", "value": "v\r\nX-Evil: 1"}],
        },
    )
    assert header.status_code == 400
    assert "headers" in header.json()["detail"]


@pytest.mark.parametrize(
    ("chunks", "refused"),
    [
        ([b'{"t": "a\\u0000"}'], True),
        ([b'{"t": "a\\u00', b'00"}'], True),
        ([b'{"t": "a\\', b"u0000", b'"}'], True),
        ([b'{"t": "a\\\\u0000"}'], False),
        ([b'{"t": "a\\\\', b'\\u0000"}'], True),
        ([b'{"t": "a\\\\\\\\u0000"}'], False),
        ([b'{"t": "a\\u0001"}'], False),
        ([b"raw\x00byte"], True),
        ([b"u0000 without a backslash"], False),
    ],
)
async def test_nul_guard_reads_escapes_across_chunks(chunks: list[bytes], refused: bool) -> None:
    from calgate.api.middleware import NulGuard

    seen: list[bytes] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            seen.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    queue = [
        {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
        for i, c in enumerate(chunks)
    ]

    async def receive() -> Any:
        return queue.pop(0)

    sent: list[Any] = []

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {"type": "http", "path": "/x", "query_string": b"", "headers": []}
    await NulGuard(app)(scope, receive, send)
    assert sent[0]["status"] == (400 if refused else 200)
