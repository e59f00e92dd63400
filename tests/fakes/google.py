"""A Google Calendar API v3 test server: events in memory, bodies held to the discovery document.

Every event body is walked against the ``Event`` schema of ``calendar.v3.json`` as shipped in
the installed google-api-python-client, and every query parameter against the method's
parameters in the same document.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
import secrets
import string
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import googleapiclient
from dateutil.rrule import rruleset, rrulestr
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import common
from .common import FakeApp, Fault, Faults, OAuthServer, RequestLog, occurrences

__all__ = ["DISCOVERY", "GoogleError", "GoogleState", "SendUpdates", "check_event", "google_app"]

_DOCUMENTS = Path(googleapiclient.__file__).parent / "discovery_cache" / "documents"
DISCOVERY: dict[str, Any] = json.loads((_DOCUMENTS / "calendar.v3.json").read_text())
_SCHEMAS: dict[str, Any] = DISCOVERY["schemas"]
_METHODS = {
    method["id"]: method
    for resource in DISCOVERY["resources"].values()
    for method in resource["methods"].values()
}
_STANDARD_PARAMS = {**DISCOVERY["parameters"], "access_token": {}, "$.xgafv": {}}

# Values the discovery document lists only in descriptions, keyed by property path.
ENUMS: dict[str, tuple[str, ...]] = {
    "transparency": ("opaque", "transparent"),
    "visibility": ("default", "public", "private", "confidential"),
    "colorId": tuple(str(n) for n in range(1, 12)),
    "status": ("confirmed", "tentative", "cancelled"),
    "eventType": (
        "default",
        "birthday",
        "focusTime",
        "fromGmail",
        "outOfOffice",
        "workingLocation",
    ),
    "attendees.responseStatus": ("needsAction", "declined", "tentative", "accepted"),
    "reminders.overrides.method": ("email", "popup"),
    "conferenceData.createRequest.conferenceSolutionKey.type": (
        *("eventHangout", "eventNamedHangout", "hangoutsMeet", "addOn"),
    ),
}
_SERVER_FIELDS = ("kind", "etag", "id", "recurringEventId", "iCalUID", "sequence")
_TYPE_NAMES = {"string": "TYPE_STRING", "integer": "TYPE_INT32", "boolean": "TYPE_BOOL"}
_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED"}
_STATUS |= {404: "NOT_FOUND", 409: "ALREADY_EXISTS", 410: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED"}
_STATUS |= {500: "INTERNAL", 502: "UNAVAILABLE", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}
_FAULT_REASONS = {401: "authError", 403: "rateLimitExceeded", 429: "rateLimitExceeded"}
_MESSAGES = {
    "authError": "Request had invalid authentication credentials.",
    "rateLimitExceeded": "Rate Limit Exceeded",
    "userRateLimitExceeded": "User Rate Limit Exceeded",
    "quotaExceeded": "Calendar usage limits exceeded.",
    "insufficientPermissions": "Request had insufficient authentication scopes.",
    "backendError": "Backend Error",
}
_USAGE_LIMITS = {"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded"}
_EVENT_ID = re.compile(r"[a-v0-9]{5,1024}")
_MEET = {"key": {"type": "hangoutsMeet"}, "name": "Google Meet"}
# What a list shows of a cancelled item: "Cancelled exceptions are only guaranteed to have
# values for the id, recurringEventId and originalStartTime fields", deleted events "the id".
_BARE = ("kind", "etag", "id", "status", "recurringEventId", "originalStartTime")


class GoogleError(Exception):
    """An error answered in Google's JSON error shape."""

    def __init__(self, code: int, message: str, reason: str = "invalid") -> None:
        super().__init__(message)
        self.code, self.message, self.reason = code, message, reason


def error_body(code: int, message: str, reason: str) -> dict[str, Any]:
    domain = "usageLimits" if reason in _USAGE_LIMITS else "global"
    detail = {"domain": domain, "reason": reason, "message": message}
    status = _STATUS.get(code, "UNKNOWN")
    return {"error": {"code": code, "message": message, "errors": [detail], "status": status}}


def _fault_body(fault: Fault) -> dict[str, Any]:
    code = fault.status or 500
    reason = fault.reason or _FAULT_REASONS.get(code, "backendError")
    return error_body(code, _MESSAGES.get(reason, reason), reason)


def check_event(value: Any, schema: str = "Event") -> Any:
    """``value`` checked against a discovery schema, returned without read-only properties."""
    if not isinstance(value, dict):
        raise GoogleError(400, "Invalid JSON payload received. Expected an object.")
    return _walk(value, {"$ref": schema}, "resource", "")


def _walk(value: Any, schema: dict[str, Any], where: str, path: str) -> Any:
    schema = _SCHEMAS[schema["$ref"]] if "$ref" in schema else schema
    kind = schema.get("type", "any")
    if value is None or kind == "any":
        return value
    if kind == "object" and isinstance(value, dict):
        known, extra = schema.get("properties", {}), schema.get("additionalProperties")
        kept = {}
        for name, item in value.items():
            if name in known:
                if "read-only" not in known[name].get("description", "").lower():
                    inner = f"{path}.{name}".lstrip(".")
                    kept[name] = _walk(item, known[name], f"{where}.{name}", inner)
            elif extra is not None:
                kept[name] = _walk(item, extra, f"{where}.{name}", f"{path}.*")
            else:
                at = "" if where == "resource" else f" at '{where}'"
                message = f'Invalid JSON payload received. Unknown name "{name}"{at}'
                raise GoogleError(400, message + ": Cannot find field.")
        return kept
    if kind == "array" and isinstance(value, list):
        items = schema.get("items", {})
        return [_walk(item, items, f"{where}[{i}]", path) for i, item in enumerate(value)]
    if not _scalar_ok(value, kind, schema.get("format")):
        shown = json.dumps(value)[:40]
        raise GoogleError(
            400, f"Invalid value at '{where}' ({_TYPE_NAMES.get(kind, kind)}), {shown}"
        )
    if path in ENUMS and value not in ENUMS[path]:
        raise GoogleError(400, f"Invalid value for {path.rsplit('.', 1)[-1]}: {value}")
    return value


def _scalar_ok(value: Any, kind: str, fmt: str | None) -> bool:
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind != "string" or not isinstance(value, str):
        return False
    try:
        if fmt == "date-time":
            datetime.fromisoformat(value.replace("z", "Z"))
        elif fmt == "date":
            return len(value) == 10 and bool(date.fromisoformat(value))
        elif fmt == "int64":
            int(value)
    except ValueError:
        return False
    return True


def _query(request: Request, method_id: str) -> dict[str, str]:
    known = _METHODS[method_id].get("parameters", {})
    for name, value in request.query_params.items():
        spec = known.get(name, _STANDARD_PARAMS.get(name))
        if spec is None or spec.get("location") == "path":
            raise GoogleError(
                400,
                f'Invalid JSON payload received. Unknown name "{name}": Cannot bind query '
                f"parameter. Field '{name}' could not be found in request message.",
            )
        good = value in spec.get("enum", [value])
        if spec.get("type") == "boolean":
            good = good and value in ("true", "false")
        if spec.get("type") == "integer":
            low, high = int(spec.get("minimum", -(2**31))), int(spec.get("maximum", 2**31))
            good = good and value.lstrip("-").isdigit() and low <= int(value) <= high
        if not good:
            raise GoogleError(400, f"Invalid value at '{name}', \"{value}\"")
    return dict(request.query_params)


@dataclass
class SendUpdates:
    """The ``sendUpdates`` a write request carried (None when absent)."""

    method: str
    calendar_id: str
    event_id: str
    value: str | None


class GoogleState:
    """Calendars, events and OAuth of one Google user; tests read and arm it directly."""

    def __init__(self, *, email: str = "user@example.com", time_zone: str = "Europe/Paris"):
        self.oauth = OAuthServer(scope="https://www.googleapis.com/auth/calendar")
        self.faults = Faults()
        self.requests = RequestLog()
        self.email = email
        self.calendars: dict[str, dict[str, Any]] = {}
        self.events: dict[str, dict[str, dict[str, Any]]] = {}
        self.overrides: dict[str, dict[str, dict[str, Any]]] = {}
        self.send_updates: list[SendUpdates] = []
        self.inserts = 0
        # What an ordinary OAuth client may write (conferenceProperties of every calendar).
        self.conference_types: list[str] = ["hangoutsMeet"]
        # Reads of a calendar's events a new Meet createRequest stays "pending" for (0: done
        # at once); the pending ones by (calendar id, event id) with the reads left.
        self.meet_pending_reads = 0
        self.pending: dict[tuple[str, str], int] = {}
        self._etags = itertools.count(3_400_000_000_000_000)
        self.add_calendar(email, email, time_zone, primary=True)

    def add_calendar(
        self, calendar_id: str, summary: str, time_zone: str = "UTC", *, primary: bool = False
    ) -> dict[str, Any]:
        entry: dict[str, Any] = {"id": calendar_id, "summary": summary, "timeZone": time_zone}
        entry["etag"] = self.etag()
        if primary:
            entry["primary"] = True
        self.calendars[calendar_id] = entry
        self.events[calendar_id], self.overrides[calendar_id] = {}, {}
        return entry

    def calendar(self, calendar_id: str) -> dict[str, Any]:
        if calendar_id == "primary":
            calendar_id = self.email
        if calendar_id not in self.calendars:
            raise GoogleError(404, "Not Found", "notFound")
        return self.calendars[calendar_id]

    def stored(
        self, calendar_id: str = "primary", *, deleted: bool = False
    ) -> list[dict[str, Any]]:
        """The events of a calendar as stored (recurring ones unexpanded)."""
        events = self.events[self.calendar(calendar_id)["id"]].values()
        return [e for e in events if deleted or e.get("status") != "cancelled"]

    def etag(self) -> str:
        return f'"{next(self._etags)}"'

    def cancel(self, calendar_id: str, event_id: str) -> dict[str, Any]:
        """Delete an event or one occurrence, as ``events.delete`` or Google's own UI does: an
        occurrence becomes a cancelled exception of its series."""
        calendar = self.calendar(calendar_id)
        event = _find(self, calendar, event_id)
        if event.get("status") == "cancelled":
            raise GoogleError(410, "Resource has been deleted", "deleted")
        event |= {"status": "cancelled", "etag": self.etag(), "updated": _now()}
        if "recurringEventId" in event:
            self.overrides[calendar["id"]][event["id"]] = event
        return event

    def read(self, calendar_id: str) -> None:
        """One read of the calendar's events: pending Meet requests move on."""
        for key, left in list(self.pending.items()):
            if key[0] == calendar_id:
                if left <= 1:
                    self.complete_meet(*key)
                else:
                    self.pending[key] = left - 1

    def complete_meet(self, calendar_id: str, event_id: str) -> None:
        """Finish a pending Meet request: entry points, conference id, status success."""
        self.pending.pop((calendar_id, event_id), None)
        event = self.events[calendar_id].get(event_id) or self.overrides[calendar_id].get(event_id)
        data = (event or {}).get("conferenceData") or {}
        request = data.get("createRequest")
        if event is None or not request or request.get("status", {}).get("statusCode") == "success":
            return
        code = "-".join(
            "".join(secrets.choice(string.ascii_lowercase) for _ in range(n)) for n in (3, 4, 3)
        )
        uri = f"https://meet.google.com/{code}"
        event["conferenceData"] = {
            "createRequest": {**request, "status": {"statusCode": "success"}},
            "entryPoints": [{"entryPointType": "video", "uri": uri, "label": uri[8:]}],
            "conferenceSolution": copy.deepcopy(_MEET),
            "conferenceId": code,
        }
        event |= {"hangoutLink": uri, "etag": self.etag()}


def _rfc3339(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _now() -> str:
    return _rfc3339(datetime.now(UTC).replace(microsecond=0))


def _zone(event: dict[str, Any], calendar: dict[str, Any]) -> ZoneInfo:
    return ZoneInfo(event["start"].get("timeZone") or calendar["timeZone"])


def _moment(value: dict[str, Any], calendar: dict[str, Any]) -> datetime:
    if "date" in value:
        return datetime.combine(
            date.fromisoformat(value["date"]), time(), ZoneInfo(calendar["timeZone"])
        )
    return datetime.fromisoformat(value["dateTime"])


def _merge(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """Google's patch semantics: objects merge key by key at every depth (``start`` and
    ``conferenceData`` too), arrays and scalars replace, ``null`` removes."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict):
            inner = target.get(key)
            target[key] = _merge(inner if isinstance(inner, dict) else {}, value)
        else:
            target[key] = copy.deepcopy(value)
    return target


def _check_times(event: dict[str, Any], calendar: dict[str, Any]) -> None:
    recurring = bool(event.get("recurrence"))
    for which in ("start", "end"):
        value = event.get(which)
        if not value or ("date" in value) == ("dateTime" in value):
            raise GoogleError(
                400, f"Missing {which} time." if not value else f"Invalid {which} time."
            )
        zone = None
        if value.get("timeZone"):
            try:
                zone = ZoneInfo(value["timeZone"])
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise GoogleError(400, f"Invalid time zone definition for {which} time.") from exc
        if "date" in value:
            continue
        moment = datetime.fromisoformat(value["dateTime"].replace("z", "Z"))
        if zone is None and (moment.tzinfo is None or recurring):
            raise GoogleError(400, f"Missing time zone definition for {which} time.", "required")
        moment = moment if moment.tzinfo else moment.replace(tzinfo=zone)
        value["dateTime"] = _rfc3339(moment.astimezone(zone or ZoneInfo(calendar["timeZone"])))
    if ("date" in event["start"]) != ("date" in event["end"]):
        raise GoogleError(400, "Invalid start time.")
    if _moment(event["end"], calendar) < _moment(event["start"], calendar):
        raise GoogleError(400, "The specified time range is empty.", "timeRangeEmpty")
    if recurring:
        _rule(event, calendar)


_UNTIL = re.compile(r"UNTIL=(\d{8})(T\d{6})?(Z?)", re.IGNORECASE)


def _rule(event: dict[str, Any], calendar: dict[str, Any]) -> rruleset:
    """The event's RRULE/EXRULE/RDATE/EXDATE lines as a rule set in its own time zone."""
    zone = _zone(event, calendar)
    start = _moment(event["start"], calendar).astimezone(zone)

    def local(text: str, tz: ZoneInfo) -> datetime:
        if len(text) == 8:
            return datetime.combine(datetime.strptime(text, "%Y%m%d").date(), start.time(), zone)
        if text.upper().endswith("Z"):
            return datetime.strptime(text[:15], "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
        return datetime.strptime(text, "%Y%m%dT%H%M%S").replace(tzinfo=tz)

    def until(match: re.Match[str]) -> str:
        text = match.group(1) + (match.group(2) or "T235959") + match.group(3)
        return "UNTIL=" + local(text, zone).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")

    rules = rruleset()
    try:
        for line in event["recurrence"]:
            head, _, value = line.partition(":")
            name = head.split(";")[0].upper()
            if name in ("RRULE", "EXRULE"):
                rule = rrulestr(_UNTIL.sub(until, value), dtstart=start)
                (rules.rrule if name == "RRULE" else rules.exrule)(rule)  # type: ignore[arg-type]
            elif name in ("RDATE", "EXDATE"):
                tzids = [p[5:] for p in head.split(";")[1:] if p.upper().startswith("TZID=")]
                tz = ZoneInfo(tzids[0]) if tzids else zone
                for text in value.split(","):
                    (rules.rdate if name == "RDATE" else rules.exdate)(local(text.strip(), tz))
            else:
                raise ValueError(name)
    except (ValueError, TypeError, KeyError, ZoneInfoNotFoundError) as exc:
        raise GoogleError(400, "Invalid recurrence rule.") from exc
    return rules


def _instances(
    state: GoogleState,
    calendar: dict[str, Any],
    master: dict[str, Any],
    after: datetime | None,
    before: datetime | None,
    limit: int = 2500,
) -> list[dict[str, Any]]:
    zone, all_day = _zone(master, calendar), "date" in master["start"]
    start, end = _moment(master["start"], calendar), _moment(master["end"], calendar)
    changed = state.overrides[calendar["id"]]
    found = []
    for moment in occurrences(_rule(master, calendar), end - start, after, before, limit):
        local = moment.astimezone(zone)
        stamp = f"{local:%Y%m%d}" if all_day else f"{local.astimezone(UTC):%Y%m%dT%H%M%SZ}"
        instance_id = f"{master['id']}_{stamp}"
        if instance_id in changed:
            found.append(copy.deepcopy(changed[instance_id]))
            continue
        instance = {k: copy.deepcopy(v) for k, v in master.items() if k != "recurrence"}
        instance |= {"id": instance_id, "recurringEventId": master["id"]}
        for which, at in (("start", local), ("end", local + (end - start))):
            shown = {"date": f"{at:%Y-%m-%d}"} if all_day else {"dateTime": _rfc3339(at)}
            if "timeZone" in master[which]:
                shown["timeZone"] = master[which]["timeZone"]
            instance[which] = shown
        instance["originalStartTime"] = dict(instance["start"])
        found.append(instance)
    return found


def _find(state: GoogleState, calendar: dict[str, Any], event_id: str) -> dict[str, Any]:
    events = state.events[calendar["id"]]
    if event_id in events:
        return events[event_id]
    master_id, _, stamp = event_id.rpartition("_")
    master = events.get(master_id)
    if master and master.get("recurrence") and stamp[:8].isdigit():
        day = datetime.strptime(stamp[:8], "%Y%m%d").replace(tzinfo=UTC)
        window = _instances(
            state, calendar, master, day - timedelta(days=2), day + timedelta(days=2)
        )
        for instance in window:
            if instance["id"] == event_id:
                return instance
    raise GoogleError(404, "Not Found", "notFound")


def _only_own_answer(email: str, old: dict[str, Any], body: dict[str, Any]) -> None:
    """An attendee (not the organizer) may change only its own ``responseStatus`` and
    ``comment``: "Shared properties can only be changed by the organizer of the event"."""
    server = ("self", "organizer")

    def shared(attendees: list[dict[str, Any]]) -> list[dict[str, Any]]:
        mine = ("responseStatus", "comment")
        return [
            {
                k: v
                for k, v in a.items()
                if k not in server and not (a.get("email") == email and k in mine)
            }
            for a in attendees
        ]

    others = {k for k in body if k != "attendees"}
    if others or shared(body.get("attendees", [])) != shared(old.get("attendees", [])):
        message = "Shared properties can only be changed by the organizer of the event."
        raise GoogleError(403, message, "forbiddenForNonOrganizer")


def _check_conference(state: GoogleState, body: dict[str, Any]) -> None:
    """A conference an ordinary OAuth client may write: a solution type among the calendar's
    ``allowedConferenceSolutionTypes`` (``addOn`` is written by Workspace add-ons only)."""
    data = body.get("conferenceData") or {}
    kind = ((data.get("conferenceSolution") or {}).get("key") or {}).get("type")
    if kind is not None and kind not in state.conference_types:
        raise GoogleError(400, "Invalid conference data.")


def _conference(
    state: GoogleState, event: dict[str, Any], before: dict[str, Any], calendar_id: str
) -> None:
    """Start a Meet for a new ``createRequest`` (a requestId the event did not hold yet): its
    status is ``pending`` without entry points until ``meet_pending_reads`` reads went by."""
    data = event.get("conferenceData") or {}
    meet = (data.get("conferenceSolution") or {}).get("key", {}).get("type") == "hangoutsMeet"
    video = [e["uri"] for e in data.get("entryPoints") or () if e.get("entryPointType") == "video"]
    if meet and video:  # read-only, follows the conference
        event["hangoutLink"] = video[0]
    else:
        event.pop("hangoutLink", None)
    request = data.get("createRequest")
    old = ((before.get("conferenceData") or {}).get("createRequest")) or {}
    if not request or ("status" in request and request.get("requestId") == old.get("requestId")):
        return
    if request.get("conferenceSolutionKey", {}).get("type") != "hangoutsMeet":
        raise GoogleError(400, "Invalid conference type value.")
    if not request.get("requestId"):
        raise GoogleError(400, "Missing conference request id.", "required")
    pending = {**request, "status": {"statusCode": "pending"}}
    event["conferenceData"] = {"createRequest": pending, "conferenceSolution": copy.deepcopy(_MEET)}
    event.pop("hangoutLink", None)
    state.pending[calendar_id, event["id"]] = state.meet_pending_reads


def _finish(
    state: GoogleState,
    event: dict[str, Any],
    calendar: dict[str, Any],
    before: dict[str, Any] | None = None,
) -> None:
    """Check an event about to be stored and fill what the server owns."""
    _check_times(event, calendar)
    _conference(state, event, before or {}, calendar["id"])
    now = _now()
    me = {"email": state.email, "self": True}
    event.setdefault("created", now)
    event |= {"kind": "calendar#event", "etag": state.etag(), "updated": now}
    event.setdefault("status", "confirmed")
    event.setdefault("iCalUID", f"{event['id']}@google.com")
    event.setdefault("sequence", 0)
    # An invitation from someone else (tests/fakes/invites.py) keeps its organizer.
    event.setdefault("creator", me)
    event.setdefault("organizer", me)
    event["htmlLink"] = f"https://calendar.example/{event['id']}"
    event.setdefault("reminders", {"useDefault": True})
    event.setdefault("eventType", "default")
    mine = bool(event["organizer"].get("self"))
    for attendee in event.get("attendees", []):
        attendee.setdefault("responseStatus", "needsAction")
        if attendee.get("email") == state.email:
            attendee |= {"self": True, "organizer": True} if mine else {"self": True}


def _render(event: dict[str, Any], zone_name: str | None) -> dict[str, Any]:
    shown = copy.deepcopy(event)
    if zone_name:
        for which in ("start", "end", "originalStartTime"):
            if "dateTime" in shown.get(which, {}):
                moment = datetime.fromisoformat(shown[which]["dateTime"])
                shown[which]["dateTime"] = _rfc3339(moment.astimezone(ZoneInfo(zone_name)))
    return shown


def _window(query: dict[str, str], name: str) -> datetime | None:
    try:
        return common.parse_rfc3339(query[name]) if name in query else None
    except ValueError as exc:
        raise GoogleError(400, "Bad Request", "badRequest") from exc


def _paged(query: dict[str, str], items: list[Any], default: int) -> tuple[list[Any], str | None]:
    try:
        return common.page(items, query.get("pageToken"), int(query.get("maxResults", default)))
    except ValueError as exc:
        raise GoogleError(400, "Invalid page token value.", "invalid") from exc


def _overlaps(
    event: dict[str, Any], calendar: dict[str, Any], after: datetime | None, before: datetime | None
) -> bool:
    start, end = _moment(event["start"], calendar), _moment(event["end"], calendar)
    return (after is None or end > after) and (before is None or start < before)


def _series_level(
    state: GoogleState, calendar: dict[str, Any], after: datetime | None, before: datetime | None
) -> list[dict[str, Any]]:
    """``singleEvents=false``: one-off events, each series with an occurrence in the window,
    and the exceptions of those series (changed or cancelled occurrences) in the window."""
    exceptions = state.overrides[calendar["id"]].values()
    found: list[dict[str, Any]] = []
    for event in state.events[calendar["id"]].values():
        if not event.get("recurrence"):
            if _overlaps(event, calendar, after, before):
                found.append(event)
            continue
        if (after is None and before is None) or _instances(
            state, calendar, event, after, before, 1
        ):
            found.append(event)
        if event.get("status") != "cancelled":
            found += [
                e
                for e in exceptions
                if e["recurringEventId"] == event["id"] and _overlaps(e, calendar, after, before)
            ]
    return found


def _single_events(
    state: GoogleState, calendar: dict[str, Any], after: datetime | None, before: datetime | None
) -> list[dict[str, Any]]:
    """``singleEvents=true``: one-off events and the occurrences of live series."""
    found: list[dict[str, Any]] = []
    for event in state.events[calendar["id"]].values():
        if not event.get("recurrence"):
            if _overlaps(event, calendar, after, before):
                found.append(event)
        elif event.get("status") != "cancelled":
            found += _instances(state, calendar, event, after, before)
    return found


def _filtered(
    found: list[dict[str, Any]], query: dict[str, str], updated_min: datetime | None
) -> list[dict[str, Any]]:
    """The query's filters. Cancelled items: with ``showDeleted`` or ``updatedMin`` all of
    them; otherwise only the cancelled exceptions of a series-level list ("cancelled instances
    of recurring events will still be included if showDeleted and singleEvents are both
    False")."""
    deleted_too = query.get("showDeleted") == "true" or updated_min is not None
    series_level = query.get("singleEvents") != "true"

    def kept(e: dict[str, Any]) -> bool:
        exception = series_level and "recurringEventId" in e
        if e.get("status") == "cancelled" and not (deleted_too or exception):
            return False
        if query.get("iCalUID", e["iCalUID"]) != e["iCalUID"]:
            return False
        return updated_min is None or common.parse_rfc3339(e["updated"]) >= updated_min

    return [e for e in found if kept(e)]


def _shown(items: list[dict[str, Any]], query: dict[str, str]) -> list[dict[str, Any]]:
    """Items as a list answers them: a cancelled one with only what Google guarantees."""
    bare = [
        {k: e[k] for k in _BARE if k in e} if e.get("status") == "cancelled" else e for e in items
    ]
    return [_render(e, query.get("timeZone")) for e in bare]


def google_app(state: GoogleState) -> FakeApp:
    """The Google Calendar test server for ``state``: ``/token``, ``/o/oauth2/v2/auth`` and
    ``/calendar/v3/...``."""

    async def body_of(request: Request, query: dict[str, str]) -> dict[str, Any]:
        try:
            body = check_event(json.loads(await request.body() or b"null"))
        except json.JSONDecodeError as exc:
            raise GoogleError(400, "Parse Error", "parseError") from exc
        if query.get("conferenceDataVersion") != "1":
            body.pop("conferenceData", None)  # version 0 ignores conference data in the body
        _check_conference(state, body)
        return {k: v for k, v in body.items() if k not in _SERVER_FIELDS}

    def stored(calendar: dict[str, Any], event: dict[str, Any]) -> None:
        kept = state.overrides if "recurringEventId" in event else state.events
        kept[calendar["id"]][event["id"]] = event
        if state.pending.get((calendar["id"], event["id"])) == 0:
            state.complete_meet(calendar["id"], event["id"])

    def begin(request: Request, method_id: str) -> tuple[dict[str, str], dict[str, Any]]:
        if not state.oauth.valid(request.headers.get("authorization")):
            raise GoogleError(401, _MESSAGES["authError"], "authError")
        query = _query(request, method_id)
        calendar_id = request.path_params.get("calendarId")
        return query, state.calendar(calendar_id) if calendar_id else {}

    def noted(request: Request, query: dict[str, str], calendar_id: str, event_id: str) -> None:
        note = SendUpdates(request.method, calendar_id, event_id, query.get("sendUpdates"))
        state.send_updates.append(note)

    def listing(
        kind: str, calendar: dict[str, Any], items: list[Any], token: str | None
    ) -> Response:
        answer = {"kind": kind, "etag": state.etag(), "items": items}
        if calendar:
            answer |= {"summary": calendar["summary"], "timeZone": calendar["timeZone"]}
            answer |= {"accessRole": "owner", "defaultReminders": []}
        answer |= {"nextPageToken": token} if token else {"nextSyncToken": google_sync.token(state)}
        return JSONResponse(answer)

    def entry(calendar: dict[str, Any], kind: str = "calendar#calendarListEntry") -> dict[str, Any]:
        shown = {"kind": kind, **calendar}
        shown["conferenceProperties"] = {"allowedConferenceSolutionTypes": state.conference_types}
        if kind.endswith("Entry"):
            shown |= {"accessRole": "owner", "selected": True, "defaultReminders": []}
            shown |= {"colorId": "14", "backgroundColor": "#9fe1e7", "foregroundColor": "#000000"}
            shown |= calendar.get("_colors", {})  # set by calendarList.patch
        shown.pop("_colors", None)
        return shown

    async def calendar_list(request: Request) -> Response:
        query, _ = begin(request, "calendar.calendarList.list")
        items, token = _paged(query, [entry(c) for c in state.calendars.values()], 100)
        return listing("calendar#calendarList", {}, items, token)

    async def calendar_list_entry(request: Request) -> Response:
        _, calendar = begin(request, "calendar.calendarList.get")
        return JSONResponse(entry(calendar))

    async def calendar_get(request: Request) -> Response:
        _, calendar = begin(request, "calendar.calendars.get")
        shown = entry(calendar, "calendar#calendar")
        shown.pop("primary", None)
        return JSONResponse(shown)

    async def calendar_body(request: Request, schema: str) -> dict[str, Any]:
        try:
            body = check_event(json.loads(await request.body() or b"null"), schema)
        except json.JSONDecodeError as exc:
            raise GoogleError(400, "Parse Error", "parseError") from exc
        try:
            ZoneInfo(str(body.get("timeZone", "UTC")))
        except (ZoneInfoNotFoundError, ValueError):
            raise GoogleError(400, "Invalid time zone definition for calendar.") from None
        return {k: v for k, v in body.items() if k in ("summary", "description", "timeZone")}

    async def calendar_insert(request: Request) -> Response:
        """calendars.insert: a secondary calendar ("summary" required), owned by the user."""
        begin(request, "calendar.calendars.insert")
        body = await calendar_body(request, "Calendar")
        if not body.get("summary"):
            raise GoogleError(400, "Missing title.", "required")
        calendar_id = f"c_{uuid.uuid4().hex}@group.calendar.google.com"
        made = state.add_calendar(calendar_id, body["summary"], body.get("timeZone", "UTC"))
        made.update(body)
        return JSONResponse(entry(made, "calendar#calendar"))

    async def calendar_patch(request: Request) -> Response:
        _, calendar = begin(request, "calendar.calendars.patch")
        calendar.update(await calendar_body(request, "Calendar"))
        calendar["etag"] = state.etag()
        shown = entry(calendar, "calendar#calendar")
        shown.pop("primary", None)
        return JSONResponse(shown)

    async def calendar_delete(request: Request) -> Response:
        """calendars.delete: secondary calendars only (calendars.clear empties the primary)."""
        _, calendar = begin(request, "calendar.calendars.delete")
        if calendar.get("primary"):
            raise GoogleError(400, "Cannot delete primary calendar.", "cannotDeletePrimaryCalendar")
        for kept in (state.calendars, state.events, state.overrides):
            kept.pop(calendar["id"], None)
        return Response(status_code=204)

    async def calendar_list_patch(request: Request) -> Response:
        """calendarList.patch: the user's colours of a calendar (hex with colorRgbFormat)."""
        query, calendar = begin(request, "calendar.calendarList.patch")
        raw = json.loads(await request.body() or b"null")
        body = check_event(raw, "CalendarListEntry")
        colors = {k: body[k] for k in ("backgroundColor", "foregroundColor") if k in body}
        if colors and query.get("colorRgbFormat") != "true":
            raise GoogleError(400, "Invalid value for: colorRgbFormat must be true.")
        calendar["_colors"] = {**calendar.get("_colors", {}), **colors}
        return JSONResponse(entry(calendar))

    async def insert(request: Request) -> Response:
        query, calendar = begin(request, "calendar.events.insert")
        raw = json.loads(await request.body() or b"null")
        body = await body_of(request, query)
        event_id = (raw.get("id") if isinstance(raw, dict) else None) or uuid.uuid4().hex
        if not _EVENT_ID.fullmatch(event_id):
            raise GoogleError(400, "Invalid resource id value.")
        if event_id in state.events[calendar["id"]]:
            raise GoogleError(409, "The requested identifier already exists.", "duplicate")
        event = _merge({"id": event_id}, body)
        if isinstance(raw.get("iCalUID"), str):
            event["iCalUID"] = raw["iCalUID"]
        _finish(state, event, calendar)
        stored(calendar, event)
        state.inserts += 1
        noted(request, query, calendar["id"], event_id)
        return JSONResponse(_render(event, None))

    async def get(request: Request) -> Response:
        query, calendar = begin(request, "calendar.events.get")
        state.read(calendar["id"])
        event = _find(state, calendar, request.path_params["eventId"])
        return JSONResponse(_render(event, query.get("timeZone")))

    async def change(request: Request) -> Response:
        replace = request.method == "PUT"
        method_id = "calendar.events.update" if replace else "calendar.events.patch"
        query, calendar = begin(request, method_id)
        old = _find(state, calendar, request.path_params["eventId"])
        body = await body_of(request, query)
        owned: tuple[str, ...] = (
            "id",
            "created",
            "iCalUID",
            "recurringEventId",
            "originalStartTime",
        )
        if query.get("conferenceDataVersion") != "1":
            owned += ("conferenceData", "hangoutLink")
        if not (old.get("organizer") or {}).get("self"):
            _only_own_answer(state.email, old, body)
        kept = {k: copy.deepcopy(old[k]) for k in owned if k in old}
        event = _merge(kept, body) if replace else _merge(copy.deepcopy(old), body)
        event["sequence"] = old.get("sequence", 0) + 1
        _finish(state, event, calendar, old)
        stored(calendar, event)
        noted(request, query, calendar["id"], event["id"])
        return JSONResponse(_render(event, None))

    async def delete(request: Request) -> Response:
        query, calendar = begin(request, "calendar.events.delete")
        event = state.cancel(calendar["id"], request.path_params["eventId"])
        noted(request, query, calendar["id"], event["id"])
        return Response(status_code=204)

    async def list_events(request: Request) -> Response:
        query, calendar = begin(request, "calendar.events.list")
        state.read(calendar["id"])
        after, before = _window(query, "timeMin"), _window(query, "timeMax")
        single = query.get("singleEvents") == "true"
        if query.get("orderBy") == "startTime" and not single:
            message = "The requested ordering is not available for the particular query."
            raise GoogleError(400, message, "badRequest")
        if "syncToken" in query:  # incremental sync (tests/fakes/google_sync.py)
            found = google_sync.changed_since(state, calendar, query)
        else:
            found = (_single_events if single else _series_level)(state, calendar, after, before)
            found = _filtered(found, query, _window(query, "updatedMin"))
        if query.get("orderBy") == "startTime":
            found.sort(key=lambda e: _moment(e["start"], calendar))
        elif query.get("orderBy") == "updated":
            found.sort(key=lambda e: e["updated"])
        items, token = _paged(query, found, 250)
        return listing("calendar#events", calendar, _shown(items, query), token)

    async def instances(request: Request) -> Response:
        query, calendar = begin(request, "calendar.events.instances")
        state.read(calendar["id"])
        master = _find(state, calendar, request.path_params["eventId"])
        if not master.get("recurrence"):
            raise GoogleError(400, "The event is not a recurring event.", "badRequest")
        after, before = _window(query, "timeMin"), _window(query, "timeMax")
        found = _instances(state, calendar, master, after, before)
        if query.get("showDeleted") != "true":
            found = [e for e in found if e.get("status") != "cancelled"]
        items, token = _paged(query, found, 250)
        return listing("calendar#events", calendar, _shown(items, query), token)

    async def failure(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, GoogleError)
        return JSONResponse(error_body(exc.code, exc.message, exc.reason), exc.code)

    events = "/calendar/v3/calendars/{calendarId}/events"
    routes = [
        *common.oauth_routes(state.oauth, "/o/oauth2/v2/auth", "/token"),
        Route("/calendar/v3/users/me/calendarList", calendar_list, methods=["GET"]),
        Route("/calendar/v3/users/me/calendarList/{calendarId}", calendar_list_entry),
        Route(
            "/calendar/v3/users/me/calendarList/{calendarId}",
            calendar_list_patch,
            methods=["PATCH"],
        ),
        Route("/calendar/v3/calendars", calendar_insert, methods=["POST"]),
        Route("/calendar/v3/calendars/{calendarId}", calendar_patch, methods=["PATCH"]),
        Route("/calendar/v3/calendars/{calendarId}", calendar_delete, methods=["DELETE"]),
        Route("/calendar/v3/calendars/{calendarId}", calendar_get, methods=["GET"]),
        Route(events, list_events, methods=["GET"]),
        Route(events, insert, methods=["POST"]),
        Route(events + "/{eventId}", get, methods=["GET"]),
        Route(events + "/{eventId}", change, methods=["PATCH", "PUT"]),
        Route(events + "/{eventId}", delete, methods=["DELETE"]),
        Route(events + "/{eventId}/instances", instances, methods=["GET"]),
        Route("/calendar/v3/freeBusy", google_freebusy.query_route(state), methods=["POST"]),
        *google_push.routes(state),
    ]
    app = FakeApp(
        routes=routes,
        exception_handlers={GoogleError: failure},
        faults=state.faults,
        requests=state.requests,
        fault_body=_fault_body,
    )
    app.state.fake = state
    return app


from tests.fakes import google_freebusy, google_push, google_sync  # noqa: E402  (use this module's helpers)
