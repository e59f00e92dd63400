"""The v2 request bodies and answers: what differs from v1 (typed times, ``background_color``,
``notify`` as a word, the ``skype`` conference kind); the rest is v1's fields under v1's names.

Names, enums and required fields follow the models of Unipile's official OpenAPI-generated
Python client ("Unipile" 2.0.0): ``CreateCalendarEventRequest``, ``UpdateCalendarEventRequest``,
``CreateCalendarEvent201Response`` (the event), ``GetCalendarsList200ResponseDataInner`` (the
calendar), ``GetCalendarEventList200ResponseDataInnerStartAnyOf``/``…AnyOf1`` (the times)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, create_model

from calgate.api.schemas import (
    CalendarEventOut,
    CalendarList,
    CalendarOut,
    Color,
    EventList,
    Strict,
    Text,
    _EventBody,
)
from calgate.domain.limits import MAX_CONFERENCE_ID, MAX_CONFERENCE_URL, MAX_TITLE

Notify = Literal["all", "externalOnly", "none"]


# ``type`` of a v2 time (``…StartAnyOf``: ``datetime``, ``…StartAnyOf1``: ``date``);
# ``date_time`` is taken too (calgate's first v2 answers wrote it).
TimeType = Literal["datetime", "date_time", "date"]


class EventTimeV2(Strict):
    """`{"type": "datetime", "date_time": "2026-05-28T08:00:00Z"}` or
    `{"type": "date", "date": "YYYY-MM-DD"}` (all-day; v2's end date is inclusive). `type` may
    be left out; `timezone` (or `time_zone`) makes `date_time` a wall time there."""

    type: TimeType | None = None
    date_time: Text | None = Field(None, examples=["2026-05-28T10:00:00"])
    timezone: Text | None = Field(None, examples=["Europe/Paris"])
    time_zone: Text | None = Field(None, description="Same as `timezone`.")
    date: Text | None = Field(None, examples=["2026-05-28"])


class ConferenceV2(Strict):
    provider: Literal["google_meet", "zoom", "skype", "teams", "unknown"]
    url: Annotated[str, StringConstraints(strict=True, max_length=MAX_CONFERENCE_URL)] | None = None
    conference_id: (
        Annotated[str, StringConstraints(strict=True, max_length=MAX_CONFERENCE_ID)] | None
    ) = None


class _EventBodyV2(_EventBody):
    """v1's event fields but ``color`` (``background_color`` here), ``notify`` (a word)."""

    color: None = Field(None, description="Not in v2: use `background_color`.")
    background_color: Color | None = Field(None, description="`#RRGGBB` (as v1's `color`).")
    notify: Notify | None = Field(  # type: ignore[assignment]
        None, description="Who is told: `all` attendees or `none` (`externalOnly`: 501)."
    )
    conference: ConferenceV2 | None = None  # type: ignore[assignment]
    visibility: Literal["public", "private"] | None = None  # CreateCalendarEventRequest
    name: Annotated[str, StringConstraints(strict=True, max_length=MAX_TITLE)] | None = Field(
        None, description="Same as `title` (the name v2's create-event guide uses)."
    )


class EventCreateV2(_EventBodyV2):
    """Body of `POST /v2/{account_id}/calendars/{calendar_id}/events`: `title` (or `name`),
    `start` and `end` required."""

    title: Annotated[str, StringConstraints(strict=True, max_length=MAX_TITLE)] | None = None
    start: EventTimeV2
    end: EventTimeV2

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={
            "examples": [
                {
                    "title": "Weekly sync",
                    "start": {"type": "datetime", "date_time": "2026-05-28T08:00:00Z"},
                    "end": {"type": "datetime", "date_time": "2026-05-28T09:00:00Z"},
                    "attendees": [{"email": "ada@example.org", "display_name": "Ada"}],
                    "background_color": "#039BE5",
                    "notify": "none",
                }
            ]
        },
    )


class EventPatchV2(_EventBodyV2):
    """Body of `PATCH …/events/{event_id}`: any subset of the create fields."""

    title: Annotated[str, StringConstraints(strict=True, max_length=MAX_TITLE)] | None = None
    start: EventTimeV2 | None = None
    end: EventTimeV2 | None = None


# Responses (documentation; the generated client of tests/test_v2_client.py checks them) ------
# v1's answer models with v2's changes: one list of fields, not two. Fields beyond the official
# models (``ical_uid``, ``version`` …) are calgate's; the official client ignores them.


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EventTimeV2Out(_Out):
    """``…StartAnyOf`` (``datetime``: ``date_time`` in UTC, ``…Z``) or ``…StartAnyOf1``
    (``date``); ``timezone``, the zone the event was given in, is calgate's."""

    type: Literal["datetime", "date"]
    date_time: str | None = None
    timezone: str | None = None
    date: str | None = None


def _v2_answer(name: str, v1: type[BaseModel], changes: dict[str, Any]) -> type[BaseModel]:
    """The v1 answer model ``v1`` as v2's: each field named in ``changes`` replaced by its
    ``(type, default)`` (dropped when ``None``), new names appended."""
    fields: dict[str, Any] = {}
    for key, info in v1.model_fields.items():
        if changes.get(key, ...) is None:
            continue
        fields[key] = changes.get(key, (info.annotation, info))
    fields |= {k: v for k, v in changes.items() if k not in v1.model_fields}
    model: type[BaseModel] = create_model(name, __base__=_Out, **fields)
    return model


CalendarEventV2 = _v2_answer(
    "CalendarEventV2",
    CalendarEventOut,
    {
        "start": (EventTimeV2Out, ...),
        "end": (EventTimeV2Out, ...),
        "master_event_id": (str | None, Field(description="null unless an occurrence.")),
        "visibility": (Literal["public", "private"], ...),
        "color": None,
        "background_color": (str | None, ...),
        "text_color": (str | None, ...),
    },
)
CalendarV2 = _v2_answer("CalendarV2", CalendarOut, {"foreground_color": None})

_TOTAL = Field(description="null: the provider does not tell.")
CalendarEventListV2 = _v2_answer(
    "CalendarEventListV2",
    EventList,
    {
        "object": None,  # v2 lists are {data, total_count, next_cursor}
        "data": (list[CalendarEventV2], ...),  # type: ignore[valid-type]
        "total_count": (int | None, _TOTAL),
    },
)
CalendarListV2 = _v2_answer(
    "CalendarListV2",
    CalendarList,
    {
        "object": None,
        "data": (list[CalendarV2], ...),  # type: ignore[valid-type]
        "total_count": (int | None, _TOTAL),
    },
)
