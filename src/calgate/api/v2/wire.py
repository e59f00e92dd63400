"""Converters between the v2 wire shapes and v1's: a v2 body becomes the v1 body the shared
converters (:mod:`calgate.api.wire`) read, and a v1 answer becomes v2's."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, TypeVar

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from calgate.api.schemas import EventCreate, EventPatch
from calgate.api.v2.schemas import EventCreateV2, EventPatchV2, EventTimeV2
from calgate.api.wire import calendar_to_wire, event_to_wire, parse_bool
from calgate.domain.model import Calendar, Event
from calgate.domain.times import format_utc
from calgate.errors import FeatureNotImplemented, InvalidParameters

if TYPE_CHECKING:  # calgate.webhooks imports this module: a worker process may import it first
    from calgate.webhooks.store import Webhook

M = TypeVar("M", bound=BaseModel)

# v2 names -> v1 names of the same field.
_RENAMED = {"background_color": "color", "name": "title"}


def _time(value: EventTimeV2, name: str) -> dict[str, Any]:
    """A v2 time as v1's: ``type`` inferred when absent, ``timezone`` as v1's ``time_zone``,
    an all-day end made exclusive (v2 counts the end date in, v1 and iCalendar do not)."""
    given = value.model_dump(exclude_none=True)
    if "timezone" in given:
        if "time_zone" in given:
            raise InvalidParameters(f"{name}.time_zone: give timezone or time_zone, not both")
        given["time_zone"] = given.pop("timezone")
    tag = given.pop("type", None) or ("date" if "date" in given else "datetime")
    kind = "date_time" if tag == "datetime" else tag  # v2's tag, the field's name
    if kind not in given:
        raise InvalidParameters(f"{name}.{kind}: required when type is {tag}")
    other = "date" if kind == "date_time" else "date_time"
    if other in given:
        raise InvalidParameters(f"{name}.{other}: not with type {tag}")
    if kind == "date" and "time_zone" in given:
        raise InvalidParameters(f"{name}.timezone: not with a date")
    if kind == "date" and name == "end":
        try:
            last = dt.date.fromisoformat(given["date"])
        except ValueError:
            raise InvalidParameters(f"{name}.date: not a YYYY-MM-DD date") from None
        given["date"] = (last + dt.timedelta(days=1)).isoformat()
    return given


def whole(value: str | None) -> str | None:
    """A v2 ``offset``/``limit`` as v1 reads it: CalendarApi types them as numbers, which its
    client writes as ``20.0`` when given a float."""
    if value is not None and value.endswith(".0") and value[:-2].isdigit():
        return value[:-2]
    return value


def list_params(params: dict[str, str | None]) -> dict[str, str | None]:
    """The v2 event list's query as v1's: ``offset``/``limit`` as :func:`whole`, and
    ``is_cancelled`` as CalendarApi.get_calendar_event_list means it ("whether you want to
    retrieve the cancelled events": ``true`` keeps them with the others, ``false`` leaves
    them out), where v1's ``true`` asks for the cancelled ones only."""
    out = {**params, "offset": whole(params["offset"]), "limit": whole(params["limit"])}
    if parse_bool(params["is_cancelled"], "is_cancelled"):
        out["is_cancelled"] = None
    return out


def _notify(value: str, name: str) -> bool:
    if value == "externalOnly":
        raise FeatureNotImplemented(
            f"{name}: externalOnly is not supported (calgate cannot tell external guests "
            "apart); use all or none"
        )
    return value == "all"


def _v1_body(body: EventCreateV2 | EventPatchV2) -> dict[str, Any]:
    if "color" in body.model_fields_set:
        raise InvalidParameters("color: not a v2 field; use background_color")
    if {"name", "title"} <= body.model_fields_set:
        raise InvalidParameters("name: give title or name, not both")
    out: dict[str, Any] = {}
    for name in body.model_fields_set:
        value = getattr(body, name)
        if isinstance(value, EventTimeV2):
            out[name] = _time(value, name)
        elif name == "notify" and value is not None:
            out[name] = _notify(value, name)
        elif name == "conference" and value is not None and value.provider == "skype":
            raise FeatureNotImplemented(
                "conference.provider: skype meetings are not made or kept by calgate's "
                "providers; use teams, google_meet, zoom or unknown with its url"
            )
        elif isinstance(value, BaseModel):
            out[name] = value.model_dump(exclude_unset=True)
        elif isinstance(value, list):
            out[name] = [
                v.model_dump(exclude_unset=True) if isinstance(v, BaseModel) else v for v in value
            ]
        else:
            out[_RENAMED.get(name, name)] = value
    return out


def _as_v1(model: type[M], body: EventCreateV2 | EventPatchV2) -> M:
    try:
        return model.model_validate(_v1_body(body))
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        raise RequestValidationError(errors) from None


def create_from_v2(body: EventCreateV2) -> EventCreate:
    """The v1 create body saying what ``body`` says."""
    return _as_v1(EventCreate, body)


def patch_from_v2(body: EventPatchV2) -> EventPatch:
    return _as_v1(EventPatch, body)


def time_to_v2(value: dict[str, str], name: str = "start") -> dict[str, str]:
    """A v1 wire time as v2's (``…StartAnyOf``/``…AnyOf1``): typed, a timed one as its UTC
    instant (``…Z``) with calgate's ``timezone``, an all-day end as its last day (v2's end
    date is inclusive)."""
    if "date" in value:
        day = value["date"]
        if name == "end":
            day = (dt.date.fromisoformat(day) - dt.timedelta(days=1)).isoformat()
        return {"type": "date", "date": day}
    instant = dt.datetime.fromisoformat(value["date_time"])
    return {"type": "datetime", "date_time": format_utc(instant), "timezone": value["time_zone"]}


# v2's visibility is public or private (CreateCalendarEvent201Response); a provider's
# "default" (the calendar's own setting) reads as public, "confidential" as private.
_VISIBILITY = {"default": "public", "confidential": "private"}

# v2's calendar event webhook types (the trigger_events enum of CreateWebhookEndpointRequest).
WEBHOOK_TYPES = {
    "calendar_event_created": "calendar.event.new",
    "calendar_event_updated": "calendar.event.update",
    "calendar_event_deleted": "calendar.event.delete",
}


def wire_to_v2(event: dict[str, Any]) -> dict[str, Any]:
    """A v1 CalendarEvent (as ``event_to_wire`` gives it) in v2's shape
    (CreateCalendarEvent201Response)."""
    out = dict(event)
    out["master_event_id"] = event["master_event_id"] or None
    out["visibility"] = _VISIBILITY.get(event["visibility"], event["visibility"])
    out["background_color"] = out.pop("color")
    out["text_color"] = None  # events hold one colour; clients pick a readable text colour
    out["start"] = time_to_v2(event["start"])
    out["end"] = time_to_v2(event["end"], "end")
    return out


def event_to_v2(event: Event) -> dict[str, Any]:
    return wire_to_v2(event_to_wire(event))


def calendar_to_v2(calendar: Calendar) -> dict[str, Any]:
    """A calendar as v2's (GetCalendarsList200ResponseDataInner): v1's, less
    ``foreground_color`` (``text_color`` says it)."""
    out = calendar_to_wire(calendar)
    del out["foreground_color"]
    return out


# Ids as the official models write them (``^we_``, ``^app_``); a path id may leave ``we_`` out.
ID_PREFIX, APP_PREFIX = "we_", "app_"


def endpoint_to_v2(hook: Webhook, secret: str = "") -> dict[str, Any]:
    """A v2 webhook endpoint as CreateWebhookEndpoint200Response. ``secret`` is given on
    create only (calgate shows a secret once); ``account_targets`` is empty (calgate does not
    fill it)."""
    return {
        "object": "WebhookEndpoint",
        "id": ID_PREFIX + hook.id,
        "application_id": APP_PREFIX + hook.tenant_id,
        "enabled": hook.enabled,
        "description": hook.name or None,
        "url": hook.request_url,
        "trigger_events": [WEBHOOK_TYPES[e] for e in hook.events if e in WEBHOOK_TYPES],
        "secret": secret,
        "account_ids": hook.account_ids,
        "account_targets": [],
    }
