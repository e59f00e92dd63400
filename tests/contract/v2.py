"""The same scenarios through Unipile v1 and v2, on every provider (issue 17): what one
version stores, the other reads back the same; v2 answers in its own shapes and codes.

Mixed into a class that has a provider's ``target`` fixture (see tests/contract/test_v2.py).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest

from tests.contract.suite import Target, error_type

# What differs between two events stored from equal bodies: who they are and when.
_IDENTITY = {"id", "ical_uid", "created_at", "updated_at", "version"}

V1_BODY: dict[str, Any] = {
    "title": "Parity",
    "body": "Both versions",
    "location": "Room 7",
    "start": {"date_time": "2026-06-02T09:00:00Z", "time_zone": "UTC"},
    "end": {"date_time": "2026-06-02T10:30:00Z", "time_zone": "UTC"},
    "attendees": [{"email": "ada@example.org", "display_name": "Ada"}],
    "transparency": "transparent",
    "visibility": "private",
    "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=3"],
    "color": "#039BE5",
    "notify": False,
}


_SPAN = {
    "start": {"date_time": "2026-06-05T09:00:00Z", "time_zone": "UTC"},
    "end": {"date_time": "2026-06-05T10:00:00Z", "time_zone": "UTC"},
}


def as_v2(v1: dict[str, Any]) -> dict[str, Any]:
    """The v2 body saying what the v1 body ``v1`` says."""
    out = {k: v for k, v in v1.items() if k not in ("color", "notify", "start", "end")}
    for name in ("start", "end"):
        if name in v1:
            # CreateCalendarEventRequestStart/End: type "datetime" or "date"
            given = {("timezone" if k == "time_zone" else k): v for k, v in v1[name].items()}
            kind = "date" if "date" in given else "datetime"
            out[name] = {"type": kind, **given}
            if kind == "date" and name == "end":  # v2's all-day end date is inclusive
                last = dt.date.fromisoformat(v1[name]["date"]) - dt.timedelta(days=1)
                out[name]["date"] = last.isoformat()
    if "color" in v1:
        out["background_color"] = v1["color"]
    if "notify" in v1:
        out["notify"] = "all" if v1["notify"] else "none"
    return out


class V2Target:
    """v2 URLs of a :class:`Target`'s account and calendar."""

    def __init__(self, target: Target) -> None:
        self.t = target
        self.base = f"/v2/{target.account_id}/calendars"

    def events(self) -> str:
        return f"{self.base}/{self.t.calendar_id}/events"

    async def call(
        self, method: str, url: str, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> httpx.Response:
        headers = {"X-API-KEY": self.t.api.a.key, **(headers or {})}
        return await self.t.api.client.request(method, url, headers=headers, **kwargs)

    async def create(self, body: dict[str, Any]) -> dict[str, Any]:
        r = await self.call("POST", self.events(), json=body)
        assert r.status_code == 201, r.text
        event: dict[str, Any] = r.json()
        return event


def stored(event: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in event.items() if k not in _IDENTITY}


def body_for(target: Target) -> dict[str, Any]:
    body = target.supported(V1_BODY)
    if target.caps["colors"] == "none":
        body.pop("color")
    return body


class V2Suite:
    pytestmark = pytest.mark.anyio

    async def test_v1_and_v2_store_the_same_event(self, target: Target) -> None:
        v2 = V2Target(target)
        body = body_for(target)
        one = await target.get(await target.create(body))
        made = await v2.create(as_v2(body))
        two = await target.get(made["id"])  # read back through v1
        assert stored(two) == stored(one)
        # v2's answer is the same event in v2's shape
        assert made["object"] == "CalendarEvent"  # CreateCalendarEvent201Response
        assert made["start"] == {
            "type": "datetime",
            "date_time": "2026-06-02T09:00:00.000Z",
            "timezone": "UTC",
        }
        assert made["visibility"] == "private" and made["master_event_id"] is None
        assert made["end"]["date_time"] == "2026-06-02T10:30:00.000Z"
        assert made["background_color"] == two["color"] and "color" not in made
        assert made["title"] == "Parity" and made["recurrence"] == body["recurrence"]
        assert [a["email"] for a in made["attendees"] if not a["is_organizer"]] == [
            "ada@example.org"
        ]
        assert {a["response_status"] for a in made["attendees"] if not a["is_organizer"]} == {
            "noreply"
        }
        assert made["organizer"] == two["organizer"]
        r = await v2.call("GET", f"{v2.events()}/{made['id']}")
        assert r.status_code == 200 and r.json() == {**made, "updated_at": r.json()["updated_at"]}

    async def test_v1_and_v2_edits_store_the_same_change(self, target: Target) -> None:
        v2 = V2Target(target)
        body = body_for(target)
        first, second = await target.create(body), (await v2.create(as_v2(body)))["id"]
        change = {
            "title": "Moved",
            "start": {"date_time": "2026-06-03T08:00:00Z", "time_zone": "UTC"},
            "end": {"date_time": "2026-06-03T09:00:00Z", "time_zone": "UTC"},
        }
        assert (await target.patch(first, change)).status_code == 200
        r = await v2.call("PATCH", f"{v2.events()}/{second}", json=as_v2(change))
        assert r.status_code == 200, r.text
        assert r.json()["title"] == "Moved" and r.json()["id"] == second
        assert stored(await target.get(second)) == stored(await target.get(first))

    async def test_patch_with_stale_version_is_409(self, target: Target) -> None:
        """v2's PATCH honours If-Match (the answer's version) as v1's does; it was ignored."""
        v2 = V2Target(target)
        timed = {
            "start": {"type": "datetime", "date_time": "2026-06-04T09:00:00Z"},
            "end": {"type": "datetime", "date_time": "2026-06-04T10:00:00Z"},
        }
        made = await v2.create({"title": "x", **timed})
        url = f"{v2.events()}/{made['id']}"
        r = await v2.call("PATCH", url, json={"title": "y"}, headers={"If-Match": made["version"]})
        assert r.status_code == 200 and r.json()["version"] != made["version"], r.text
        r = await v2.call("PATCH", url, json={"title": "z"}, headers={"If-Match": made["version"]})
        assert r.status_code == 409 and error_type(r) == "api/conflict", r.text
        r = await v2.call("PATCH", url, json={"title": "z"}, headers={"If-Match": "soon"})
        assert r.status_code == 400 and r.json()["detail"].startswith("If-Match"), r.text
        assert (await target.get(made["id"]))["title"] == "y"

    async def test_all_day_event_in_v2_shape(self, target: Target) -> None:
        v2 = V2Target(target)
        made = await v2.create(
            {
                "title": "Holiday",
                "start": {"type": "date", "date": "2026-06-10"},
                "end": {"type": "date", "date": "2026-06-11"},
            }
        )
        assert made["start"] == {"type": "date", "date": "2026-06-10"}
        assert made["end"] == {"type": "date", "date": "2026-06-11"}  # inclusive in v2
        assert made["is_all_day"] is True
        assert made["visibility"] == "public"  # the provider's default, as v2's enum has it
        stored_v1 = await target.get(made["id"])
        assert stored_v1["start"] == {"date": "2026-06-10"}
        assert stored_v1["end"] == {"date": "2026-06-12"}  # exclusive in v1 and iCalendar

    async def test_times_as_the_v2_guides_write_them(self, target: Target) -> None:
        """No `type`, wall time in `timezone`; a one-day event ends on its own date."""
        v2 = V2Target(target)
        made = await v2.create(
            {
                "title": "Guide",
                "start": {"date_time": "2026-06-15T10:00:00", "timezone": "Europe/Paris"},
                "end": {"date_time": "2026-06-15T11:00:00", "timezone": "Europe/Paris"},
            }
        )
        assert made["start"]["date_time"] == "2026-06-15T08:00:00.000Z"
        day = await v2.create(
            {"name": "Day", "start": {"date": "2026-06-16"}, "end": {"date": "2026-06-16"}}
        )
        assert day["title"] == "Day"  # `name`, as the v2 create guide writes it, is the title
        assert day["end"] == {"type": "date", "date": "2026-06-16"}
        assert (await target.get(day["id"]))["end"] == {"date": "2026-06-17"}
        r = await v2.call(
            "POST",
            v2.events(),
            json={
                "title": "x",
                "start": {
                    "date_time": "2026-06-15T10:00:00",
                    "timezone": "UTC",
                    "time_zone": "UTC",
                },
                "end": {"date_time": "2026-06-15T11:00:00", "timezone": "UTC"},
            },
        )
        assert r.status_code == 400 and r.json()["detail"].startswith("start.time_zone"), r.text
        days = {"start": {"date": "2026-06-16"}, "end": {"date": "2026-06-16"}}
        r = await v2.call("POST", v2.events(), json=days)
        assert r.status_code == 400 and r.json()["detail"].startswith("title"), r.text
        r = await v2.call("POST", v2.events(), json={"title": "a", "name": "b", **days})
        assert r.status_code == 400 and r.json()["detail"].startswith("name"), r.text

    async def test_list_delete_and_codes(self, target: Target) -> None:
        v2 = V2Target(target)
        ids = []
        for day in (1, 2, 3):
            span = f"2026-07-0{day}T09:00:00Z", f"2026-07-0{day}T10:00:00Z"
            ids.append(
                (
                    await v2.create(
                        {
                            "title": f"L{day}",
                            "start": {"type": "datetime", "date_time": span[0]},
                            "end": {"type": "datetime", "date_time": span[1]},
                        }
                    )
                )["id"]
            )
        window = {"start": "2026-07-01T00:00:00Z", "end": "2026-07-05T00:00:00Z"}
        r = await v2.call("GET", v2.events(), params={**window, "limit": "2", "offset": "1"})
        assert r.status_code == 200, r.text
        assert [e["title"] for e in r.json()["data"]] == ["L2", "L3"]
        assert set(r.json()) == {"data", "next_cursor", "total_count"}
        r = await v2.call("GET", v2.events(), params={**window, "title": "L2"})
        assert [e["title"] for e in r.json()["data"]] == ["L2"]
        # CalendarApi.get_calendar_event_list: offset and limit are numbers (its client writes
        # a float as 2.0); is_cancelled=true asks for the cancelled events too, not only them
        r = await v2.call("GET", v2.events(), params={**window, "limit": "2.0", "offset": "1.0"})
        assert [e["title"] for e in r.json()["data"]] == ["L2", "L3"], r.text
        for flag in ("true", "false"):
            r = await v2.call("GET", v2.events(), params={**window, "is_cancelled": flag})
            assert [e["title"] for e in r.json()["data"]] == ["L1", "L2", "L3"], r.text
        r = await v2.call("DELETE", f"{v2.events()}/{ids[0]}")
        assert r.status_code == 204 and r.content == b""
        r = await v2.call("GET", f"{v2.events()}/{ids[0]}")
        assert r.status_code == 404 and error_type(r) == "api/resource_not_found"
        r = await target.call("GET", target.event(ids[0]))
        assert r.status_code == 404  # gone for v1 too

    async def test_refusals_name_the_parameter(self, target: Target) -> None:
        v2 = V2Target(target)
        r = await v2.call("GET", v2.events(), params={"ofset": "1"})
        assert r.status_code == 400 and r.json()["detail"].startswith("ofset"), r.text
        timed = {  # "date_time" as the tag is still taken (calgate's first v2 answers)
            "start": {"type": "date_time", "date_time": "2026-06-02T09:00:00Z"},
            "end": {"type": "date_time", "date_time": "2026-06-02T10:00:00Z"},
        }
        r = await v2.call("POST", v2.events(), json={"title": "x", **timed, "color": "#039BE5"})
        assert r.status_code == 400 and r.json()["detail"].startswith("color"), r.text
        r = await v2.call(
            "POST", v2.events(), json={"title": "x", **timed, "notify": "externalOnly"}
        )
        assert r.status_code == 501 and r.json()["detail"].startswith("notify"), r.text
        # a v2 DELETE takes no body (v1's account_id there would be ignored, not checked)
        made = await v2.create({"title": "kept", **timed})
        url = f"{v2.events()}/{made['id']}"
        r = await v2.call("DELETE", url, json={"account_id": "someone-else"})
        assert r.status_code == 400 and r.json()["detail"].startswith("body"), r.text
        r = await v2.call("DELETE", f"{v2.base}/{target.calendar_id}", json={"force": True})
        assert r.status_code == 400 and r.json()["detail"].startswith("body"), r.text
        assert (await v2.call("GET", url)).status_code == 200
        assert (await v2.call("DELETE", url, json={})).status_code == 204  # says nothing
        bad = {**timed, "start": {"type": "date", "date_time": "2026-06-02T09:00:00Z"}}
        r = await v2.call("POST", v2.events(), json={"title": "x", **bad})
        assert r.status_code == 400 and r.json()["detail"].startswith("start.date"), r.text
        bad = {**timed, "start": {"type": "datetime", "date": "2026-06-02"}}
        r = await v2.call("POST", v2.events(), json={"title": "x", **bad})
        assert r.status_code == 400, r.text  # the message names v2's tag, not the field
        assert r.json()["detail"] == "start.date_time: required when type is datetime"
        r = await v2.call("POST", v2.events(), params={"account_id": "x"}, json={"title": "x"})
        assert r.status_code == 400 and r.json()["detail"].startswith("account_id"), r.text
        r = await v2.call("GET", v2.events(), params={"limit": "0"})
        assert r.status_code == 400 and r.json()["detail"].startswith("limit"), r.text
        other = f"/v2/{target.api.b.account_id}/calendars"
        r = await v2.call("GET", other)
        assert r.status_code == 404, r.text  # another tenant's account is not found
        r = await target.api.client.get(v2.base)
        assert r.status_code == 401 and set(r.json()) == {  # v2's error shape
            "object",
            "type",
            "status",
            "title",
            "detail",
            "req_id",
        }

    async def test_calendars(self, target: Target) -> None:
        v2 = V2Target(target)
        r = await v2.call("GET", v2.base)
        assert r.status_code == 200, r.text
        page = r.json()
        assert page["total_count"] == len(page["data"]) and page["next_cursor"] is None
        assert target.calendar_id in [c["id"] for c in page["data"]]
        r = await v2.call("GET", f"{v2.base}/{target.calendar_id}")
        v1 = (await target.call("GET", f"/api/v1/calendars/{target.calendar_id}")).json()
        assert r.status_code == 200 and r.json()["name"] == v1["name"]
        assert r.json()["object"] == "Calendar"  # GetCalendarsList200ResponseDataInner
        if not target.caps["calendar_management"]:
            r = await v2.call("POST", v2.base, json={"name": "Projects"})
            assert r.status_code == 501, r.text
            return
        r = await v2.call("POST", v2.base, json={"name": "Projects"})
        assert r.status_code == 201 and r.json()["name"] == "Projects", r.text
        calendar_id = r.json()["id"]
        r = await v2.call("PATCH", f"{v2.base}/{calendar_id}", json={"name": "Projects 2"})
        assert r.status_code == 200 and r.json()["name"] == "Projects 2", r.text
        v1 = (await target.call("GET", f"/api/v1/calendars/{calendar_id}")).json()
        assert v1["name"] == "Projects 2"
        r = await v2.call("DELETE", f"{v2.base}/{calendar_id}")
        assert r.status_code == 204, r.text
        r = await v2.call("GET", f"{v2.base}/{calendar_id}")
        assert r.status_code == 404, r.text

    async def test_cancel_and_restore(self, target: Target) -> None:
        v2 = V2Target(target)
        made = await v2.create(as_v2({"title": "Cancelled", **_SPAN}))
        url = f"{v2.events()}/{made['id']}"
        r = await v2.call("POST", f"{url}/cancel", json={"message": "Sorry"})
        assert r.status_code == 501 and r.json()["detail"].startswith("message:"), r.text
        assert (await v2.call("GET", url)).status_code == 200  # a refusal changes nothing
        r = await v2.call("POST", f"{url}/cancel")
        assert r.status_code == 204, r.text
        assert (await v2.call("GET", url)).status_code == 404
        r = await v2.call("POST", f"{url}/restore")
        assert r.status_code == 501 and r.json()["detail"].startswith("restore:"), r.text
        assert r.json()["type"] == "api/feature_not_implemented"
