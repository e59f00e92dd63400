"""The v2 request bodies: what differs from v1 (typed times, ``background_color``, ``notify``
as a word, the ``skype`` conference kind); the rest is v1's fields under v1's names."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from calgate.api.schemas import (
    AttendeeOut,
    Color,
    ConferenceOut,
    PersonOut,
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


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EventTimeV2Out(_Out):
    type: Literal["date_time", "date"]
    date_time: str | None = None
    time_zone: str | None = None
    date: str | None = None


class CalendarEventV2(_Out):
    id: str
    ical_uid: str
    master_event_id: str
    calendar_id: str
    created_at: str
    updated_at: str
    title: str
    body: str
    location: str
    is_cancelled: bool
    is_all_day: bool
    is_attendees_list_hidden: bool
    attendees: list[AttendeeOut]
    start: EventTimeV2Out
    end: EventTimeV2Out
    recurrence: list[str]
    organizer: PersonOut
    conference: ConferenceOut | None
    visibility: str
    transparency: str
    event_type: str
    guests_can_modify: bool
    background_color: str | None
    text_color: str | None
    notifications: str
    version: str


class CalendarV2(_Out):
    id: str
    name: str
    description: str
    is_read_only: bool
    is_owned_by_user: bool
    is_default: bool
    is_primary: bool
    access_role: str
    background_color: str
    text_color: str
    timezone: str
    version: str


class CalendarEventListV2(_Out):
    data: list[CalendarEventV2]
    next_cursor: str | None
    total_count: int | None = Field(description="null: the provider does not tell.")


class CalendarListV2(_Out):
    data: list[CalendarV2]
    next_cursor: str | None
    total_count: int | None
