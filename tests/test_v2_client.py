"""A typed client generated from calgate's own v2 OpenAPI document (datamodel-code-generator)
drives the v2 routes: its request models build the bodies, its response models (which refuse
unknown fields) parse every answer, so the document is proven to describe the real answers.

Every answer is also held to the models of Unipile's official OpenAPI-generated Python client
("Unipile" 2.0.0): the required fields, types and enums below are copied from them (the client
itself is not used here), and the bodies sent are what its request models write."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from tests.conftest import Api

pytestmark = pytest.mark.anyio


def generate(spec: dict[str, Any], where: Path) -> ModuleType:
    source, target = where / "openapi.json", where / "v2_models.py"
    source.write_text(json.dumps(spec))
    command = [
        sys.executable,
        "-m",
        "datamodel_code_generator",
        "--input",
        str(source),
        "--input-file-type",
        "openapi",
        "--output",
        str(target),
        "--output-model-type",
        "pydantic_v2.BaseModel",
        "--disable-timestamp",
    ]
    subprocess.run(command, check=True, capture_output=True)
    name = f"v2_models_{abs(hash(where))}"
    spec_ = importlib.util.spec_from_file_location(name, target)
    assert spec_ is not None and spec_.loader is not None
    module = importlib.util.module_from_spec(spec_)
    sys.modules[name] = module  # pydantic resolves the generated generics through it
    spec_.loader.exec_module(module)
    return module


# Required fields of the official client's answer models, with the JSON type each must have.
_STR, _BOOL = (str,), (bool,)
OFFICIAL: dict[str, dict[str, tuple[type, ...]]] = {
    "CreateCalendarEvent201Response": {  # also GetCalendarEventList200ResponseDataInner
        "object": _STR,
        "id": _STR,
        "calendar_id": _STR,
        "created_at": _STR,
        "updated_at": _STR,
        "title": _STR,
        "is_cancelled": _BOOL,
        "is_all_day": _BOOL,
        "is_attendees_list_hidden": _BOOL,
        "start": (dict,),
        "end": (dict,),
        "organizer": (dict,),
        "visibility": _STR,
        "transparency": _STR,
        "event_type": _STR,
    },
    "GetCalendarEventList200ResponseDataInnerAttendeesInner": {
        "email": _STR,
        "is_organizer": _BOOL,
        "is_optional": _BOOL,
        "is_resource": _BOOL,
        "type": _STR,
        "response_status": _STR,
    },
    "GetCalendarEventList200ResponseDataInnerOrganizer": {"email": _STR},
    "GetCalendarEventList200ResponseDataInnerConference": {"provider": _STR, "url": _STR},
    "GetCalendarEventList200ResponseDataInnerStartAnyOf": {"type": _STR, "date_time": _STR},
    "GetCalendarEventList200ResponseDataInnerStartAnyOf1": {"type": _STR, "date": _STR},
    "GetCalendarsList200ResponseDataInner": {
        "object": _STR,
        "id": _STR,
        "name": _STR,
        "is_read_only": _BOOL,
        "is_owned_by_user": _BOOL,
        "is_default": _BOOL,
        "background_color": _STR,
    },
    # also GetCalendarEventList200Response; total_count (a number) and next_cursor optional
    "GetCalendarsList200Response": {"data": (list,)},
}
# Their enums (the field_validators of the same models).
ENUMS: dict[str, dict[str, set[str]]] = {
    "CreateCalendarEvent201Response": {
        "object": {"CalendarEvent"},
        "visibility": {"public", "private"},
        "transparency": {"opaque", "transparent"},
    },
    "GetCalendarEventList200ResponseDataInnerAttendeesInner": {
        "type": {"required", "optional", "resource"},
        "response_status": {"yes", "no", "maybe", "noreply"},
    },
    "GetCalendarEventList200ResponseDataInnerConference": {
        "provider": {"google_meet", "zoom", "skype", "teams", "unknown"}
    },
    "GetCalendarEventList200ResponseDataInnerStartAnyOf": {"type": {"datetime"}},
    "GetCalendarEventList200ResponseDataInnerStartAnyOf1": {"type": {"date"}},
    "GetCalendarsList200ResponseDataInner": {"object": {"Calendar"}},
}
# Optional fields that are strings when present (StrictStr: null only where Optional).
OPTIONAL_STR = {
    "CreateCalendarEvent201Response": {"master_event_id", "body", "location", "text_color"},
    "GetCalendarsList200ResponseDataInner": {"description", "text_color", "timezone"},
}


def official(model: str, value: Any) -> None:
    """``value`` (an answer's JSON) as the official client's ``model`` reads it."""
    assert isinstance(value, dict), (model, value)
    for name, types in OFFICIAL[model].items():
        assert isinstance(value.get(name), types), (model, name, value.get(name))
    for name, allowed in ENUMS.get(model, {}).items():
        assert value[name] in allowed, (model, name, value[name])
    for name in OPTIONAL_STR.get(model, set()):
        assert value.get(name) is None or isinstance(value[name], str), (model, name)


def official_event(event: Any) -> None:
    official("CreateCalendarEvent201Response", event)
    for name in ("start", "end"):
        kind = "AnyOf1" if event[name]["type"] == "date" else "AnyOf"
        official(f"GetCalendarEventList200ResponseDataInnerStart{kind}", event[name])
    official("GetCalendarEventList200ResponseDataInnerOrganizer", event["organizer"])
    for attendee in event.get("attendees") or []:
        official("GetCalendarEventList200ResponseDataInnerAttendeesInner", attendee)
    if event.get("conference") is not None:
        official("GetCalendarEventList200ResponseDataInnerConference", event["conference"])
    assert all(isinstance(line, str) for line in event.get("recurrence") or [])


def official_list(page: Any, item: Any) -> None:
    official("GetCalendarsList200Response", page)
    assert page.get("next_cursor") is None or isinstance(page["next_cursor"], str)
    assert page.get("total_count") is None or isinstance(page["total_count"], int)
    for one in page["data"]:
        item(one)


def official_calendar(calendar: Any) -> None:
    official("GetCalendarsList200ResponseDataInner", calendar)


class Client:
    """What a v2 client written from the document does: models in, models out."""

    def __init__(self, api: Api, models: ModuleType, account_id: str) -> None:
        self.http, self.m = api.client, models
        self.headers = {"X-API-KEY": api.a.key}
        self.base = f"/v2/{account_id}/calendars"

    async def _send(self, method: str, url: str, body: Any = None, **kw: Any) -> httpx.Response:
        if body is not None:
            kw["content"] = body.model_dump_json(exclude_none=True)
            kw["headers"] = {**self.headers, "content-type": "application/json"}
        r = await self.http.request(method, url, headers=kw.pop("headers", self.headers), **kw)
        return r

    async def calendars(self) -> Any:
        r = await self._send("GET", self.base)
        assert r.status_code == 200, r.text
        official_list(r.json(), official_calendar)
        return self.m.CalendarListV2.model_validate(r.json())

    async def create_calendar(self, body: Any) -> Any:
        r = await self._send("POST", self.base, body)
        assert r.status_code == 201, r.text
        official_calendar(r.json())
        return self.m.CalendarV2.model_validate(r.json())

    async def create_event(self, calendar_id: str, body: Any) -> Any:
        r = await self._send("POST", f"{self.base}/{calendar_id}/events", body)
        assert r.status_code == 201, r.text
        official_event(r.json())
        return self.m.CalendarEventV2.model_validate(r.json())

    async def events(self, calendar_id: str, **params: str) -> Any:
        r = await self._send("GET", f"{self.base}/{calendar_id}/events", params=params)
        assert r.status_code == 200, r.text
        official_list(r.json(), official_event)
        return self.m.CalendarEventListV2.model_validate(r.json())

    async def patch_event(self, calendar_id: str, event_id: str, body: Any) -> Any:
        r = await self._send("PATCH", f"{self.base}/{calendar_id}/events/{event_id}", body)
        assert r.status_code == 200, r.text
        official_event(r.json())
        return self.m.CalendarEventV2.model_validate(r.json())

    async def calendar(self, calendar_id: str) -> Any:
        r = await self._send("GET", f"{self.base}/{calendar_id}")
        assert r.status_code == 200, r.text
        official_calendar(r.json())
        return self.m.CalendarV2.model_validate(r.json())

    async def patch_calendar(self, calendar_id: str, body: Any) -> Any:
        r = await self._send("PATCH", f"{self.base}/{calendar_id}", body)
        assert r.status_code == 200, r.text
        official_calendar(r.json())
        return self.m.CalendarV2.model_validate(r.json())

    async def event(self, calendar_id: str, event_id: str) -> Any:
        r = await self._send("GET", f"{self.base}/{calendar_id}/events/{event_id}")
        assert r.status_code == 200, r.text
        official_event(r.json())
        return self.m.CalendarEventV2.model_validate(r.json())

    async def no_content(self, method: str, url: str, body: Any = None) -> None:
        r = await self._send(method, url, body)
        assert r.status_code == 204 and r.content == b"", r.text

    async def error(self, method: str, url: str, status: int, body: Any = None) -> str:
        r = await self._send(method, url, body)
        assert r.status_code == status, r.text
        assert set(r.json()) == {"object", "type", "status", "title", "detail", "req_id"}, r.text
        return str(r.json()["type"])


async def test_generated_client_drives_v2(api: Api, tmp_path: Path) -> None:
    spec = (await api.client.get("/openapi.json")).json()
    groups = {g["name"]: g["tags"] for g in spec["x-tagGroups"]}
    assert groups["Unipile API v2"] == ["v2 · Calendars", "v2 · Calendar events", "v2 · Webhooks"]
    m = generate(spec, tmp_path)
    client = Client(api, m, api.a.account_id)
    listing = await client.calendars()
    assert listing.total_count == len(listing.data) >= 1
    calendar = await client.create_calendar(
        m.CalendarCreate(name="Generated", background_color="#0B8043")
    )
    assert calendar.name == "Generated" and calendar.background_color == "#0B8043"
    body = m.EventCreateV2(
        title="Typed",
        start=m.EventTimeV2(type="datetime", date_time="2026-03-02T09:00:00Z"),
        end=m.EventTimeV2(type="datetime", date_time="2026-03-02T10:00:00Z"),
        attendees=[m.AttendeeIn(email="ada@example.org", display_name="Ada")],
        background_color="#039BE5",
        notify="none",
    )
    event = await client.create_event(calendar.id, body)
    assert event.title == "Typed" and event.start.date_time == "2026-03-02T09:00:00.000Z"
    assert [a.response_status.value for a in event.attendees if not a.is_organizer] == ["noreply"]
    moved = await client.patch_event(calendar.id, event.id, m.EventPatchV2(title="Typed 2"))
    assert moved.title == "Typed 2" and moved.id == event.id
    page = await client.events(
        calendar.id, start="2026-03-01T00:00:00Z", end="2026-03-03T00:00:00Z"
    )
    assert [e.id for e in page.data] == [event.id] and page.next_cursor is None


async def test_generated_client_drives_every_v2_calendar_route(api: Api, tmp_path: Path) -> None:
    """Read, edit and delete calendars and events, answer, cancel and restore, with the models
    generated from the document; every 204 has no body, every refusal is the error shape."""
    m = generate((await api.client.get("/openapi.json")).json(), tmp_path)
    client = Client(api, m, api.a.account_id)
    made = await client.create_calendar(m.CalendarCreate(name="Routes"))
    assert (await client.calendar(made.id)).name == "Routes"
    renamed = await client.patch_calendar(made.id, m.CalendarPatch(name="Routes 2"))
    assert renamed.name == "Routes 2" and renamed.id == made.id
    body = m.EventCreateV2(
        title="Day off",
        start=m.EventTimeV2(date="2026-03-04"),
        end=m.EventTimeV2(date="2026-03-04"),
    )
    day = await client.create_event(made.id, body)
    assert day.end.date == "2026-03-04" and day.is_all_day  # one day: v2's end is inclusive
    assert (await client.event(made.id, day.id)).title == "Day off"
    events = f"{client.base}/{made.id}/events"
    kind = await client.error("POST", f"{events}/{day.id}/cancel", 501, m.CancelV2(message="x"))
    assert kind == "api/feature_not_implemented"  # LOCAL sends no message to attendees
    kind = await client.error("POST", f"{events}/{day.id}/rsvp", 400, m.RsvpV2(status="maybe"))
    assert kind == "api/invalid_parameters"  # the account organises it: nothing to answer
    await client.no_content("DELETE", f"{events}/{day.id}")
    assert await client.error("GET", f"{events}/{day.id}", 404) == "api/resource_not_found"
    other = await client.create_event(made.id, body)
    await client.no_content("POST", f"{events}/{other.id}/cancel")
    assert await client.error("GET", f"{events}/{other.id}", 404) == "api/resource_not_found"
    kind = await client.error("POST", f"{events}/{other.id}/restore", 501)
    assert kind == "api/feature_not_implemented"
    await client.no_content("DELETE", f"{client.base}/{made.id}")
    assert await client.error("GET", f"{client.base}/{made.id}", 404) == "api/resource_not_found"


async def test_bodies_as_the_official_client_writes_them(api: Api) -> None:
    """The JSON the official client's request models send (``to_dict``: defaults included,
    None left out) is taken, and every answer reads as its answer models."""
    headers = {"X-API-KEY": api.a.key}
    base = f"/v2/{api.a.account_id}/calendars"

    async def send(method: str, url: str, body: Any, status: int) -> Any:
        r = await api.client.request(method, url, json=body, headers=headers)
        assert r.status_code == status, r.text
        return r.json()

    # CreateCalendarRequest: name required; description, background_color
    calendar = await send("POST", base, {"name": "Official", "description": "d"}, 201)
    official_calendar(calendar)
    assert calendar["object"] == "Calendar" and calendar["description"] == "d"
    # UpdateCalendarRequest: every field optional
    changed = await send("PATCH", f"{base}/{calendar['id']}", {"background_color": "#0B8043"}, 200)
    official_calendar(changed)
    assert changed["background_color"] == "#0B8043"
    events = f"{base}/{calendar['id']}/events"
    # CreateCalendarEventRequest: title, attendees, start, end required; transparency
    # ("opaque") and visibility ("public") sent as their defaults; start/end are
    # GetCalendarEventList200ResponseDataInnerStartAnyOf ({type: "datetime", date_time}).
    body = {
        "title": "Official",
        "body": "Agenda",
        "transparency": "opaque",
        "visibility": "public",
        "attendees": [{"email": "ada@example.org"}],
        "start": {"type": "datetime", "date_time": "2026-03-09T09:00:00Z"},
        "end": {"type": "datetime", "date_time": "2026-03-09T10:00:00Z"},
    }
    event = await send("POST", events, body, 201)
    official_event(event)
    assert event["object"] == "CalendarEvent" and event["body"] == "Agenda"
    assert event["start"] == {
        "type": "datetime",
        "date_time": "2026-03-09T09:00:00.000Z",
        "timezone": "UTC",
    }
    assert event["visibility"] == "public" and event["transparency"] == "opaque"
    # UpdateCalendarEventRequest: all optional, notify sent as its default "all"; an all-day
    # time is …StartAnyOf1 ({type: "date", date}), its end date inclusive.
    day = {"type": "date", "date": "2026-03-10"}
    patch = {"title": "Official 2", "start": day, "end": day, "notify": "all"}
    moved = await send("PATCH", f"{events}/{event['id']}", patch, 200)
    official_event(moved)
    assert moved["is_all_day"] and moved["start"] == moved["end"] == day
    # GetCalendarEventList200Response
    page = await send("GET", f"{events}?start=2026-03-01T00:00:00Z&limit=20", None, 200)
    official_list(page, official_event)
    assert [e["id"] for e in page["data"]] == [event["id"]]
    # GetCalendarsList200Response
    official_list(await send("GET", base, None, 200), official_calendar)
    # visibility outside the official enum is refused (CreateCalendarEventRequest)
    r = await api.client.post(events, json={**body, "visibility": "default"}, headers=headers)
    assert r.status_code == 400 and r.json()["detail"].startswith("visibility"), r.text


async def test_generated_client_reads_webhook_endpoints(api: Api, tmp_path: Path) -> None:
    """The webhook endpoint answers as the document describes them (WebhookEndpointV2 …)."""
    m = generate((await api.client.get("/openapi.json")).json(), tmp_path)
    headers = {"X-API-KEY": api.a.key}
    hooks = "/v2/webhooks/endpoints"
    body = m.EndpointCreate(
        trigger_events=["calendar.event.new"], url="https://hooks.example.org/g"
    ).model_dump_json(exclude_none=True)
    r = await api.client.post(
        hooks, content=body, headers={**headers, "content-type": "application/json"}
    )
    assert r.status_code == 200, r.text
    made = m.WebhookEndpointV2.model_validate(r.json())
    page = m.WebhookEndpointListV2.model_validate(
        (await api.client.get(hooks, headers=headers)).json()
    )
    assert [e.id for e in page.data] == [made.id] and not page.has_more
    patch = m.EndpointPatch(enabled=False).model_dump_json(exclude_none=True)
    r = await api.client.patch(
        f"{hooks}/{made.id}", content=patch, headers={**headers, "content-type": "application/json"}
    )
    assert m.WebhookEndpointV2.model_validate(r.json()).enabled is False
    r = await api.client.delete(f"{hooks}/{made.id}", headers=headers)
    assert m.RemovedV2.model_validate(r.json()).success is True
