"""A Microsoft Graph calendar test server: events in memory, bodies held to the msgraph-sdk models.

Every event body is parsed with ``msgraph.generated.models.event.Event`` through a strict
subclass of kiota's ``JsonParseNode``: a property the model does not know (kiota would put it
in ``additional_data``), a value of the wrong JSON type or an unknown enum literal is a 400, at
any depth.

Where Graph's documentation says it does less than asked, so does this server: a Teams meeting
stays once made (changes to ``isOnlineMeeting``/``onlineMeetingProvider`` are ignored), a
calendar without ``teamsForBusiness`` in ``allowedOnlineMeetingProviders`` makes no Teams
meeting, ``$expand``/``$select`` apply to reads only (writes answer without extended
properties), relative patterns over other day sets fall on "the first day that satisfies the
pattern", and a ``transactionId`` reused for another body is ``ErrorDuplicateTransactionId``.
"""

from __future__ import annotations

import base64
import copy
import functools
import json
import os
import re
import secrets
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import DAILY, MONTHLY, WEEKLY, YEARLY, rrule, weekdays
from kiota_abstractions.serialization import Parsable
from kiota_serialization_json.json_parse_node import JsonParseNode
from msgraph.generated.models.calendar import Calendar
from msgraph.generated.models.event import Event
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from tzlocal.windows_tz import win_tz

from .common import FakeApp, Fault, Faults, OAuthServer, RequestLog, oauth_routes, occurrences

__all__ = ["GraphError", "GraphState", "check_event", "graph_app", "graph_zone"]

_TEAMS = "https://teams.microsoft.com/l/meetup-join/19%3ameeting_{}%40thread.v2/0?context=%7b%7d"
_SERVER_FIELDS = {
    *("id", "createdDateTime", "lastModifiedDateTime", "changeKey", "iCalUId", "webLink"),
    *("onlineMeeting", "onlineMeetingUrl", "type", "seriesMasterId", "responseStatus"),
    *("isOrganizer", "bodyPreview", "hasAttachments", "organizer", "originalStart"),
}
_FAULT_CODES = {401: "InvalidAuthenticationToken", 403: "ErrorAccessDenied"}
_FAULT_CODES |= {429: "TooManyRequests", 503: "ServiceNotAvailable", 504: "GatewayTimeout"}
_MESSAGES = {
    "InvalidAuthenticationToken": "Lifetime validation failed, the token is expired.",
    "ErrorAccessDenied": "Access is denied. Check credentials and try again.",
    "TooManyRequests": "Too many requests.",
    "ServiceNotAvailable": "Service unavailable.",
    "GatewayTimeout": "Gateway timeout.",
    "ErrorDuplicateTransactionId": (
        "Your request can't be completed. The TransactionId specified in the request has "
        "already been used to create a different event."
    ),
}
_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAYS = dict(zip(_DAY_NAMES, weekdays, strict=True))
_DAY_SETS = (set(_DAY_NAMES), set(_DAY_NAMES[:5]), set(_DAY_NAMES[5:]))
_NOT_FOUND = "The specified object was not found in the store."
_EXTENDED = "singleValueExtendedProperties"
_EXPAND = re.compile(rf"{_EXTENDED}(?:\(\$filter=id eq '(?P<id>[^']+)'\))?", re.IGNORECASE)
_INDEX = {"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1}
_FREQ: dict[str, Any] = {"daily": DAILY, "weekly": WEEKLY, "absoluteMonthly": MONTHLY}
_FREQ |= {"relativeMonthly": MONTHLY, "absoluteYearly": YEARLY, "relativeYearly": YEARLY}


class GraphError(Exception):
    """An error answered in Graph's JSON error shape."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error_body(code: str, message: str) -> dict[str, Any]:
    inner = {"date": f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%S}", "request-id": str(uuid.uuid4())}
    return {"error": {"code": code, "message": message, "innerError": inner}}


def _fault_body(fault: Fault) -> dict[str, Any]:
    code = fault.reason or _FAULT_CODES.get(fault.status or 500, "UnknownError")
    return error_body(code, _MESSAGES.get(code, "General exception while processing."))


def _graph_type(name: str) -> str:
    return f"microsoft.graph.{name[:1].lower()}{name[1:]}"


def _body_error(message: str) -> GraphError:
    return GraphError(400, "RequestBodyRead", message)


def _reject_unknown(item: Parsable) -> None:
    for name in getattr(item, "additional_data", None) or {}:
        if "@" not in name:  # instance annotations such as "@odata.etag" are allowed
            raise _body_error(
                f"The property '{name}' does not exist on type '{_graph_type(type(item).__name__)}'"
                ". Make sure to only use property names that are defined by the type or mark the "
                "type as open type."
            )


# kiota's accessors → the OData type an error names and the JSON types they accept; enums
# name their own type.
_ACCESSORS: dict[str, tuple[str, tuple[type, ...]]] = {
    "get_str_value": ("Edm.String", (str,)),
    "get_bool_value": ("Edm.Boolean", (bool,)),
    "get_int_value": ("Edm.Int32", (int,)),
    "get_float_value": ("Edm.Double", (int, float)),
    "get_datetime_value": ("Edm.DateTimeOffset", (str,)),
    "get_date_value": ("Edm.Date", (str,)),
    "get_time_value": ("Edm.TimeOfDay", (str,)),
    "get_timedelta_value": ("Edm.Duration", (str,)),
    "get_uuid_value": ("Edm.Guid", (str,)),
    "get_enum_value": ("", (str,)),
    "get_collection_of_primitive_values": ("Collection", (list,)),
    "get_collection_of_object_values": ("Collection", (list,)),
    "get_collection_of_enum_values": ("Collection", (list,)),
    "get_object_value": ("StartObject", (dict,)),
}


def _strict(name: str, edm: str, kinds: tuple[type, ...]) -> Callable[..., Any]:
    lenient = getattr(JsonParseNode, name)

    def accessor(self: JsonParseNode, *args: Any) -> Any:
        value, expected = self._json_node, edm or _graph_type(args[0].__name__)
        wrong_bool = isinstance(value, bool) and bool not in kinds
        if value is not None and (not isinstance(value, kinds) or wrong_bool):
            raise _body_error(
                f"Cannot convert a primitive value to the expected type '{expected}'."
            )
        result = lenient(self, *args)
        if value is not None and result is None:
            raise _body_error(
                f"Cannot convert the literal '{value}' to the expected type '{expected}'."
            )
        return result

    return accessor


class _StrictNode(JsonParseNode):
    """kiota's JSON parse node, made to refuse what the lenient original silently drops."""

    def _create_new_node(self, node: Any) -> JsonParseNode:
        child = _StrictNode(node)
        child.on_after_assign_field_values = _reject_unknown
        return child


for _name, (_edm, _kinds) in _ACCESSORS.items():
    setattr(_StrictNode, _name, _strict(_name, _edm, _kinds))


def check_event(payload: Any, model: Any = Event) -> dict[str, Any]:
    """``payload`` parsed with msgraph-sdk's ``model`` (``Event`` unless told); a 400 if the
    model refuses it."""
    node = _StrictNode(payload)
    node.on_after_assign_field_values = _reject_unknown
    try:
        node.get_object_value(model)
    except (ValueError, TypeError) as exc:
        raise _body_error(f"Cannot read the request body: {exc}") from exc
    assert isinstance(payload, dict)
    return payload


# Every nested type an event write can hold: parsing it once imports the models kiota loads
# lazily (about a second on a busy machine), so that no request pays for it.
_WARM_UP = {
    "subject": "", "body": {"contentType": "text", "content": ""},
    "start": {"dateTime": "2026-01-01T10:00:00", "timeZone": "UTC"},
    "end": {"dateTime": "2026-01-01T11:00:00", "timeZone": "UTC"},
    "location": {"displayName": ""}, "attendees": [
        {"emailAddress": {"address": "a@example.com", "name": "A"}, "type": "required"}
    ],
    "recurrence": {
        "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"],
                    "firstDayOfWeek": "monday", "index": "first"},
        "range": {"type": "noEnd", "startDate": "2026-01-01", "recurrenceTimeZone": "UTC"},
    },
    "singleValueExtendedProperties": [{"id": "String {0} Name x", "value": ""}],
    "isOnlineMeeting": False, "onlineMeetingProvider": "teamsForBusiness", "transactionId": "w",
}  # fmt: skip


@functools.cache
def warm_up() -> None:
    """Parse one full event body, so the first request is as fast as the next ones."""
    check_event(copy.deepcopy(_WARM_UP))


def graph_zone(name: str) -> ZoneInfo:
    """A Windows or IANA time zone name as Exchange accepts it."""
    try:
        return ZoneInfo(win_tz.get(name, name))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        message = (
            "A valid TimeZone value must be specified. The following TimeZone value is not "
            f"supported: '{name}'."
        )
        raise GraphError(400, "TimeZoneNotSupportedException", message) from exc


def _local(text: str) -> datetime:
    head, _, fraction = text.partition(".")
    try:
        moment = datetime.fromisoformat(head)
    except ValueError as exc:
        raise GraphError(400, "ErrorInvalidRequest", f"Invalid dateTime '{text}'.") from exc
    if moment.tzinfo is not None or (fraction and not fraction.isdigit()):
        message = f"dateTime '{text}' must be a local time: give its zone in timeZone."
        raise GraphError(400, "ErrorInvalidRequest", message)
    return moment.replace(microsecond=int(fraction[:6].ljust(6, "0")) if fraction else 0)


def _shown(moment: datetime) -> str:
    return f"{moment:%Y-%m-%dT%H:%M:%S}.0000000"


def _moment(value: dict[str, Any]) -> datetime:
    return _local(value["dateTime"]).replace(tzinfo=graph_zone(value["timeZone"]))


def _rule(event: dict[str, Any]) -> rrule:
    """The event's patternedRecurrence as a dateutil rule in the recurrence time zone."""
    pattern, span = event["recurrence"].get("pattern") or {}, event["recurrence"].get("range") or {}

    def bad(what: str) -> GraphError:
        return GraphError(400, "ErrorInvalidRequest", f"Invalid recurrence: {what}.")

    zone = graph_zone(span.get("recurrenceTimeZone") or event["start"]["timeZone"])
    kind, days = pattern.get("type"), [_DAYS[d] for d in pattern.get("daysOfWeek") or []]
    if kind not in _FREQ:
        raise bad("pattern.type is required")
    first_day = _DAYS[pattern.get("firstDayOfWeek") or "sunday"]
    options: dict[str, Any] = {"interval": pattern.get("interval") or 1, "wkst": first_day}
    if kind == "weekly" or kind.startswith("relative"):
        if not days:
            raise bad("pattern.daysOfWeek is required")
        options["byweekday"] = days
    if kind.startswith("relative"):
        index = _INDEX[pattern.get("index") or "first"]
        options["bysetpos"] = index
        if len(days) > 1 and set(pattern["daysOfWeek"]) not in _DAY_SETS:
            # Exchange counts one weekday, or day / weekday / weekend day; with another set
            # "the event falls on the first day that satisfies the pattern" (recurrencePattern).
            options["byweekday"], options["bysetpos"] = [d(index) for d in days], 1
    if kind.startswith("absolute"):
        if not pattern.get("dayOfMonth"):
            raise bad("pattern.dayOfMonth is required")
        options["bymonthday"] = pattern["dayOfMonth"]
    if kind.endswith("Yearly"):
        if not pattern.get("month"):
            raise bad("pattern.month is required")
        options["bymonth"] = pattern["month"]
    if not span.get("startDate"):
        raise bad("range.startDate is required")
    start = _moment(event["start"]).astimezone(zone)
    dtstart = datetime.combine(date.fromisoformat(span["startDate"]), start.time(), zone)
    if span.get("type") == "endDate":
        if not span.get("endDate"):
            raise bad("range.endDate is required")
        last = date.fromisoformat(span["endDate"])
        options["until"] = datetime.combine(last, time(23, 59, 59), zone)
    elif span.get("type") == "numbered":
        if (span.get("numberOfOccurrences") or 0) < 1:
            raise bad("range.numberOfOccurrences must be positive")
        options["count"] = span["numberOfOccurrences"]
    elif span.get("type") != "noEnd":
        raise bad("range.type is required")
    return rrule(_FREQ[kind], dtstart=dtstart, **options)


class GraphState:
    """The mailbox of one Graph user: calendars, events and OAuth; tests read and arm it."""

    def __init__(self, *, email: str = "user@example.com", name: str = "Test User") -> None:
        scope = "Calendars.ReadWrite User.Read offline_access"
        self.oauth = OAuthServer(scope=scope, rotate_refresh_tokens=True)
        self.faults = Faults()
        self.requests = RequestLog()
        self.user = {"id": str(uuid.uuid4()), "displayName": name, "mail": email}
        self.user |= {"userPrincipalName": email, "givenName": name.split()[0]}
        self.calendars: dict[str, dict[str, Any]] = {}
        self.events: dict[str, dict[str, Any]] = {}
        self.calendar_of: dict[str, str] = {}
        self.overrides: dict[str, dict[str, Any] | None] = {}
        self.transactions: dict[str, tuple[str, dict[str, Any]]] = {}  # id -> (event, body)
        self.creates = 0
        self.answers: list[tuple[str, str, dict[str, Any]]] = []  # accept/decline… calls
        # Meetings whose deletion on the organizer's calendar sent the attendees a cancellation
        # ("deleting the event on the organizer's calendar sends a cancellation message").
        self.cancellations: list[tuple[str, list[str]]] = []  # (event id, attendee addresses)
        self.default_calendar = self.add_calendar("Calendar", default=True)["id"]

    def new_id(self) -> str:
        return "AAMkAD" + base64.urlsafe_b64encode(os.urandom(34)).decode()

    def add_calendar(self, name: str, *, default: bool = False) -> dict[str, Any]:
        calendar_id = self.new_id()
        self.calendars[calendar_id] = {
            "id": calendar_id, "name": name, "color": "auto", "hexColor": "",
            "isDefaultCalendar": default, "changeKey": secrets.token_urlsafe(12),
            "canShare": True, "canViewPrivateItems": True, "canEdit": True,
            "allowedOnlineMeetingProviders": ["teamsForBusiness"],
            "defaultOnlineMeetingProvider": "teamsForBusiness", "isTallyingResponses": True,
            "isRemovable": not default,
            "owner": {"name": self.user["displayName"], "address": self.user["mail"]},
        }  # fmt: skip
        return self.calendars[calendar_id]

    def calendar(self, calendar_id: str | None) -> dict[str, Any]:
        found = self.calendars.get(calendar_id or self.default_calendar)
        if found is None:
            raise GraphError(404, "ErrorItemNotFound", _NOT_FOUND)
        return found

    def stored(self, calendar_id: str | None = None) -> list[dict[str, Any]]:
        """Single events and series masters of a calendar, as stored."""
        wanted = self.calendar(calendar_id)["id"]
        return [e for i, e in self.events.items() if self.calendar_of[i] == wanted]

    def occurrences(
        self, master: dict[str, Any], after: datetime | None, before: datetime | None
    ) -> list[dict[str, Any]]:
        start, end = _moment(master["start"]), _moment(master["end"])
        found = []
        for moment in occurrences(_rule(master), end - start, after, before):
            occurrence_id = f"{master['id']}_{moment.astimezone(UTC):%Y%m%dT%H%M%SZ}"
            if occurrence_id in self.overrides:
                changed = self.overrides[occurrence_id]
                found += [copy.deepcopy(changed)] if changed is not None else []
                continue
            occurrence = copy.deepcopy(master) | {"id": occurrence_id, "recurrence": None}
            occurrence |= {"type": "occurrence", "seriesMasterId": master["id"]}
            for which, at in (("start", moment), ("end", moment + (end - start))):
                zone_name = master[which]["timeZone"]
                shown = _shown(at.astimezone(graph_zone(zone_name)))
                occurrence[which] = {"dateTime": shown, "timeZone": zone_name}
            occurrence["originalStart"] = f"{moment.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"
            found.append(occurrence)
        return found

    def find(self, event_id: str) -> dict[str, Any]:
        if event_id in self.events:
            return self.events[event_id]
        master = self.events.get(event_id.rpartition("_")[0])
        stamp = event_id.rpartition("_")[2]
        if master and master.get("recurrence") and stamp[:8].isdigit():
            day = datetime.strptime(stamp[:8], "%Y%m%d").replace(tzinfo=UTC)
            for occurrence in self.occurrences(master, day - timedelta(days=1), day + timedelta(2)):
                if occurrence["id"] == event_id:
                    return occurrence
        raise GraphError(404, "ErrorItemNotFound", _NOT_FOUND)

    def finish(self, event: dict[str, Any]) -> None:
        """Check an event about to be stored and fill what the server owns."""
        for which in ("start", "end"):
            value = event.get(which) or {}
            if not value.get("dateTime") or not value.get("timeZone"):
                message = f"Your request can't be completed. {which} needs dateTime and timeZone."
                raise GraphError(400, "ErrorInvalidRequest", message)
            event[which] = {
                "dateTime": _shown(_local(value["dateTime"])),
                "timeZone": value["timeZone"],
            }
            # Graph reports the zone an event was last given in (originalStart/EndTimeZone).
            event[f"original{which.title()}TimeZone"] = value["timeZone"]
        start, end = _moment(event["start"]), _moment(event["end"])
        if end < start:
            raise GraphError(400, "ErrorInvalidRequest", "The end time is before the start time.")
        midnight = start.time() == time() and end.time() == time()
        if event.get("isAllDay") and (not midnight or end == start):
            message = "An all-day event starts and ends at midnight and lasts at least a day."
            raise GraphError(400, "ErrorInvalidRequest", message)
        if event.get("recurrence"):
            _rule(event)
        if event.get("type") != "exception":
            event["type"] = "seriesMaster" if event.get("recurrence") else "singleInstance"
        provider = event.get("onlineMeetingProvider") or "unknown"
        if event.get("isOnlineMeeting"):
            provider = "teamsForBusiness" if provider == "unknown" else provider
            if provider == "teamsForBusiness" and not event.get("onlineMeeting"):
                code = secrets.token_urlsafe(24)
                event["onlineMeeting"] = {"joinUrl": _TEAMS.format(code)}
        else:
            event["onlineMeeting"] = None
        event["onlineMeetingProvider"] = provider
        now = f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%S.%fZ}"
        event.setdefault("createdDateTime", now)
        event["lastModifiedDateTime"], event["changeKey"] = now, secrets.token_urlsafe(12)
        event["@odata.etag"] = f'W/"{event["changeKey"]}"'
        me = {"emailAddress": {"name": self.user["displayName"], "address": self.user["mail"]}}
        defaults = {
            "subject": "", "body": {"contentType": "text", "content": ""}, "isAllDay": False,
            "showAs": "busy", "sensitivity": "normal", "importance": "normal", "categories": [],
            "attendees": [], "hideAttendees": False, "isCancelled": False, "isOrganizer": True,
            "isReminderOn": True, "reminderMinutesBeforeStart": 15, "responseRequested": True,
            "allowNewTimeProposals": True, "isOnlineMeeting": False, "recurrence": None,
            "location": {"displayName": ""}, "locations": [], "seriesMasterId": None,
            "iCalUId": "040000008200E00074C5B7101A82E008" + secrets.token_hex(24).upper(),
            "webLink": f"https://outlook.example/calendar/item/{event['id']}", "organizer": me,
        }  # fmt: skip
        for key, value in defaults.items():
            event.setdefault(key, value)
        for attendee in event["attendees"]:
            attendee.setdefault("type", "required")
            attendee.setdefault("status", {"response": "none", "time": "0001-01-01T00:00:00Z"})


def _prefer(request: Request) -> dict[str, str]:
    found = {}
    for header in request.headers.getlist("prefer"):
        for part in header.split(","):
            name, _, value = part.strip().partition("=")
            found[name.strip().lower()] = value.strip().strip('"')
    return found


def _expanded(event: dict[str, Any], request: Request) -> list[dict[str, Any]]:
    """The extended properties a read's ``$expand`` asks for (Graph shows none otherwise)."""
    match = _EXPAND.fullmatch(request.query_params.get("$expand") or "")
    if request.method != "GET" or match is None:
        return []
    wanted = (match["id"] or "").lower()
    return [p for p in event.get(_EXTENDED) or () if not wanted or p["id"].lower() == wanted]


def _render(event: dict[str, Any], request: Request, zone_name: str | None) -> dict[str, Any]:
    """An event as Graph shows it, its times moved to ``zone_name`` (all-day ones relabelled).

    ``$expand`` and ``$select`` are read on GET only: Graph documents neither for event writes,
    which answer the whole event without its extended properties."""
    shown = copy.deepcopy({k: v for k, v in event.items() if k != _EXTENDED})
    if expanded := _expanded(event, request):
        shown[_EXTENDED] = copy.deepcopy(expanded)
    if zone_name is not None:
        zone = graph_zone(zone_name)
        for which in ("start", "end"):
            at = _local(event[which]["dateTime"])
            if not event.get("isAllDay"):
                at = _moment(event[which]).astimezone(zone)
            shown[which] = {"dateTime": _shown(at), "timeZone": zone_name}
    selected = request.query_params.get("$select") if request.method == "GET" else None
    if selected:
        keep = {*selected.split(","), "id"}
        shown = {k: v for k, v in shown.items() if k in keep or k.startswith("@")}
    return shown


def _meeting_allowed(calendar: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """``body`` without the Teams meeting a calendar that does not allow Teams cannot make (a
    personal account answers the event with ``isOnlineMeeting: false``, and no link)."""
    provider = body.get("onlineMeetingProvider") or calendar.get("defaultOnlineMeetingProvider")
    allowed = calendar.get("allowedOnlineMeetingProviders") or []
    if body.get("isOnlineMeeting") and provider == "teamsForBusiness" and provider not in allowed:
        return {**body, "isOnlineMeeting": False, "onlineMeetingProvider": None}
    return body


def graph_app(state: GraphState) -> FakeApp:
    """The Graph test server for ``state``: ``/{tenant}/oauth2/v2.0/...`` and ``/v1.0/me/...``."""
    warm_up()  # before the server takes requests: a timed request must not pay for imports

    def begin(request: Request) -> tuple[dict[str, Any], str | None]:
        header = request.headers.get("authorization")
        if not state.oauth.valid(header):
            message = "Access token is empty." if not header else _MESSAGES[_FAULT_CODES[401]]
            raise GraphError(401, "InvalidAuthenticationToken", message)
        calendar = state.calendar(request.path_params.get("cid"))
        zone_name = _prefer(request).get("outlook.timezone") or None
        try:
            if zone_name:
                graph_zone(zone_name)
        except GraphError:
            zone_name = None  # an unknown preference is ignored, as Graph does
        return calendar, zone_name

    def reply(request: Request, body: Any, zone_name: str | None, status: int = 200) -> Response:
        headers = {"Preference-Applied": f'outlook.timezone="{zone_name}"'} if zone_name else {}
        return JSONResponse(body, status, headers=headers)

    def listing(request: Request, items: list[Any], zone_name: str | None = None) -> Response:
        query, prefer = request.query_params, _prefer(request)
        try:
            size = int(query.get("$top") or prefer.get("odata.maxpagesize") or 10)
            skip = int(query.get("$skip") or 0)
        except ValueError as exc:
            raise GraphError(400, "BadRequest", "Invalid $top or $skip.") from exc
        answer: dict[str, Any] = {"@odata.context": f"{request.base_url}v1.0/$metadata"}
        answer["value"] = items[skip : skip + size]
        if skip + size < len(items):
            answer["@odata.nextLink"] = str(
                request.url.include_query_params(**{"$skip": skip + size})
            )
        return reply(request, answer, zone_name)

    async def body_of(request: Request) -> dict[str, Any]:
        try:
            payload = json.loads(await request.body() or b"null")
        except json.JSONDecodeError as exc:
            raise _body_error("The request body is not valid JSON.") from exc
        if not isinstance(payload, dict):
            raise _body_error("The request body must be a JSON object.")
        return {k: v for k, v in check_event(payload).items() if k not in _SERVER_FIELDS}

    def window(request: Request) -> tuple[datetime, datetime]:
        bounds = []
        for name in ("startDateTime", "endDateTime"):
            text = request.query_params.get(name)
            if not text:
                message = (
                    "This request requires a time window specified by the query string "
                    "parameters StartDateTime and EndDateTime."
                )
                raise GraphError(400, "ErrorInvalidParameter", message)
            try:
                moment = datetime.fromisoformat(text.replace("z", "Z"))
            except ValueError as exc:
                raise GraphError(400, "ErrorInvalidParameter", f"Invalid {name}.") from exc
            bounds.append(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
        return bounds[0], bounds[1]

    def locate(request: Request) -> dict[str, Any]:
        event = state.find(request.path_params["eid"])
        owner = state.calendar_of.get(event.get("seriesMasterId") or event["id"])
        if request.path_params.get("cid", owner) != owner:
            raise GraphError(404, "ErrorItemNotFound", _NOT_FOUND)
        return event

    def shown(request: Request, events: list[dict[str, Any]], zone_name: str | None) -> list[Any]:
        ordered = sorted(events, key=lambda e: _moment(e["start"]))
        return [_render(e, request, zone_name or "UTC") for e in ordered]

    async def me(request: Request) -> Response:
        begin(request)
        return JSONResponse(
            {"@odata.context": f"{request.base_url}v1.0/$metadata#users/$entity"} | state.user
        )

    async def calendars(request: Request) -> Response:
        begin(request)
        return listing(request, list(state.calendars.values()))

    async def calendar(request: Request) -> Response:
        found, _ = begin(request)
        return JSONResponse(found)

    async def calendar_body(request: Request) -> dict[str, Any]:
        try:
            body = check_event(json.loads(await request.body() or b"null"), Calendar)
        except json.JSONDecodeError:
            raise _body_error("Cannot read the request body.") from None
        writable = {"name", "color", "isDefaultCalendar"}  # the rest is read-only
        if set(body) - writable:
            raise _body_error(f"Read-only properties: {', '.join(sorted(set(body) - writable))}")
        return body

    async def calendar_create(request: Request) -> Response:
        """POST /me/calendars: 201 and the new calendar ("name" is required)."""
        begin(request)
        body = await calendar_body(request)
        if not body.get("name"):
            raise _body_error("The name of the calendar is required.")
        made = state.add_calendar(str(body.pop("name")))
        made.update(body)
        return JSONResponse(made, 201)

    async def calendar_update(request: Request) -> Response:
        found, _ = begin(request)
        found.update(await calendar_body(request))
        found["changeKey"] = secrets.token_urlsafe(12)
        return JSONResponse(found)

    async def calendar_delete(request: Request) -> Response:
        found, _ = begin(request)
        if not found["isRemovable"]:
            raise GraphError(400, "ErrorInvalidRequest", "The default calendar cannot be deleted.")
        del state.calendars[found["id"]]
        for event_id in [e for e, c in state.calendar_of.items() if c == found["id"]]:
            del state.events[event_id], state.calendar_of[event_id]
        return Response(status_code=204)

    async def create(request: Request) -> Response:
        found, zone_name = begin(request)
        body = await body_of(request)
        transaction = body.get("transactionId")
        if transaction and transaction in state.transactions:
            made, first_body = state.transactions[transaction]
            if first_body != body:
                code = "ErrorDuplicateTransactionId"
                raise GraphError(400, code, _MESSAGES[code])
            if made in state.events:  # a retry: the event the first request made
                return reply(
                    request, _render(state.events[made], request, zone_name), zone_name, 201
                )
        event = {"id": state.new_id(), **copy.deepcopy(_meeting_allowed(found, body))}
        state.finish(event)
        state.events[event["id"]], state.calendar_of[event["id"]] = event, found["id"]
        if transaction:
            state.transactions[transaction] = (event["id"], body)
        state.creates += 1
        return reply(request, _render(event, request, zone_name), zone_name, 201)

    async def list_events(request: Request) -> Response:
        found, zone_name = begin(request)
        return listing(request, shown(request, state.stored(found["id"]), zone_name), zone_name)

    async def calendar_view(request: Request) -> Response:
        found, zone_name = begin(request)
        after, before = window(request)
        hits: list[dict[str, Any]] = []
        for event in state.stored(found["id"]):
            if event.get("recurrence"):
                hits += state.occurrences(event, after, before)
                continue
            start, end = _moment(event["start"]), _moment(event["end"])
            if start < before and (end > after or (start == end and start >= after)):
                hits.append(event)
        return listing(request, shown(request, hits, zone_name), zone_name)

    async def instances(request: Request) -> Response:
        _, zone_name = begin(request)
        master = locate(request)
        if not master.get("recurrence"):
            raise GraphError(400, "ErrorInvalidRequest", "The event is not a series master.")
        hits = state.occurrences(master, *window(request))
        return listing(request, shown(request, hits, zone_name), zone_name)

    async def get(request: Request) -> Response:
        _, zone_name = begin(request)
        event = locate(request)
        return reply(request, _render(event, request, zone_name or "UTC"), zone_name)

    async def update(request: Request) -> Response:
        _, zone_name = begin(request)
        old = locate(request)
        changes = await body_of(request)
        if old.get("isOnlineMeeting"):
            # "Outlook ignores any further changes to isOnlineMeeting" and onlineMeetingProvider
            changes.pop("isOnlineMeeting", None)
            changes.pop("onlineMeetingProvider", None)
        calendar = state.calendar(state.calendar_of[old.get("seriesMasterId") or old["id"]])
        event = copy.deepcopy(old) | _meeting_allowed(calendar, changes)
        if old["type"] == "occurrence":
            event["type"] = "exception"
        state.finish(event)
        if event["type"] == "exception":
            state.overrides[event["id"]] = event
        else:
            state.events[event["id"]] = event
            if not event.get("recurrence"):
                stale = [k for k in state.overrides if k.startswith(event["id"] + "_")]
                for key in stale:
                    del state.overrides[key]
        return reply(request, _render(event, request, zone_name), zone_name)

    async def delete(request: Request) -> Response:
        begin(request)
        event = locate(request)
        if event["type"] in ("occurrence", "exception"):
            state.overrides[event["id"]] = None
        else:
            del state.events[event["id"]], state.calendar_of[event["id"]]
        guests = [a["emailAddress"]["address"] for a in event.get("attendees") or ()]
        if guests and event.get("isOrganizer", True):
            state.cancellations.append((event["id"], guests))
        if event["type"] not in ("occurrence", "exception"):
            for key in [k for k in state.overrides if k.startswith(event["id"] + "_")]:
                del state.overrides[key]
        return Response(status_code=204)

    async def failure(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, GraphError)
        return JSONResponse(error_body(exc.code, exc.message), exc.status)

    routes = [
        *oauth_routes(state.oauth, "/{tenant}/oauth2/v2.0/authorize", "/{tenant}/oauth2/v2.0/token")
    ]
    routes.append(Route("/v1.0/me", me, methods=["GET"]))
    routes.append(Route("/v1.0/me/calendars", calendars, methods=["GET"]))
    routes.append(Route("/v1.0/me/calendars", calendar_create, methods=["POST"]))
    routes.append(Route("/v1.0/me/calendars/{cid}", calendar_update, methods=["PATCH"]))
    routes.append(Route("/v1.0/me/calendars/{cid}", calendar_delete, methods=["DELETE"]))
    for base in ("/v1.0/me/calendars/{cid}", "/v1.0/me/calendar", "/v1.0/me"):
        if base != "/v1.0/me":
            routes.append(Route(base, calendar, methods=["GET"]))
        routes.append(Route(base + "/calendarView", calendar_view, methods=["GET"]))
        # Incremental sync (tests/fakes/graph_delta.py).
        delta = graph_delta.endpoint(state, begin, window, shown)
        routes.append(Route(base + "/calendarView/delta", delta, methods=["GET"]))
        routes.append(Route(base + "/events", list_events, methods=["GET"]))
        routes.append(Route(base + "/events", create, methods=["POST"]))
        routes.append(Route(base + "/events/{eid}", get, methods=["GET"]))
        routes.append(Route(base + "/events/{eid}", update, methods=["PATCH"]))
        routes.append(Route(base + "/events/{eid}", delete, methods=["DELETE"]))
        routes.append(Route(base + "/events/{eid}/instances", instances, methods=["GET"]))
        answer = graph_respond.endpoint(state, begin, locate, state.answers)
        routes.append(Route(base + "/events/{eid}/{action}", answer, methods=["POST"]))
    schedule = graph_schedule.endpoint(state, begin)
    routes.append(Route("/v1.0/me/calendar/getSchedule", schedule, methods=["POST"]))
    routes.extend(graph_push.routes(state))  # change notifications (tests/fakes/graph_push.py)
    app = FakeApp(
        routes=routes,
        exception_handlers={GraphError: failure},
        faults=state.faults,
        requests=state.requests,
        fault_body=_fault_body,
    )
    app.state.fake = state
    return app


from tests.fakes import graph_delta, graph_push, graph_respond, graph_schedule  # noqa: E402  (use this module's helpers)
