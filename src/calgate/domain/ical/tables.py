"""The mappings between calgate's event model and iCalendar values, as data both ways."""

from __future__ import annotations

from typing import Final

from calgate.domain.model import ConferenceProvider, ResponseStatus, Transparency, Visibility

PRODID: Final = "-//calgate//calgate//EN"

# calgate's own properties, for what no standard property holds.
X_COLOR: Final = "X-CALGATE-COLOR"
X_HIDE_ATTENDEES: Final = "X-CALGATE-HIDE-ATTENDEES"
X_GUESTS_CAN_MODIFY: Final = "X-CALGATE-GUESTS-CAN-MODIFY"
X_CONFERENCE_PROVIDER: Final = "X-CALGATE-CONFERENCE-PROVIDER"
X_CONFERENCE_ID: Final = "X-CALGATE-CONFERENCE-ID"
# A parameter on a UTC DATE-TIME (DTSTART, DTEND, RECURRENCE-ID): the IANA zone it is shown in.
# Written for the second of two equal wall times, which a TZID value cannot name (see .instants).
X_TZID: Final = "X-CALGATE-TZID"
# The attendee's reply comment, as Apple and SabreDAV carry it.
X_RESPONSE_COMMENT: Final = "X-RESPONSE-COMMENT"

TRANSP: Final[dict[Transparency, str]] = {"opaque": "OPAQUE", "transparent": "TRANSPARENT"}
TRANSP_IN: Final[dict[str, Transparency]] = {v: k for k, v in TRANSP.items()}

# "default" means "the calendar's default": no CLASS line.
CLASS: Final[dict[Visibility, str]] = {
    "public": "PUBLIC",
    "private": "PRIVATE",
    "confidential": "CONFIDENTIAL",
}
CLASS_IN: Final[dict[str, Visibility]] = {v: k for k, v in CLASS.items()}

PARTSTAT: Final[dict[ResponseStatus, str]] = {
    "yes": "ACCEPTED",
    "no": "DECLINED",
    "maybe": "TENTATIVE",
    "noreply": "NEEDS-ACTION",
}
# Anything else (DELEGATED, IN-PROCESS, x-names) reads as "noreply".
PARTSTAT_IN: Final[dict[str, ResponseStatus]] = {v: k for k, v in PARTSTAT.items()}

ROLE_REQUIRED: Final = "REQ-PARTICIPANT"
ROLE_OPTIONAL: Final = "OPT-PARTICIPANT"
ROLE_RESOURCE: Final = "NON-PARTICIPANT"
ROLE_CHAIR: Final = "CHAIR"
RESOURCE_CUTYPES: Final = frozenset({"RESOURCE", "ROOM"})

CONFERENCE_LABEL: Final[dict[ConferenceProvider, str]] = {
    "google_meet": "Google Meet",
    "teams": "Microsoft Teams",
    "zoom": "Zoom",
    "unknown": "Video call",
}
CONFERENCE_PROVIDERS: Final[frozenset[str]] = frozenset(CONFERENCE_LABEL)

# When a file names no provider, the meeting URL's host tells it.
CONFERENCE_HOSTS: Final[tuple[tuple[str, ConferenceProvider], ...]] = (
    ("meet.google.com", "google_meet"),
    ("teams.microsoft.com", "teams"),
    ("teams.live.com", "teams"),
    ("zoom.us", "zoom"),
)

# Meeting URLs other producers write in their own properties.
VENDOR_CONFERENCE_PROPERTIES: Final = ("X-GOOGLE-CONFERENCE", "X-MICROSOFT-SKYPETEAMSMEETINGURL")

RECURRENCE_PROPERTIES: Final = ("RRULE", "EXRULE", "RDATE", "EXDATE")
