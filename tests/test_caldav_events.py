"""CalDAV events as they are on the server: the .ics calgate writes, what other clients wrote,
text that tries to inject properties, concurrent writers, and the effects hook."""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy.engine import Connection

from calgate.providers.base import Change
from calgate.settings import Settings
from tests.conftest import SEED_BODY, Api
from tests.contract.suite import Target, timed
from tests.radicale import Radicale, User, radicale_fixture  # noqa: F401

pytestmark = pytest.mark.anyio


@dataclass
class Account:
    target: Target
    radicale: Radicale
    user: User

    def path(self, name: str) -> str:
        return f"/{self.user.name}/work/{name}"

    def raw(self, event_id: str) -> str:
        """The resource's text on the server, lines unfolded."""
        return self.radicale.raw(self.user, self.path(f"{event_id}.ics")).replace("\r\n ", "")

    def put(self, name: str, text: str, **headers: str) -> httpx.Response:
        with self.radicale.client(self.user) as client:
            return client.put(
                self.path(name),
                content=text.replace("\n", "\r\n").encode(),
                headers={"Content-Type": "text/calendar", **headers},
            )

    def names(self) -> list[str]:
        """The resource names in the calendar on the server."""
        with self.radicale.client(self.user) as client:
            r = client.request("PROPFIND", f"/{self.user.name}/work/", headers={"Depth": "1"})
        found = re.findall(r"<href>[^<]*/work/([^<]+)</href>", r.text)
        return sorted(found)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"allow_loopback_urls": True})


@pytest.fixture
async def account(api: Api, radicale: Radicale) -> Account:
    user = radicale.add_user()
    radicale.make_calendar(user, "work", "Work")
    r = await api.call(
        "POST",
        "/api/v1/accounts",
        json={
            "provider": "CALDAV",
            "url": radicale.url,
            "username": user.name,
            "password": user.password,
            "email": "owner@example.org",
        },
    )
    assert r.status_code == 201, r.text
    target = await Target.connect(api, r.json()["account_id"], "work")
    return Account(target, radicale, user)


def lines(text: str) -> list[str]:
    return text.split("\r\n")


async def test_created_resource_holds_every_field(account: Account) -> None:
    event_id = await account.target.create(SEED_BODY)
    assert account.names() == [f"{event_id}.ics"]
    raw = lines(account.raw(event_id))
    assert f"UID:{event_id}@calgate" in raw
    assert "SUMMARY:Quarterly review" in raw
    assert "DESCRIPTION:Numbers and plans" in raw
    assert "LOCATION:Room 4" in raw
    assert "TRANSP:OPAQUE" in raw
    assert "CLASS:PRIVATE" in raw
    assert "DTSTART;TZID=Europe/Paris:20260120T143000" in raw
    assert "DTEND;TZID=Europe/Paris:20260120T153000" in raw
    assert "BEGIN:VTIMEZONE" in raw and "TZID:Europe/Paris" in raw
    assert "RRULE:FREQ=WEEKLY;COUNT=4;BYDAY=TU" in raw
    assert f"ORGANIZER;CN={account.user.name}:mailto:owner@example.org" in raw
    attendees = [line for line in raw if line.startswith("ATTENDEE")]
    assert len(attendees) == 2
    assert all("RSVP=TRUE" in line for line in attendees)
    assert "ROLE=REQ-PARTICIPANT" in attendees[0] and "CN=Ada" in attendees[0]
    assert "ROLE=OPT-PARTICIPANT" in attendees[1]
    assert attendees[1].endswith(":mailto:bob@example.org")
    assert "COLOR:dodgerblue" in raw  # RFC 7986: a CSS3 colour name, the nearest one
    assert "X-CALGATE-COLOR:#039BE5" in raw
    assert any(
        line.startswith("CONFERENCE;") and line.endswith(":https://zoom.example.org/j/123")
        for line in raw
    )
    event = await account.target.get(event_id)
    assert event["organizer"] == {"email": "owner@example.org", "display_name": account.user.name}


@pytest.mark.parametrize("field", ["title", "body", "location"])
async def test_crlf_never_becomes_a_property(account: Account, field: str) -> None:
    evil = "Meeting\r\nATTENDEE:mailto:evil@example.org\r\nEND:VEVENT\nX-INJECTED:1\rCLASS:PUBLIC"
    body = {"title": "x", field: evil, **timed("2026-03-01T10:00:00Z", "2026-03-01T11:00:00Z")}
    event_id = await account.target.create(body)
    raw = lines(account.raw(event_id))
    assert not any("evil@example.org" in line and line.startswith("ATTENDEE") for line in raw)
    assert not any(line.startswith(("X-INJECTED", "CLASS")) for line in raw)
    assert raw.count("END:VEVENT") == 1
    event = await account.target.get(event_id)
    assert event[field] == evil.replace("\r\n", "\n").replace("\r", "\n")
    assert event["attendees"] == []
    assert event["visibility"] == "default"


async def test_attendee_name_cannot_break_out_of_its_parameter(account: Account) -> None:
    name = 'Eve";ROLE=CHAIR:mailto:x@example.org\r\nX-INJECTED:1'
    event_id = await account.target.create(
        {
            "title": "x",
            "attendees": [{"email": "eve@example.org", "display_name": name}],
            **timed("2026-03-01T10:00:00Z", "2026-03-01T11:00:00Z"),
        }
    )
    raw = lines(account.raw(event_id))
    assert not any(line.startswith("X-INJECTED") for line in raw)
    [attendee] = [line for line in raw if line.startswith("ATTENDEE")]
    # RFC 6868: ^' is the quote, ^n the line break, inside one quoted parameter value.
    assert attendee == (
        'ATTENDEE;CN="Eve^\';ROLE=CHAIR:mailto:x@example.org^nX-INJECTED:1";'
        "PARTSTAT=NEEDS-ACTION;ROLE=REQ-PARTICIPANT;RSVP=TRUE:mailto:eve@example.org"
    )
    [read] = (await account.target.get(event_id))["attendees"]
    assert (read["email"], read["display_name"], read["type"]) == (
        "eve@example.org",
        'Eve";ROLE=CHAIR:mailto:x@example.org\nX-INJECTED:1',
        "required",
    )


OTHER_CLIENT = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Other//Client//EN
BEGIN:VTIMEZONE
TZID:Europe/Berlin
BEGIN:STANDARD
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
END:DAYLIGHT
END:VTIMEZONE
BEGIN:VEVENT
UID:weekly-42@other.example
DTSTAMP:20260101T000000Z
DTSTART;TZID=Europe/Berlin:20260105T100000
DTEND;TZID=Europe/Berlin:20260105T110000
SUMMARY:Weekly sync
STATUS:CONFIRMED
X-OTHER-CLIENT:keep me
RRULE:FREQ=WEEKLY;COUNT=3
BEGIN:VALARM
ACTION:DISPLAY
DESCRIPTION:Reminder
TRIGGER:-PT15M
END:VALARM
END:VEVENT
BEGIN:VEVENT
UID:weekly-42@other.example
DTSTAMP:20260101T000000Z
RECURRENCE-ID;TZID=Europe/Berlin:20260112T100000
DTSTART;TZID=Europe/Berlin:20260112T150000
DTEND;TZID=Europe/Berlin:20260112T160000
SUMMARY:Weekly sync (afternoon)
END:VEVENT
END:VCALENDAR
"""


async def test_events_of_other_clients_are_read_and_kept(account: Account) -> None:
    assert account.put("weekly%2042.ics", OTHER_CLIENT).status_code == 201
    target = account.target
    [listed] = await target.list()
    assert (listed["id"], listed["ical_uid"]) == ("weekly 42", "weekly-42@other.example")
    assert listed["start"] == {
        "date_time": "2026-01-05T10:00:00+01:00",
        "time_zone": "Europe/Berlin",
    }
    found = await target.list(expand_recurring="true")
    assert [(e["id"], e["title"], e["start"]["date_time"]) for e in found] == [
        ("weekly 42_20260105T090000Z", "Weekly sync", "2026-01-05T10:00:00+01:00"),
        ("weekly 42_20260112T090000Z", "Weekly sync (afternoon)", "2026-01-12T15:00:00+01:00"),
        ("weekly 42_20260119T090000Z", "Weekly sync", "2026-01-19T10:00:00+01:00"),
    ]
    r = await target.patch("weekly 42", {"title": "Weekly sync (renamed)"})
    assert r.status_code == 200, r.text
    raw = lines(account.raw("weekly%2042"))
    assert "UID:weekly-42@other.example" in raw
    assert "SUMMARY:Weekly sync (renamed)" in raw
    assert "SUMMARY:Weekly sync (afternoon)" in raw  # the modified occurrence stays
    assert "X-OTHER-CLIENT:keep me" in raw
    assert "STATUS:CONFIRMED" in raw
    assert "BEGIN:VALARM" in raw and "TRIGGER:-PT15M" in raw
    assert "RRULE:FREQ=WEEKLY;COUNT=3" in raw
    found = await target.list(expand_recurring="true")
    assert [e["title"] for e in found] == [
        "Weekly sync (renamed)",
        "Weekly sync (afternoon)",
        "Weekly sync (renamed)",
    ]
    r = await target.call("DELETE", target.event("weekly 42_20260112T090000Z"))
    assert r.status_code == 200, r.text
    raw = lines(account.raw("weekly%2042"))
    assert "SUMMARY:Weekly sync (afternoon)" not in raw
    assert "EXDATE;TZID=Europe/Berlin:20260112T100000" in raw
    r = await target.call("DELETE", target.event("weekly 42"))
    assert r.status_code == 200, r.text
    assert account.names() == []


BACKWARDS = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Other//Client//EN
BEGIN:VEVENT
UID:backwards@other.example
DTSTAMP:20260101T000000Z
DTSTART:20260301T120000Z
DTEND:20260301T100000Z
SUMMARY:ends before it starts
END:VEVENT
END:VCALENDAR
"""


async def test_unreadable_resources_are_skipped_in_lists(account: Account) -> None:
    good = await account.target.create(
        {"title": "good", **timed("2026-03-01T10:00:00Z", "2026-03-01T11:00:00Z")}
    )
    assert account.put("backwards.ics", BACKWARDS).status_code == 201
    assert [e["id"] for e in await account.target.list()] == [good]
    r = await account.target.call("GET", account.target.event("backwards"))
    assert r.status_code == 500
    assert r.json()["type"] == "errors/provider_error"
    assert "DTEND" in r.json()["detail"]


async def test_occurrence_patch_is_a_recurrence_id_on_the_server(account: Account) -> None:
    event_id = await account.target.create(
        {
            "title": "Standup",
            "recurrence": ["RRULE:FREQ=DAILY;COUNT=3"],
            **timed("2026-02-02T09:00:00", "2026-02-02T09:15:00", "Europe/Paris"),
        }
    )
    r = await account.target.patch(f"{event_id}_20260203T080000Z", {"title": "Standup (late)"})
    assert r.status_code == 200, r.text
    raw = lines(account.raw(event_id))
    assert raw.count("BEGIN:VEVENT") == 2
    assert "RECURRENCE-ID;TZID=Europe/Paris:20260203T090000" in raw
    assert "SUMMARY:Standup (late)" in raw
    assert account.names() == [f"{event_id}.ics"]


async def test_change_by_another_client_makes_a_stale_patch_409(account: Account) -> None:
    target = account.target
    event_id = await target.create(
        {"title": "mine", **timed("2026-03-01T10:00:00Z", "2026-03-01T11:00:00Z")}
    )
    version = (await target.get(event_id))["version"]
    text = account.raw(event_id).replace("SUMMARY:mine", "SUMMARY:theirs")
    assert account.put(f"{event_id}.ics", text.replace("\r\n", "\n")).status_code == 204
    assert (await target.get(event_id))["version"] != version
    r = await target.patch(event_id, {"location": "here"}, headers={"If-Match": str(version)})
    assert r.status_code == 409, r.text
    assert r.json()["type"] == "errors/conflict"
    r = await target.patch(event_id, {"location": "here"})
    assert r.status_code == 200, r.text
    event = await target.get(event_id)
    assert (event["title"], event["location"]) == ("theirs", "here")


async def test_effects_run_after_each_change(account: Account, api: Api) -> None:
    seen: list[tuple[str, str, str, frozenset[str], bool]] = []

    def record(conn: Connection, change: Change) -> None:
        assert isinstance(conn, Connection)
        seen.append(
            (
                change.kind,
                change.event.id,
                change.event.fields.title,
                change.changed,
                change.event.is_cancelled,
            )
        )

    api.runtime.events.effects.append(record)
    target = account.target
    event_id = await target.create(
        {
            "title": "a",
            "recurrence": ["RRULE:FREQ=DAILY;COUNT=2"],
            **timed("2026-03-01T10:00:00Z", "2026-03-01T11:00:00Z"),
        }
    )
    assert (await target.patch(event_id, {"title": "b"})).status_code == 200
    occurrence = f"{event_id}_20260302T100000Z"
    assert (await target.call("DELETE", target.event(occurrence))).status_code == 200
    assert (await target.call("DELETE", target.event(event_id))).status_code == 200
    r = await target.patch("nope", {"title": "c"})
    assert r.status_code == 404
    assert seen == [
        ("created", event_id, "a", frozenset(), False),
        ("updated", event_id, "b", frozenset({"title"}), False),
        ("deleted", occurrence, "b", frozenset(), True),
        ("deleted", event_id, "b", frozenset(), True),
    ]


async def test_notify_is_kept_with_the_event(account: Account) -> None:
    """As for LOCAL events, a PATCH without ``notify`` keeps the event's value: with no SMTP
    server configured, an invitation asked for is recorded as failed, else nothing is."""
    target = account.target
    ids = {}
    for notify in (True, False):
        ids[notify] = await target.create(
            {
                "title": f"notify {notify}",
                "notify": notify,
                "attendees": [{"email": "ada@example.org"}],
                **timed("2026-03-01T10:00:00Z", "2026-03-01T11:00:00Z"),
            }
        )
    assert "X-CALGATE-NOTIFY;VALUE=BOOLEAN:TRUE" in lines(account.raw(ids[True]))
    assert not any(line.startswith("X-CALGATE-NOTIFY") for line in lines(account.raw(ids[False])))
    for notify, state in ((True, "failed"), (False, "none")):
        assert (await target.get(ids[notify]))["notifications"] == state
        r = await target.patch(ids[notify], {"location": "elsewhere"})
        assert r.status_code == 200, r.text
        assert (await target.get(ids[notify]))["notifications"] == state
    assert "X-CALGATE-NOTIFY;VALUE=BOOLEAN:TRUE" in lines(account.raw(ids[True]))
