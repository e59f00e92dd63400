"""The provider-neutral event and calendar model.

The wire layer (``calgate.api.schemas``) converts Unipile JSON to and from these objects;
providers and storage convert them to their own forms. Nothing here knows HTTP or SQL.
"""

from __future__ import annotations

import datetime as dt
import operator
from dataclasses import dataclass, field
from typing import Generic, Literal, TypeVar

from calgate.domain.times import EventTime

Transparency = Literal["opaque", "transparent"]
Visibility = Literal["public", "private", "default", "confidential"]
ConferenceProvider = Literal["google_meet", "teams", "zoom", "unknown"]
ResponseStatus = Literal["yes", "no", "maybe", "noreply"]
Notifications = Literal["sent", "queued", "forced_by_provider", "none", "failed"]


@dataclass(frozen=True, slots=True)
class Attendee:
    email: str
    display_name: str = ""
    optional: bool = False
    is_organizer: bool = False
    is_resource: bool = False
    response_status: ResponseStatus = "noreply"
    comment: str = ""

    @property
    def type(self) -> str:
        if self.is_resource:
            return "resource"
        return "optional" if self.optional else "required"


@dataclass(frozen=True, slots=True)
class Organizer:
    email: str
    display_name: str = ""


@dataclass(frozen=True, slots=True)
class Conference:
    provider: ConferenceProvider
    url: str = ""
    conference_id: str = ""


@dataclass(frozen=True, slots=True)
class EventFields:
    """What a client can set on an event (the seed's body fields)."""

    title: str
    start: EventTime
    end: EventTime
    body: str = ""
    location: str = ""
    transparency: Transparency = "opaque"
    visibility: Visibility = "default"
    conference: Conference | None = None
    is_attendees_list_hidden: bool = False
    attendees: tuple[Attendee, ...] = ()
    recurrence: tuple[str, ...] = ()
    color: str | None = None
    notify: bool = False
    guests_can_modify: bool = False

    @property
    def duration(self) -> dt.timedelta:
        return self.end.utc - self.start.utc


# Field names a PATCH may carry (all of EventFields).
PATCHABLE: frozenset[str] = frozenset(EventFields.__dataclass_fields__)


@dataclass(frozen=True, slots=True)
class Event:
    """A stored event: the fields plus identity and bookkeeping."""

    id: str
    calendar_id: str
    ical_uid: str
    fields: EventFields
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int = 1
    sequence: int = 0
    is_cancelled: bool = False
    master_event_id: str = ""
    recurrence_id: EventTime | None = None
    organizer: Organizer | None = None
    event_type: str = "default"
    notifications: Notifications = "none"
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def is_all_day(self) -> bool:
        return self.fields.start.is_all_day


# Every field of an event, in the order of Event's arguments (all of them are arguments).
_EVENT_VALUES = operator.attrgetter(*Event.__dataclass_fields__)
_ORGANIZER = tuple(Event.__dataclass_fields__).index("organizer")


def with_organizer(event: Event, email: str, name: str) -> Event:
    """``event`` with an organizer: the account's own address when the provider gave none."""
    if event.organizer is not None and event.organizer.email:
        return event
    # What dataclasses.replace does, a third of its cost (done for every event listed).
    values = list(_EVENT_VALUES(event))
    values[_ORGANIZER] = Organizer(email, name)
    return Event(*values)


def text_on(background: str) -> str:
    """Black or white, whichever reads on the ``#RRGGBB`` ``background`` (ITU-R BT.601 luma)."""
    red, green, blue = (int(background[i : i + 2], 16) for i in (1, 3, 5))
    return "#000000" if 0.299 * red + 0.587 * green + 0.114 * blue > 160 else "#FFFFFF"


@dataclass(frozen=True, slots=True)
class Calendar:
    id: str
    account_id: str
    name: str
    description: str = ""
    is_read_only: bool = False
    is_owned_by_user: bool = True
    is_default: bool = False
    is_primary: bool = False
    access_role: str = "owner"
    background_color: str = "#1A73E8"
    foreground_color: str = "#FFFFFF"
    timezone: str = "UTC"
    version: str = "1"


@dataclass(frozen=True, slots=True)
class EventQuery:
    """The list-events filters of the contract, parsed."""

    start: dt.datetime | None = None
    end: dt.datetime | None = None
    expand_recurring: bool = False
    updated_after: dt.datetime | None = None
    updated_before: dt.datetime | None = None
    busy: bool | None = None
    title: str | None = None
    location: str | None = None
    description: str | None = None
    ical_uid: str | None = None
    attendees: tuple[str, ...] = ()
    is_cancelled: bool | None = None
    # Google's eventType values (calgate.domain.filters.EVENT_TYPES); empty: every type.
    event_types: tuple[str, ...] = ()
    cursor: str | None = None
    # Items to skip before the page (Unipile's offset paging); never given with a cursor.
    offset: int = 0
    limit: int = 100


T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None = None
    # The page's answers, encoded already (each item's JSON, made in a worker process: an
    # expanded list of LOCAL calendars); then ``items`` is empty.
    encoded: list[bytes] | None = None

    @property
    def size(self) -> int:
        """How many items the page has, encoded or not."""
        return len(self.items) if self.encoded is None else len(self.encoded)
