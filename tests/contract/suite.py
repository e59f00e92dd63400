"""The contract every provider passes: the same tests, through the API, on each account type.

How a provider joins
    Write ``tests/contract/test_<provider>.py`` with one class that subclasses
    :class:`ContractSuite` and overrides one fixture, ``target``, which connects an account of
    that provider (through ``POST /api/v1/accounts``, as a user would) and returns
    ``await Target.connect(api, account_id)`` (the account's default calendar is used, or pass
    ``calendar_id``). Override ``settings`` too when the provider's base URL comes from settings
    (point it at the test server)::

        class TestGoogle(ContractSuite):
            @pytest.fixture
            def settings(self, settings: Settings, google_server: str) -> Settings:
                return settings.model_copy(update={"google_api_url": google_server})

            @pytest.fixture
            async def target(self, api: Api, google_server: str) -> Target:
                r = await api.call("POST", "/api/v1/accounts",
                                   json={"provider": "GOOGLE_OAUTH", "refresh_token": "..."})
                return await Target.connect(api, r.json()["account_id"])

    Any other fixture of tests/conftest.py can be overridden the same way when the provider
    needs it (the Google and Outlook suites replace ``runtime`` to route calls to their test
    servers). The tests themselves are the same for every provider. The ``api`` fixture runs the
    real app on a fresh database per test, so each test starts from an empty account when the
    ``target`` fixture gives it a fresh one (a new user on the test server).

Provider differences
    are read from the account's capabilities (``GET /api/v1/accounts/{id}/capabilities``,
    ``Target.caps``), never from the provider's name: a palette provider gets a palette colour,
    a provider that cannot hide attendees must refuse ``is_attendees_list_hidden`` with 501, and
    so on. What a provider cannot hold and the capabilities do not say is a failing test.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.conftest import SEED_BODY, Api
from tests.radicale import Radicale, User


def timed(start: str, end: str, tz: str = "UTC") -> dict[str, Any]:
    return {
        "start": {"date_time": start, "time_zone": tz},
        "end": {"date_time": end, "time_zone": tz},
    }


@dataclass
class Target:
    """One connected account and the calendar the suite works in."""

    api: Api
    account_id: str
    calendar_id: str
    caps: dict[str, Any]

    @classmethod
    async def connect(cls, api: Api, account_id: str, calendar_id: str | None = None) -> Target:
        r = await api.call("GET", f"/api/v1/accounts/{account_id}/capabilities")
        assert r.status_code == 200, r.text
        caps = r.json()
        if calendar_id is None:
            r = await api.call("GET", "/api/v1/calendars", account_id=account_id)
            assert r.status_code == 200, r.text
            defaults = [c["id"] for c in r.json()["data"] if c["is_default"]]
            assert len(defaults) == 1, r.json()
            calendar_id = defaults[0]
        return cls(api, account_id, calendar_id, caps)

    @classmethod
    async def on_radicale(cls, api: Api, radicale: Radicale, user: User | None = None) -> Target:
        """A CALDAV account of ``user`` (a new Radicale user by default), working in its new
        calendar ``work``."""
        user = user or radicale.add_user()
        radicale.make_calendar(user, "work", "Work")
        body = {
            "provider": "CALDAV",
            "url": radicale.url,
            "username": user.name,
            "password": user.password,
        }
        r = await api.call("POST", "/api/v1/accounts", json=body)
        assert r.status_code == 201, r.text
        return await cls.connect(api, r.json()["account_id"], "work")

    def events(self, calendar_id: str | None = None) -> str:
        return f"/api/v1/calendars/{calendar_id or self.calendar_id}/events"

    def event(self, event_id: str) -> str:
        return f"{self.events()}/{event_id}"

    async def call(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return await self.api.call(method, url, account_id=self.account_id, **kwargs)

    async def create(self, body: dict[str, Any]) -> str:
        r = await self.call("POST", self.events(), json=body)
        assert r.status_code == 200, r.text
        assert set(r.json()) == {"object", "event_id"}
        event_id: str = r.json()["event_id"]
        return event_id

    async def get(self, event_id: str) -> dict[str, Any]:
        r = await self.call("GET", self.event(event_id))
        assert r.status_code == 200, r.text
        data: dict[str, Any] = r.json()
        return data

    async def patch(self, event_id: str, body: dict[str, Any], **kwargs: Any) -> httpx.Response:
        return await self.call("PATCH", self.event(event_id), json=body, **kwargs)

    async def list(self, **params: str) -> list[dict[str, Any]]:
        """Every page of a listing, in order."""
        found: list[dict[str, Any]] = []
        query = {"limit": "250", **params}
        while True:
            r = await self.call("GET", self.events(), params=query)
            assert r.status_code == 200, r.text
            found += r.json()["data"]
            if not r.json()["next_cursor"]:
                return found
            query["cursor"] = r.json()["next_cursor"]

    def supported(self, body: dict[str, Any]) -> dict[str, Any]:
        """``body`` without what the capabilities say the provider cannot hold."""
        body = copy.deepcopy(body)
        if not self.caps["hidden_attendees"]:
            body["is_attendees_list_hidden"] = False
        if not self.caps["guests_can_modify"]:
            body["guests_can_modify"] = False
        if self.caps["colors"] == "palette" and body.get("color"):
            body["color"] = self.caps["palette"][0]
        return body


def error_type(r: httpx.Response) -> str:
    kind: str = r.json()["type"]
    return kind


def titles(items: list[dict[str, Any]]) -> list[str]:
    return [item["title"] for item in items]


class ContractSuite:
    """The tests; a subclass says how to build its account (see the module docstring)."""

    pytestmark = pytest.mark.anyio

    @pytest.fixture
    async def target(self, api: Api) -> Target:
        raise NotImplementedError("a provider's suite overrides the target fixture")

    # create and read back -----------------------------------------------------------------

    async def test_seed_body_reads_back_every_field(self, target: Target) -> None:
        body = target.supported(SEED_BODY)
        event_id = await target.create(body)
        event = await target.get(event_id)
        assert event["object"] == "CalendarEvent"
        assert event["id"] == event_id
        assert event["calendar_id"] == target.calendar_id
        assert event["master_event_id"] == ""
        assert event["title"] == "Quarterly review"
        assert event["body"] == "Numbers and plans"
        assert event["location"] == "Room 4"
        assert event["transparency"] == "opaque"
        assert event["visibility"] == "private"
        assert event["conference"] == {
            "provider": "zoom",
            "url": "https://zoom.example.org/j/123",
            "conference_id": "123",
        }
        assert event["is_attendees_list_hidden"] is body["is_attendees_list_hidden"]
        assert [
            (a["email"], a["display_name"], a["is_optional"], a["type"], a["response_status"])
            for a in event["attendees"]
            if not a["is_organizer"]
        ] == [
            ("ada@example.org", "Ada", False, "required", "noreply"),
            ("bob@example.org", "", True, "optional", "noreply"),
        ]
        assert event["recurrence"] == ["RRULE:FREQ=WEEKLY;BYDAY=TU;COUNT=4"]
        assert event["start"] == {
            "date_time": "2026-01-20T14:30:00+01:00",
            "time_zone": "Europe/Paris",
        }
        assert event["end"] == {
            "date_time": "2026-01-20T15:30:00+01:00",
            "time_zone": "Europe/Paris",
        }
        assert event["color"] == body["color"]
        assert event["guests_can_modify"] is body["guests_can_modify"]
        assert event["is_all_day"] is False
        assert event["is_cancelled"] is False
        assert event["ical_uid"]
        assert event["created_at"].endswith("Z") and len(event["created_at"]) == 24
        assert isinstance(event["version"], str)

    async def test_unsupported_fields_are_refused_with_501(self, target: Target) -> None:
        for field, supported in (
            ("is_attendees_list_hidden", target.caps["hidden_attendees"]),
            ("guests_can_modify", target.caps["guests_can_modify"]),
        ):
            body = {
                "title": "x",
                field: True,
                **timed("2026-03-01T10:00:00Z", "2026-03-01T11:00:00Z"),
            }
            r = await target.call("POST", target.events(), json=body)
            if supported:
                assert r.status_code == 200, r.text
            else:
                assert r.status_code == 501, r.text
                assert error_type(r) == "errors/feature_not_implemented"
                assert field in r.json()["detail"]
        for kind in ("google_meet", "teams", "zoom"):
            body = {
                "title": "x",
                "conference": {"provider": kind},
                **timed("2026-03-02T10:00:00Z", "2026-03-02T11:00:00Z"),
            }
            r = await target.call("POST", target.events(), json=body)
            if kind in target.caps["conference_create"]:
                assert r.status_code == 200, r.text
            else:
                assert r.status_code == 501, r.text
                assert "conference" in r.json()["detail"]

    async def test_minimal_create_gets_defaults(self, target: Target) -> None:
        event_id = await target.create(
            {"title": "x", **timed("2026-03-01T10:00:00Z", "2026-03-01T11:00:00Z")}
        )
        event = await target.get(event_id)
        assert [a for a in event["attendees"] if not a["is_organizer"]] == []
        assert event["recurrence"] == []
        assert event["transparency"] == "opaque"
        assert event["visibility"] == "default"
        assert event["conference"] is None
        assert event["color"] is None
        assert event["body"] == "" and event["location"] == ""
        assert event["start"] == {"date_time": "2026-03-01T10:00:00+00:00", "time_zone": "UTC"}
        assert event["end"] == {"date_time": "2026-03-01T11:00:00+00:00", "time_zone": "UTC"}

    async def test_text_keeps_every_character(self, target: Target) -> None:
        text = 'Caf\u00e9, "quotes"; back\\slash\nsecond line \u2014 \U0001f600'
        event_id = await target.create(
            {
                "title": "Lunch, then; review\\notes",
                "body": text,
                "location": "Room 1; floor 2, Z\u00fcrich",
                **timed("2026-03-01T10:00:00Z", "2026-03-01T11:00:00Z"),
            }
        )
        event = await target.get(event_id)
        assert event["title"] == "Lunch, then; review\\notes"
        assert event["body"] == text
        assert event["location"] == "Room 1; floor 2, Z\u00fcrich"

    async def test_transparency_visibility_color(self, target: Target) -> None:
        color = target.caps["palette"][3] if target.caps["colors"] == "palette" else "#E67C73"
        event_id = await target.create(
            {
                "title": "x",
                "transparency": "transparent",
                "visibility": "public",
                "color": color,
                **timed("2026-03-01T10:00:00Z", "2026-03-01T11:00:00Z"),
            }
        )
        event = await target.get(event_id)
        assert (event["transparency"], event["visibility"], event["color"]) == (
            "transparent",
            "public",
            color,
        )

    # times ----------------------------------------------------------------------------------

    async def test_all_day_event(self, target: Target) -> None:
        event_id = await target.create(
            {"title": "Holiday", "start": {"date": "2026-07-14"}, "end": {"date": "2026-07-16"}}
        )
        event = await target.get(event_id)
        assert event["is_all_day"] is True
        assert event["start"] == {"date": "2026-07-14"}
        assert event["end"] == {"date": "2026-07-16"}
        found = await target.list(start="2026-07-15T12:00:00Z", end="2026-07-15T13:00:00Z")
        assert [e["id"] for e in found] == [event_id]

    @pytest.mark.parametrize(
        ("start", "end", "expected"),
        [
            (  # a UTC time, shown in its zone
                {"date_time": "2025-05-28T10:00:00.000Z", "time_zone": "Europe/Paris"},
                {"date_time": "2025-05-28T11:00:00.000Z", "time_zone": "Europe/Paris"},
                {"date_time": "2025-05-28T12:00:00+02:00", "time_zone": "Europe/Paris"},
            ),
            (  # a naive wall time in the zone
                {"date_time": "2026-11-02T09:00:00", "time_zone": "America/New_York"},
                {"date_time": "2026-11-02T10:00:00", "time_zone": "America/New_York"},
                {"date_time": "2026-11-02T09:00:00-05:00", "time_zone": "America/New_York"},
            ),
            (  # an offset time
                {"date_time": "2026-03-01T10:00:00+05:30", "time_zone": "Asia/Kolkata"},
                {"date_time": "2026-03-01T11:00:00+05:30", "time_zone": "Asia/Kolkata"},
                {"date_time": "2026-03-01T10:00:00+05:30", "time_zone": "Asia/Kolkata"},
            ),
            (  # no zone: UTC
                {"date_time": "2026-03-01T10:00:00Z"},
                {"date_time": "2026-03-01T11:00:00Z"},
                {"date_time": "2026-03-01T10:00:00+00:00", "time_zone": "UTC"},
            ),
        ],
    )
    async def test_times_read_back_in_their_zone(
        self,
        target: Target,
        start: dict[str, str],
        end: dict[str, str],
        expected: dict[str, str],
    ) -> None:
        event_id = await target.create({"title": "zoned", "start": start, "end": end})
        event = await target.get(event_id)
        assert event["start"] == expected

    async def test_series_keeps_wall_time_across_dst(self, target: Target) -> None:
        event_id = await target.create(
            {
                "title": "Standup",
                "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=3"],
                **timed("2026-03-20T09:00:00", "2026-03-20T09:15:00", "Europe/Paris"),
            }
        )
        found = await target.list(
            start="2026-03-01T00:00:00Z", end="2026-05-01T00:00:00Z", expand_recurring="true"
        )
        assert [(e["id"], e["start"]["date_time"]) for e in found] == [
            (f"{event_id}_20260320T080000Z", "2026-03-20T09:00:00+01:00"),
            (f"{event_id}_20260327T080000Z", "2026-03-27T09:00:00+01:00"),
            (f"{event_id}_20260403T070000Z", "2026-04-03T09:00:00+02:00"),
        ]

    # listing --------------------------------------------------------------------------------

    async def test_list_window_and_order(self, target: Target) -> None:
        ids = {}
        for title, day in (("c", "05"), ("a", "01"), ("b", "03"), ("d", "20")):
            ids[title] = await target.create(
                {"title": title, **timed(f"2026-04-{day}T10:00:00Z", f"2026-04-{day}T11:00:00Z")}
            )
        everything = await target.list()
        assert titles(everything) == ["a", "b", "c", "d"]
        window = await target.list(start="2026-04-02T00:00:00Z", end="2026-04-10T00:00:00Z")
        assert [e["id"] for e in window] == [ids["b"], ids["c"]]
        # An event running across the window's start is in it; one ending at it is not.
        overlap = await target.list(start="2026-04-01T10:30:00Z", end="2026-04-01T12:00:00Z")
        assert titles(overlap) == ["a"]
        touching = await target.list(start="2026-04-01T11:00:00Z", end="2026-04-01T12:00:00Z")
        assert touching == []

    async def test_pagination_visits_every_event_once(self, target: Target) -> None:
        for day in range(1, 8):
            await target.create(
                {
                    "title": f"e{day}",
                    **timed(f"2026-05-0{day}T10:00:00Z", f"2026-05-0{day}T11:00:00Z"),
                }
            )
        pages: list[list[str]] = []
        query = {"limit": "3"}
        while True:
            r = await target.call("GET", target.events(), params=query)
            assert r.status_code == 200, r.text
            pages.append(titles(r.json()["data"]))
            if not r.json()["next_cursor"]:
                break
            query["cursor"] = r.json()["next_cursor"]
        assert pages == [["e1", "e2", "e3"], ["e4", "e5", "e6"], ["e7"]]
        r = await target.call("GET", target.events(), params={"cursor": "not-a-cursor"})
        assert r.status_code == 400

    async def test_expanded_pagination(self, target: Target) -> None:
        series = await target.create(
            {
                "title": "weekly",
                "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=4"],
                **timed("2026-01-20T10:00:00Z", "2026-01-20T11:00:00Z"),
            }
        )
        single = await target.create(
            {"title": "single", **timed("2026-01-28T10:00:00Z", "2026-01-28T11:00:00Z")}
        )
        pages: list[list[str]] = []
        query = {
            "limit": "2",
            "expand_recurring": "true",
            "start": "2026-01-01T00:00:00Z",
            "end": "2026-03-01T00:00:00Z",
        }
        while True:
            r = await target.call("GET", target.events(), params=query)
            assert r.status_code == 200, r.text
            pages.append([e["id"] for e in r.json()["data"]])
            if not r.json()["next_cursor"]:
                break
            query["cursor"] = r.json()["next_cursor"]
        assert pages == [
            [f"{series}_20260120T100000Z", f"{series}_20260127T100000Z"],
            [single, f"{series}_20260203T100000Z"],
            [f"{series}_20260210T100000Z"],
        ]

    async def test_list_filters(self, target: Target) -> None:
        await target.create(
            {
                "title": "Budget review",
                "transparency": "transparent",
                "attendees": [{"email": "ada@example.org"}],
                **timed("2026-06-01T10:00:00Z", "2026-06-01T11:00:00Z"),
            }
        )
        await target.create(
            {
                "title": "Lunch",
                "location": "Canteen",
                **timed("2026-06-02T10:00:00Z", "2026-06-02T11:00:00Z"),
            }
        )
        assert titles(await target.list(title="budget")) == ["Budget review"]
        assert titles(await target.list(busy="true")) == ["Lunch"]
        assert titles(await target.list(location="canteen")) == ["Lunch"]
        assert titles(await target.list(attendees="ADA@example.org")) == ["Budget review"]

    # patch and delete -----------------------------------------------------------------------

    async def test_patch_changes_only_given_fields(self, target: Target) -> None:
        body = target.supported(SEED_BODY)
        event_id = await target.create(body)
        before = await target.get(event_id)
        r = await target.patch(event_id, {"title": "Renamed", "location": None})
        assert r.status_code == 200, r.text
        assert r.json() == {"object": "CalendarEventUpdated"}
        after = await target.get(event_id)
        assert after["title"] == "Renamed"
        assert after["location"] == ""
        assert after["version"] != before["version"]
        unchanged = set(before) - {"title", "location", "version", "updated_at", "attendees"}
        assert {k: after[k] for k in unchanged} == {k: before[k] for k in unchanged}
        r = await target.patch(
            event_id,
            {
                "start": {"date_time": "2026-01-21T08:00:00", "time_zone": "Europe/Paris"},
                "end": {"date_time": "2026-01-21T09:00:00", "time_zone": "Europe/Paris"},
                "visibility": "public",
            },
        )
        assert r.status_code == 200, r.text
        after = await target.get(event_id)
        assert after["start"]["date_time"] == "2026-01-21T08:00:00+01:00"
        assert after["visibility"] == "public"

    async def test_bad_patch_is_400_and_changes_nothing(self, target: Target) -> None:
        event_id = await target.create(
            {"title": "x", **timed("2026-03-01T10:00:00Z", "2026-03-01T11:00:00Z")}
        )
        for body in (
            {"end": {"date_time": "2026-03-01T09:00:00Z"}},
            {"colour": "#FF0000"},
            {"recurrence": ["RRULE:FREQ=SOMETIMES"]},
            {},
        ):
            r = await target.patch(event_id, body)
            assert r.status_code == 400, (body, r.text)
            assert error_type(r) == "errors/invalid_parameters"
        event = await target.get(event_id)
        assert event["end"]["date_time"] == "2026-03-01T11:00:00+00:00"

    async def test_patch_with_stale_version_is_409(self, target: Target) -> None:
        event_id = await target.create(
            {"title": "x", **timed("2026-03-01T10:00:00Z", "2026-03-01T11:00:00Z")}
        )
        version = (await target.get(event_id))["version"]
        r = await target.patch(event_id, {"title": "y"}, headers={"If-Match": str(version)})
        assert r.status_code == 200, r.text
        r = await target.patch(event_id, {"title": "z"}, headers={"If-Match": str(version)})
        assert r.status_code == 409, r.text
        assert error_type(r) == "errors/conflict"
        assert (await target.get(event_id))["title"] == "y"

    async def test_delete(self, target: Target) -> None:
        event_id = await target.create(
            {"title": "x", **timed("2026-03-01T10:00:00Z", "2026-03-01T11:00:00Z")}
        )
        r = await target.call("DELETE", target.event(event_id))
        assert r.status_code == 200, r.text
        assert r.json() == {"object": "CalendarEventDeleted"}
        r = await target.call("GET", target.event(event_id))
        assert r.status_code == 404
        r = await target.call("DELETE", target.event(event_id))
        assert r.status_code == 404
        assert await target.list() == []

    # recurrence -----------------------------------------------------------------------------

    async def test_series_expands_into_occurrences(self, target: Target) -> None:
        body = target.supported(SEED_BODY)
        event_id = await target.create(body)
        listed = await target.list(start="2026-01-01T00:00:00Z", end="2026-03-01T00:00:00Z")
        assert [e["id"] for e in listed] == [event_id]
        found = await target.list(
            start="2026-01-01T00:00:00Z", end="2026-03-01T00:00:00Z", expand_recurring="true"
        )
        assert [e["id"] for e in found] == [
            f"{event_id}_20260120T133000Z",
            f"{event_id}_20260127T133000Z",
            f"{event_id}_20260203T133000Z",
            f"{event_id}_20260210T133000Z",
        ]
        assert {e["master_event_id"] for e in found} == {event_id}
        assert {e["title"] for e in found} == {"Quarterly review"}
        assert all(e["recurrence"] == [] for e in found)
        assert found[1]["end"]["date_time"] == "2026-01-27T15:30:00+01:00"
        window = await target.list(
            start="2026-01-26T00:00:00Z", end="2026-02-04T00:00:00Z", expand_recurring="true"
        )
        assert [e["id"] for e in window] == [e["id"] for e in found[1:3]]
        one = await target.get(f"{event_id}_20260203T133000Z")
        assert one["master_event_id"] == event_id
        assert one["start"]["date_time"] == "2026-02-03T14:30:00+01:00"
        for missing in (f"{event_id}_20260204T133000Z", f"{event_id}_20270120T133000Z"):
            r = await target.call("GET", target.event(missing))
            assert r.status_code == 404, missing

    async def test_occurrence_patch_changes_that_occurrence_only(self, target: Target) -> None:
        event_id = await target.create(
            {
                "title": "Standup",
                "recurrence": ["RRULE:FREQ=DAILY;COUNT=3"],
                **timed("2026-02-02T09:00:00Z", "2026-02-02T09:15:00Z"),
            }
        )
        second = f"{event_id}_20260203T090000Z"
        r = await target.patch(
            second,
            {
                "title": "Standup (moved)",
                "start": {"date_time": "2026-02-03T11:00:00Z"},
                "end": {"date_time": "2026-02-03T11:30:00Z"},
            },
        )
        assert r.status_code == 200, r.text
        found = await target.list(
            start="2026-02-01T00:00:00Z", end="2026-02-10T00:00:00Z", expand_recurring="true"
        )
        assert [(e["id"], e["title"], e["start"]["date_time"]) for e in found] == [
            (f"{event_id}_20260202T090000Z", "Standup", "2026-02-02T09:00:00+00:00"),
            (second, "Standup (moved)", "2026-02-03T11:00:00+00:00"),
            (f"{event_id}_20260204T090000Z", "Standup", "2026-02-04T09:00:00+00:00"),
        ]
        moved = await target.get(second)
        assert moved["master_event_id"] == event_id
        assert moved["title"] == "Standup (moved)"
        assert (await target.get(event_id))["title"] == "Standup"
        r = await target.patch(second, {"recurrence": ["RRULE:FREQ=DAILY"]})
        assert r.status_code == 400

    async def test_occurrence_delete_adds_an_exdate(self, target: Target) -> None:
        event_id = await target.create(
            {
                "title": "Standup",
                "recurrence": ["RRULE:FREQ=DAILY;COUNT=3"],
                **timed("2026-02-02T09:00:00", "2026-02-02T09:15:00", "Europe/Paris"),
            }
        )
        r = await target.call("DELETE", target.event(f"{event_id}_20260203T080000Z"))
        assert r.status_code == 200, r.text
        found = await target.list(
            start="2026-02-01T00:00:00Z", end="2026-02-10T00:00:00Z", expand_recurring="true"
        )
        assert [e["id"] for e in found] == [
            f"{event_id}_20260202T080000Z",
            f"{event_id}_20260204T080000Z",
        ]
        master = await target.get(event_id)
        assert master["recurrence"] == [
            "RRULE:FREQ=DAILY;COUNT=3",
            "EXDATE;TZID=Europe/Paris:20260203T090000",
        ]
        r = await target.call("GET", target.event(f"{event_id}_20260203T080000Z"))
        assert r.status_code == 404

    async def test_all_day_series(self, target: Target) -> None:
        event_id = await target.create(
            {
                "title": "Payday",
                "recurrence": ["RRULE:FREQ=MONTHLY;BYMONTHDAY=1;COUNT=3"],
                "start": {"date": "2026-01-01"},
                "end": {"date": "2026-01-02"},
            }
        )
        found = await target.list(
            start="2026-01-01T00:00:00Z", end="2026-12-31T00:00:00Z", expand_recurring="true"
        )
        assert [(e["id"], e["start"], e["end"]) for e in found] == [
            (f"{event_id}_2026{m}01", {"date": f"2026-{m}-01"}, {"date": f"2026-{m}-02"})
            for m in ("01", "02", "03")
        ]

    # attendees ------------------------------------------------------------------------------

    async def test_attendees_roles_and_replacement(self, target: Target) -> None:
        event_id = await target.create(
            {
                "title": "Review",
                "attendees": [
                    {"email": "ada@example.org", "display_name": "Ada Lovelace"},
                    {"email": "bob@example.org", "is_optional": True},
                    {"email": "cy@example.org", "display_name": 'Cy, "the" reviewer'},
                ],
                **timed("2026-03-01T10:00:00Z", "2026-03-01T11:00:00Z"),
            }
        )
        event = await target.get(event_id)
        guests = [a for a in event["attendees"] if not a["is_organizer"]]
        assert [(a["email"], a["display_name"], a["type"]) for a in guests] == [
            ("ada@example.org", "Ada Lovelace", "required"),
            ("bob@example.org", "", "optional"),
            ("cy@example.org", 'Cy, "the" reviewer', "required"),
        ]
        r = await target.patch(event_id, {"attendees": [{"email": "dee@example.org"}]})
        assert r.status_code == 200, r.text
        event = await target.get(event_id)
        guests = [a for a in event["attendees"] if not a["is_organizer"]]
        assert [a["email"] for a in guests] == ["dee@example.org"]

    # errors ---------------------------------------------------------------------------------

    async def test_unknown_event_is_404(self, target: Target) -> None:
        for method, body in (("GET", None), ("PATCH", {"title": "x"}), ("DELETE", None)):
            r = await target.call(method, target.event("nope"), json=body)
            assert r.status_code == 404, (method, r.text)
            assert error_type(r) == "errors/resource_not_found"

    async def test_unknown_calendar_is_404(self, target: Target) -> None:
        body = {"title": "x", **timed("2026-01-01T10:00:00Z", "2026-01-01T11:00:00Z")}
        for method, url, json in (
            ("POST", target.events("missing"), body),
            ("GET", target.events("missing"), None),
            ("GET", f"{target.events('missing')}/nope", None),
            ("GET", "/api/v1/calendars/missing", None),
        ):
            r = await target.call(method, url, json=json)
            assert r.status_code == 404, (method, url, r.text)
            assert error_type(r) == "errors/resource_not_found"
            assert "calendar" in r.json()["detail"]

    @pytest.mark.parametrize(
        ("body", "needle"),
        [
            ({"start": {"date_time": "2026-01-01T10:00:00Z"}}, "title"),
            ({"title": "x", "start": {"date_time": "2026-01-01T10:00:00Z"},
              "end": {"date_time": "2026-01-01T09:00:00Z"}}, "end"),
            ({"title": "x", "start": {"date": "2026-01-01"}, "end": {"date": "2026-01-02"},
              "recurrence": ["RRULE:FREQ=WEEKLY;BYDAY=XX"]}, "recurrence"),
            ({"title": "x", "start": {"date": "2026-01-01"}, "end": {"date": "2026-01-02"},
              "colour": "#FF0000"}, "colour"),
            ({"title": "x", "start": {"date_time": "2026-01-01T10:00:00", "time_zone": "Mars/Base"},
              "end": {"date_time": "2026-01-01T11:00:00Z"}}, "time_zone"),
        ],
    )  # fmt: skip
    async def test_bad_input_is_400(
        self, target: Target, body: dict[str, Any], needle: str
    ) -> None:
        r = await target.call("POST", target.events(), json=body)
        assert r.status_code == 400, r.text
        assert error_type(r) == "errors/invalid_parameters"
        assert needle in r.json()["detail"]
        assert await target.list() == []

    # calendars ------------------------------------------------------------------------------

    async def test_calendars_list_and_get(self, target: Target) -> None:
        r = await target.call("GET", "/api/v1/calendars")
        assert r.status_code == 200, r.text
        listed = {c["id"]: c for c in r.json()["data"]}
        assert target.calendar_id in listed
        r = await target.call("GET", f"/api/v1/calendars/{target.calendar_id}")
        assert r.status_code == 200, r.text
        assert r.json() == listed[target.calendar_id]
        assert r.json()["object"] == "Calendar"
