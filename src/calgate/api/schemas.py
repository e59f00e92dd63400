"""The Unipile wire schemas: request bodies (validated) and response objects (documented)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

# Limits on what one event may hold (one set for the JSON API and the .ics import); each
# overrun is a 400 naming the field.
from calgate.domain.limits import (
    EMAIL_PATTERN,
    MAX_ATTENDEES,
    MAX_BODY,
    MAX_CONFERENCE_ID,
    MAX_CONFERENCE_URL,
    MAX_EMAIL,
    MAX_LOCATION,
    MAX_NAME,
    MAX_RECURRENCE_LINE,
    MAX_RECURRENCE_LINES,
    MAX_TITLE,
)

Email = Annotated[str, StringConstraints(strict=True, max_length=MAX_EMAIL, pattern=EMAIL_PATTERN)]
Color = Annotated[str, StringConstraints(strict=True, pattern=r"^#[0-9A-Fa-f]{6}$")]
Text = Annotated[str, StringConstraints(strict=True)]
AccountId = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=80)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class EventTimeIn(Strict):
    """Timed (`date_time` + optional IANA `time_zone`) or all-day (`date`, end exclusive)."""

    date_time: Text | None = Field(None, examples=["2025-05-28T10:00:00.000Z"])
    time_zone: Text | None = Field(None, examples=["Europe/Paris"])
    date: Text | None = Field(None, examples=["2025-05-28"])


class AttendeeIn(Strict):
    email: Email
    display_name: Annotated[str, StringConstraints(strict=True, max_length=MAX_NAME)] | None = None
    optional: bool | None = None
    is_optional: bool | None = Field(None, description="Synonym of `optional`.")


class ConferenceIn(Strict):
    provider: Literal["google_meet", "teams", "zoom", "unknown"]
    url: Annotated[str, StringConstraints(strict=True, max_length=MAX_CONFERENCE_URL)] | None = None
    conference_id: (
        Annotated[str, StringConstraints(strict=True, max_length=MAX_CONFERENCE_ID)] | None
    ) = None


class _Echoes(Strict):
    """What Unipile clients send in bodies beside the fields proper: checked, never ignored."""

    account_id: AccountId | None = Field(
        None, description="Equal to the query's `account_id`, or standing in for a missing one."
    )


class AccountBody(_Echoes):
    """The body some Unipile clients send with a DELETE: the account, nothing else."""


class _EventBody(_Echoes):
    calendar_id: Text | None = Field(None, description="Equal to the path's `calendar_id`.")
    is_all_day: bool | None = Field(
        None, description="Must agree with `start`/`end` (`date` for true, `date_time` for false)."
    )
    body: Annotated[str, StringConstraints(strict=True, max_length=MAX_BODY)] | None = Field(
        None, description="The body (description) of the event."
    )
    location: Annotated[str, StringConstraints(strict=True, max_length=MAX_LOCATION)] | None = None
    transparency: Literal["opaque", "transparent"] | None = Field(
        None,
        description="`opaque` blocks time (Busy); `transparent` does not (Available).",
    )
    visibility: Literal["public", "private", "default", "confidential"] | None = None
    conference: ConferenceIn | None = Field(
        None, description="A meeting link; without `url`, calgate asks the provider to create one."
    )
    is_attendees_list_hidden: bool | None = Field(
        None, description="Attendees cannot see each other."
    )
    attendees: Annotated[list[AttendeeIn], Field(max_length=MAX_ATTENDEES)] | None = None
    recurrence: (
        Annotated[
            list[Annotated[str, StringConstraints(strict=True, max_length=MAX_RECURRENCE_LINE)]],
            Field(max_length=MAX_RECURRENCE_LINES),
        ]
        | None
    ) = Field(
        None,
        description="RFC 5545 `RRULE:`, `EXRULE:`, `RDATE:`, `EXDATE:` lines.",
        examples=[["RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=10"]],
    )
    color: Color | None = Field(
        None,
        description="`#RRGGBB`. Google Calendar accepts #7986CB, #33B679, #8E24AA, #E67C73, "
        "#F6BF26, #F4511E, #039BE5, #616161, #3F51B5, #0B8043, #D50000.",
    )
    notify: bool | None = Field(
        None,
        description="Send invitations to attendees (default false; Outlook: always true).",
    )
    guests_can_modify: bool | None = None


class EventCreate(_EventBody):
    """Body of `POST /api/v1/calendars/{calendar_id}/events`."""

    title: Annotated[str, StringConstraints(strict=True, max_length=MAX_TITLE)]
    start: EventTimeIn
    end: EventTimeIn

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={
            "examples": [
                {
                    "title": "Weekly sync",
                    "body": "Agenda in the doc",
                    "location": "Room 4",
                    "start": {"date_time": "2025-05-28T10:00:00", "time_zone": "Europe/Paris"},
                    "end": {"date_time": "2025-05-28T11:00:00", "time_zone": "Europe/Paris"},
                    "attendees": [{"email": "ada@example.org", "display_name": "Ada"}],
                    "recurrence": ["RRULE:FREQ=WEEKLY;BYDAY=WE;COUNT=10"],
                    "transparency": "opaque",
                    "visibility": "public",
                    "color": "#039BE5",
                    "notify": False,
                }
            ]
        },
    )


class EventPatch(_EventBody):
    """Body of `PATCH .../events/{event_id}`: any subset of the create fields."""

    title: Annotated[str, StringConstraints(strict=True, max_length=MAX_TITLE)] | None = None
    start: EventTimeIn | None = None
    end: EventTimeIn | None = None

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={"examples": [{"title": "Weekly sync (moved)", "location": "Room 5"}]},
    )


class _CalendarBody(_Echoes):
    description: Annotated[str, StringConstraints(strict=True, max_length=4096)] | None = None
    timezone: Text | None = Field(None, examples=["Europe/Paris"])
    background_color: Color | None = None
    color: Color | None = Field(None, description="Synonym of `background_color`.")


class CalendarCreate(_CalendarBody):
    """Body of `POST /api/v1/calendars` (beyond Unipile v1)."""

    name: Annotated[str, StringConstraints(strict=True, min_length=1, max_length=MAX_NAME)]


class CalendarPatch(_CalendarBody):
    """Body of `PATCH /api/v1/calendars/{calendar_id}`: any subset of the create fields."""

    name: (
        Annotated[str, StringConstraints(strict=True, min_length=1, max_length=MAX_NAME)] | None
    ) = None

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={"examples": [{"name": "Projects 2026", "background_color": "#0B8043"}]},
    )


class AccountCreate(BaseModel):
    """Body of `POST /api/v1/accounts`: `provider` plus that provider's credentials."""

    model_config = ConfigDict(extra="allow")
    provider: Literal["LOCAL", "GOOGLE_OAUTH", "OUTLOOK", "ICLOUD", "CALDAV"]
    name: Annotated[str, StringConstraints(max_length=MAX_NAME)] | None = None


# Responses (documentation) --------------------------------------------------------------


class EventTimeOut(BaseModel):
    date_time: str | None = None
    time_zone: str | None = None
    date: str | None = None


class AttendeeOut(BaseModel):
    email: str
    display_name: str
    comment: str
    is_organizer: bool
    is_optional: bool
    is_resource: bool
    type: Literal["required", "optional", "resource"]
    response_status: Literal["yes", "no", "maybe", "noreply"]


class PersonOut(BaseModel):
    email: str
    display_name: str


class ConferenceOut(BaseModel):
    provider: str
    url: str
    conference_id: str


class CalendarEventOut(BaseModel):
    object: Literal["CalendarEvent"]
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
    start: EventTimeOut
    end: EventTimeOut
    recurrence: list[str]
    organizer: PersonOut
    conference: ConferenceOut | None
    visibility: str
    transparency: str
    event_type: str
    guests_can_modify: bool
    color: str | None
    notifications: str
    version: str


class CalendarOut(BaseModel):
    object: Literal["Calendar"]
    id: str
    name: str
    description: str
    is_read_only: bool
    is_owned_by_user: bool
    is_default: bool
    is_primary: bool
    access_role: str
    background_color: str
    foreground_color: str
    text_color: str
    timezone: str
    version: str


class EventList(BaseModel):
    object: Literal["CalendarEventList"] = "CalendarEventList"
    data: list[CalendarEventOut]
    next_cursor: str | None


class CalendarList(BaseModel):
    object: Literal["CalendarList"] = "CalendarList"
    data: list[CalendarOut]
    next_cursor: str | None


class EventCreated(BaseModel):
    object: Literal["CalendarEventCreated"]
    event_id: str


class EventUpdated(BaseModel):
    object: Literal["CalendarEventUpdated"]


class EventDeleted(BaseModel):
    object: Literal["CalendarEventDeleted"]
