"""The v2 request bodies: what differs from v1 (typed times, ``background_color``, ``notify``
as a word, the ``skype`` conference kind); the rest is v1's fields under v1's names."""

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


class EventTimeV2(Strict):
    """`{"date_time": "2026-05-28T10:00:00", "timezone": "Europe/Paris"}` or
    `{"date": "YYYY-MM-DD"}` (all-day; v2's end date is inclusive). `type` may be given and
    must then match; `time_zone` is taken for `timezone`."""

    type: Literal["date_time", "date"] | None = None
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
                    "start": {"type": "date_time", "date_time": "2026-05-28T08:00:00.000Z"},
                    "end": {"type": "date_time", "date_time": "2026-05-28T09:00:00.000Z"},
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
# v1's answer models less `object`, with v2's changes: one list of fields, not two.


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EventTimeV2Out(_Out):
    type: Literal["date_time", "date"]
    date_time: str | None = None
    time_zone: str | None = None
    date: str | None = None


def _v2_answer(name: str, v1: type[BaseModel], changes: dict[str, Any]) -> type[BaseModel]:
    """The v1 answer model ``v1`` as v2's: ``object`` dropped, each field named in ``changes``
    replaced by its ``(type, default)`` (dropped when ``None``), new names appended."""
    fields: dict[str, Any] = {}
    for key, info in v1.model_fields.items():
        if key == "object" or changes.get(key, ...) is None:
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
    {"data": (list[CalendarEventV2], ...), "total_count": (int | None, _TOTAL)},  # type: ignore[valid-type]
)
CalendarListV2 = _v2_answer(
    "CalendarListV2",
    CalendarList,
    {"data": (list[CalendarV2], ...), "total_count": (int | None, _TOTAL)},  # type: ignore[valid-type]
)
