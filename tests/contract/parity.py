"""What Unipile v1 clients rely on, on every provider (issue 11): ``account_id`` in bodies,
``offset`` paging, ``event_type`` filtering, an organizer on every event, calendar management.

Mixed into each provider's contract class beside :class:`tests.contract.suite.ContractSuite`
(same ``target`` fixture); provider differences come from the capabilities only.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.contract.suite import Target, error_type, timed, titles


async def _five(target: Target) -> None:
    for day in range(1, 6):
        body = {"title": f"P{day}", **timed(f"2026-05-0{day}T09:00:00", f"2026-05-0{day}T10:00:00")}
        await target.create(body)


async def _page(target: Target, **params: str) -> tuple[list[str], str | None]:
    r = await target.call("GET", target.events(), params=params)
    assert r.status_code == 200, r.text
    return titles(r.json()["data"]), r.json()["next_cursor"]


class ParitySuite:
    pytestmark = pytest.mark.anyio

    async def test_account_id_in_the_body(self, target: Target) -> None:
        api = target.api
        headers = {"X-API-KEY": api.a.key}
        body = {"title": "Body account", **timed("2026-05-04T09:00:00", "2026-05-04T10:00:00")}
        r = await api.client.post(
            target.events(), json={**body, "account_id": target.account_id}, headers=headers
        )
        assert r.status_code == 200, r.text
        event_id = r.json()["event_id"]
        r = await api.client.patch(
            target.event(event_id),
            json={"account_id": target.account_id, "title": "Renamed"},
            headers=headers,
        )
        assert r.status_code == 200, r.text
        assert (await target.get(event_id))["title"] == "Renamed"
        r = await target.call("POST", target.events(), json={**body, "account_id": "other"})
        assert r.status_code == 400 and r.json()["detail"].startswith("account_id"), r.text

    async def test_offset_paging(self, target: Target) -> None:
        await _five(target)
        window = {"start": "2026-05-01T00:00:00Z", "end": "2026-05-07T00:00:00Z"}
        assert (await _page(target, **window, limit="2", offset="2"))[0] == ["P3", "P4"]
        found, cursor = await _page(target, **window, limit="2", offset="3")
        assert found == ["P4", "P5"]
        if cursor:  # a provider may only find out on the next page that nothing is left
            assert await _page(target, **window, cursor=cursor) == ([], None)
        assert (await _page(target, **window, limit="3", offset="5"))[0] == []
        r = await target.call("GET", target.events(), params={"offset": "1", "cursor": "c"})
        assert r.status_code == 400 and r.json()["detail"].startswith("offset"), r.text

    async def test_event_type_filter(self, target: Target) -> None:
        await _five(target)
        window = {"start": "2026-05-01T00:00:00Z", "end": "2026-05-07T00:00:00Z"}
        assert len((await _page(target, **window, event_type="default"))[0]) == 5
        missing = [t for t in ("birthday", "focusTime") if t not in target.caps["event_types"]]
        if missing:
            assert await _page(target, **window, event_type=",".join(missing)) == ([], None)
        everything = ",".join(target.caps["event_types"])
        assert len((await _page(target, **window, event_type=everything))[0]) == 5
        r = await target.call("GET", target.events(), params={"event_type": "meeting"})
        assert r.status_code == 400 and r.json()["detail"].startswith("event_type"), r.text

    async def test_every_event_has_an_organizer(self, target: Target) -> None:
        r = await target.api.call("GET", f"/api/v1/accounts/{target.account_id}")
        email = r.json()["connection_params"]["calendar"].get("email") or ""
        event_id = await target.create(
            {"title": "Org", **timed("2026-05-04T09:00:00", "2026-05-04T10:00:00")}
        )
        event = await target.get(event_id)
        assert set(event["organizer"]) == {"email", "display_name"}
        assert event["organizer"]["email"].lower() == email.lower()
        listed = await target.list(start="2026-05-01T00:00:00Z", end="2026-05-07T00:00:00Z")
        assert [e["organizer"]["email"].lower() for e in listed] == [email.lower()]

    async def test_calendar_management(self, target: Target) -> None:
        caps = target.caps
        body: dict[str, Any] = {
            "name": "Projects",
            "description": "Launch plans",
            "background_color": "#0B8043",
            "timezone": "Europe/Berlin",
        }
        if not caps["calendar_management"]:
            r = await target.call("POST", "/api/v1/calendars", json={"name": "Projects"})
            assert r.status_code == 501, r.text
            return
        unheld = [name for name in body if name != "name" and name not in caps["calendar_fields"]]
        for name in unheld:
            r = await target.call("POST", "/api/v1/calendars", json={"name": "X", name: body[name]})
            assert r.status_code == 501 and r.json()["detail"].startswith(name), r.text
        body = {k: v for k, v in body.items() if k not in unheld}
        r = await target.call("POST", "/api/v1/calendars", json=body)
        assert r.status_code == 201, r.text
        calendar_id = r.json()["calendar_id"]
        url = f"/api/v1/calendars/{calendar_id}"
        r = await target.call("GET", url)
        assert r.status_code == 200, r.text
        assert {k: r.json()[k] for k in body} == body
        assert r.json()["is_primary"] is False
        r = await target.call("GET", "/api/v1/calendars")
        assert calendar_id in [c["id"] for c in r.json()["data"]]

        changes = {
            "name": "Projects 2026",
            **{
                k: v
                for k, v in (
                    ("description", "Dates moved"),
                    ("background_color", "#D50000"),
                    ("timezone", "Asia/Tokyo"),
                )
                if k in body
            },
        }
        r = await target.call("PATCH", url, json=changes)
        assert r.status_code == 200, r.text
        assert {k: r.json()[k] for k in changes} == changes
        r = await target.call("GET", url)
        assert {k: r.json()[k] for k in changes} == changes
        r = await target.call("PATCH", url, json={"nom": "x"})
        assert r.status_code == 400 and r.json()["detail"].startswith("nom"), r.text
        r = await target.call("PATCH", url, json={})
        assert r.status_code == 400, r.text

        event = {"title": "Inside", **timed("2026-05-04T09:00:00", "2026-05-04T10:00:00")}
        r = await target.call("POST", f"{url}/events", json=event)
        assert r.status_code == 200, r.text

        r = await target.call("DELETE", url)
        assert r.status_code == 200, r.text
        assert r.json() == {"object": "CalendarDeleted"}
        r = await target.call("GET", url)
        assert r.status_code == 404, r.text
        r = await target.call("GET", "/api/v1/calendars")
        assert calendar_id not in [c["id"] for c in r.json()["data"]]

    async def test_primary_calendar_is_not_deleted(self, target: Target) -> None:
        if not target.caps["calendar_management"]:
            return
        r = await target.call("GET", "/api/v1/calendars")
        (primary,) = [c["id"] for c in r.json()["data"] if c["is_primary"]]
        r = await target.call("DELETE", f"/api/v1/calendars/{primary}")
        assert r.status_code == 400, r.text
        assert error_type(r) == "errors/invalid_parameters"
        assert "primary" in r.json()["detail"]
        assert (await target.call("GET", f"/api/v1/calendars/{primary}")).status_code == 200
