"""Conferences on Google events (pure: no HTTP).

- **Google Meet** lives in ``conferenceData``: a ``createRequest {hangoutsMeet}`` asks Google to
  make one (``conferenceDataVersion=1``), a Meet URL given by the client is copied as a
  ``hangoutsMeet`` solution with its video entry point.
- **Zoom, Teams or any other link** cannot go there: ``conferenceSolution.key.type: addOn`` is
  written by Workspace add-ons, and a calendar's ``allowedConferenceSolutionTypes`` lists only
  ``eventHangout``, ``eventNamedHangout`` and ``hangoutsMeet``. calgate writes the link as the
  last line of the description (``Zoom: https://…``, what attendees see) and the conference
  itself in private extended properties of the event, and reads both back as ``conference``
  (the line is taken off ``body`` again).
- A Meet whose ``createRequest.status.statusCode`` is ``pending`` has no entry point yet: it
  reads as ``google_meet`` with an empty ``url`` until Google has made it.

A PATCH merges nested objects at Google, so replacing a conference names every property of
the old one with ``null`` (:func:`conference_patch`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from calgate.domain.model import Conference, ConferenceProvider

__all__ = [
    "PROPERTIES",
    "conference_from_google",
    "conference_patch",
    "conference_to_google",
    "description_from_google",
    "description_to_google",
    "meet_pending",
]

# Private extended properties holding a conference that is not a Meet (keys: 44 characters
# at most at Google).
PROPERTIES = {
    "provider": "calgateConferenceProvider",
    "url": "calgateConferenceUrl",
    "conference_id": "calgateConferenceId",
}
# Every property of ConferenceData an event may hold (nulled when a conference is replaced).
_CONFERENCE_DATA = (
    "conferenceId",
    "conferenceSolution",
    "createRequest",
    "entryPoints",
    "notes",
    "parameters",
    "signature",
)
# How the link line of the description names each kind of meeting.
_NAMES: dict[str, str] = {
    "google_meet": "Google Meet",
    "zoom": "Zoom",
    "teams": "Microsoft Teams",
    "unknown": "Meeting",
}
_KINDS: dict[str, ConferenceProvider] = {
    "google_meet": "google_meet",
    "zoom": "zoom",
    "teams": "teams",
    "unknown": "unknown",
}
_BY_NAME: dict[str, ConferenceProvider] = {
    "google meet": "google_meet",
    "zoom": "zoom",
    "zoom meeting": "zoom",
    "microsoft teams": "teams",
    "teams": "teams",
}


def _in_conference_data(conference: Conference) -> bool:
    """A Meet to create, or a Meet link to copy: what ``conferenceData`` may hold."""
    return not conference.url or conference.provider == "google_meet"


def conference_to_google(
    conference: Conference | None, request_id: str
) -> tuple[dict[str, Any] | None, dict[str, str] | None]:
    """The ``conferenceData`` and the private extended properties for ``conference``."""
    if conference is None:
        return None, None
    if not _in_conference_data(conference):
        kept = {
            "provider": conference.provider,
            "url": conference.url,
            "conference_id": conference.conference_id,
        }
        return None, {PROPERTIES[k]: v for k, v in kept.items() if v}
    if not conference.url:  # capabilities allow only google_meet here
        key = {"type": "hangoutsMeet"}
        return {"createRequest": {"requestId": request_id, "conferenceSolutionKey": key}}, None
    data: dict[str, Any] = {
        "conferenceSolution": {"key": {"type": "hangoutsMeet"}, "name": _NAMES["google_meet"]},
        "entryPoints": [{"entryPointType": "video", "uri": conference.url}],
    }
    if conference.conference_id:
        data["conferenceId"] = conference.conference_id
    return data, None


def conference_patch(conference: Conference | None, request_id: str) -> dict[str, Any]:
    """PATCH properties replacing the event's conference by ``conference``: whatever of the old
    one the new one does not set is named with ``null`` (Google merges nested objects)."""
    data, kept = conference_to_google(conference, request_id)
    if data is not None:
        data = {key: data.get(key) for key in _CONFERENCE_DATA}
    private = {name: (kept or {}).get(name) for name in PROPERTIES.values()}
    return {"conferenceData": data, "extendedProperties": {"private": private}}


def _line(conference: Conference | None) -> str:
    if conference is None or _in_conference_data(conference):
        return ""
    return f"{_NAMES[conference.provider]}: {conference.url}"


def description_to_google(body: str, conference: Conference | None) -> str:
    """The description: ``body``, then the link line of a conference that is not a Meet."""
    line = _line(conference)
    if not line:
        return body
    return f"{body}\n\n{line}" if body else line


def description_from_google(item: Mapping[str, Any]) -> str:
    """``body``: the description without the link line calgate added."""
    text = str(item.get("description") or "")
    line = _line(_kept(item))
    if line and text.endswith(line):
        return text[: -len(line)].removesuffix("\n\n")
    return text


def _kept(item: Mapping[str, Any]) -> Conference | None:
    private = (item.get("extendedProperties") or {}).get("private") or {}
    url = str(private.get(PROPERTIES["url"]) or "")
    if not url:
        return None
    provider = _KINDS.get(str(private.get(PROPERTIES["provider"])), "unknown")
    return Conference(provider, url, str(private.get(PROPERTIES["conference_id"]) or ""))


def meet_pending(item: Mapping[str, Any]) -> bool:
    """Whether Google is still making the event's Meet (no entry point yet)."""
    request = (item.get("conferenceData") or {}).get("createRequest") or {}
    return (request.get("status") or {}).get("statusCode") == "pending"


def conference_from_google(item: Mapping[str, Any]) -> Conference | None:
    """The event's conference: ``conferenceData`` (Meet, or what a Workspace add-on wrote),
    else the one calgate kept in private extended properties."""
    data = item.get("conferenceData") or {}
    url = ""
    for entry in data.get("entryPoints") or ():
        if entry.get("entryPointType") == "video" and entry.get("uri"):
            url = str(entry["uri"])
            break
    url = url or str(item.get("hangoutLink") or "")
    if not data and not url:
        return _kept(item)
    solution = data.get("conferenceSolution") or {}
    request_key = (data.get("createRequest") or {}).get("conferenceSolutionKey") or {}
    kind = (solution.get("key") or {}).get("type") or request_key.get("type")
    provider: ConferenceProvider = "unknown"
    if kind == "hangoutsMeet" or (not kind and "meet.google." in url):
        provider = "google_meet"
    else:
        provider = _BY_NAME.get(str(solution.get("name", "")).lower(), "unknown")
    return Conference(provider, url, str(data.get("conferenceId") or ""))
