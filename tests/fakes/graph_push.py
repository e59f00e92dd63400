"""Change notifications on the Graph test server, as "Set up notifications for changes in
resource data", "Reduce missing subscriptions and change notifications" (lifecycle
notifications) and the ``subscription`` resource (v1.0) describe them.

- ``POST /subscriptions``: ``changeType`` (``created``, ``updated``, ``deleted``, comma
  separated), ``notificationUrl`` (HTTPS; :attr:`Subscriptions.allow_http` lets tests use
  http), ``resource`` (``me/events`` or ``me/calendars/{id}/events``), ``expirationDateTime``
  (in the future, at most 4,230 minutes ahead for Outlook events), ``clientState`` (at most
  128 characters), ``lifecycleNotificationUrl``. Before answering, Graph POSTs
  ``?validationToken=…`` (``text/plain``) to each URL and expects, within 10 seconds, a 200
  whose plain-text body is the token; otherwise 400. The answer (201) is the subscription.
- ``PATCH /subscriptions/{id}`` (a new ``expirationDateTime``) renews; ``DELETE`` ends; a
  subscription past its expiration is gone (404).
- Each change of a watched calendar is POSTed as ``{"value": [{subscriptionId,
  subscriptionExpirationDateTime, changeType, resource, resourceData, clientState,
  tenantId}]}``; :func:`lifecycle` sends ``reauthorizationRequired``, ``subscriptionRemoved``
  (and drops the subscription) or ``missed`` to the lifecycle URL.

A notifier thread compares each watched calendar's events (id → ``changeKey``) with what it
notified last, so changes through the API and "from outside" (:mod:`tests.fakes.graph_delta`)
are both pushed, over real HTTP.
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from weakref import WeakKeyDictionary

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.graph import GraphError, GraphState
from tests.fakes.notifier import Notifier

MAX_MINUTES = 4230
CHANGE_TYPES = {"created", "updated", "deleted"}
TENANT = "9188040d-6c67-4c5b-b112-36a304b66dad"


@dataclass
class Subscription:
    id: str
    calendar_id: str
    resource: str
    change_types: set[str]
    notification_url: str
    lifecycle_url: str
    client_state: str
    expires: datetime
    seen: dict[str, str] | None = None  # event id -> changeKey, as last notified

    def wire(self) -> dict[str, Any]:
        return {
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#subscriptions/$entity",
            "id": self.id,
            "resource": self.resource,
            "applicationId": "24d3b144-21ae-4080-943f-7067b395b913",
            "changeType": ",".join(sorted(self.change_types)),
            "clientState": self.client_state,
            "notificationUrl": self.notification_url,
            "lifecycleNotificationUrl": self.lifecycle_url or None,
            "expirationDateTime": _iso(self.expires),
            "creatorId": "8ee44408-0679-472c-bc2a-692812af3437",
            "latestSupportedTlsVersion": "v1_2",
            "notificationContentType": None,
            "includeResourceData": None,
        }


@dataclass
class Posted:
    subscription_id: str
    kind: str  # created / updated / deleted / a lifecycle event
    status: int  # 0: the URL could not be reached


@dataclass
class Subscriptions:
    items: dict[str, Subscription] = field(default_factory=dict)
    deleted: list[str] = field(default_factory=list)
    renewed: list[str] = field(default_factory=list)
    sent: list[Posted] = field(default_factory=list)
    validations: list[tuple[str, int]] = field(default_factory=list)  # (url, status)
    allow_http: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


_kept: WeakKeyDictionary[GraphState, Subscriptions] = WeakKeyDictionary()


def subscriptions(state: GraphState) -> Subscriptions:
    return _kept.setdefault(state, Subscriptions())


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


def _now() -> datetime:
    return datetime.now(UTC)


def live(state: GraphState) -> list[Subscription]:
    now = _now()
    with subscriptions(state).lock:
        return [s for s in subscriptions(state).items.values() if s.expires > now]


def _snapshot(state: GraphState, calendar_id: str) -> dict[str, str]:
    for _ in range(5):  # the server's thread may be changing the dictionaries
        try:
            found = {
                i: str(e.get("changeKey"))
                for i, e in list(state.events.items())
                if state.calendar_of.get(i) == calendar_id
            }
            for key, override in list(state.overrides.items()):
                if any(key.startswith(master + "_") for master in found):
                    found[key] = str((override or {}).get("changeKey", "deleted"))
            return found
        except RuntimeError:
            continue
    return {}


def _post(client: httpx.Client, url: str, entries: list[dict[str, Any]]) -> int:
    try:
        return client.post(url, json={"value": entries}).status_code
    except httpx.HTTPError:
        return 0


def _changes(state: GraphState, sub: Subscription, now: dict[str, str]) -> list[dict[str, Any]]:
    before = sub.seen or {}
    user = state.user["id"]
    entries = []
    for event_id in sorted(set(before) | set(now)):
        if before.get(event_id) == now.get(event_id):
            continue
        kind = (
            "created" if event_id not in before else "deleted" if event_id not in now else "updated"
        )
        if kind not in sub.change_types:
            continue
        resource = f"Users/{user}/Events/{event_id}"
        data = {"@odata.type": "#Microsoft.Graph.Event", "@odata.id": resource, "id": event_id}
        if event_id in now:
            data["@odata.etag"] = f'W/"{now[event_id]}"'
        entries.append(
            {
                "subscriptionId": sub.id,
                "subscriptionExpirationDateTime": _iso(sub.expires),
                "changeType": kind,
                "resource": resource,
                "resourceData": data,
                "clientState": sub.client_state,
                "tenantId": TENANT,
            }
        )
    return entries


def _round(state: GraphState, kept: Subscriptions, client: httpx.Client) -> bool:
    watched = live(state)
    for sub in watched:
        now = _snapshot(state, sub.calendar_id)
        entries = _changes(state, sub, now) if sub.seen is not None else []
        sub.seen = now
        if entries:
            status = _post(client, sub.notification_url, entries)
            kept.sent.extend(Posted(sub.id, e["changeType"], status) for e in entries)
    return bool(watched)


def _invalid(message: str) -> GraphError:
    return GraphError(400, "InvalidRequest", message)


def _expiry(value: Any) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise _invalid("expirationDateTime is not a valid date.") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if moment <= _now():
        raise _invalid("Subscription expiration must be in the future.")
    if moment > _now() + timedelta(minutes=MAX_MINUTES):
        raise _invalid(f"Subscription expiration can only be {MAX_MINUTES} minutes in the future.")
    return moment


def _calendar_of(state: GraphState, resource: str) -> str:
    parts = resource.strip("/").split("/")
    if parts[:1] != ["me"] or parts[-1:] != ["events"]:
        raise _invalid(f"Resource '{resource}' is not supported.")
    if len(parts) == 2:
        return str(state.default_calendar)
    if len(parts) == 4 and parts[1] == "calendars":
        return str(state.calendar(parts[2])["id"])
    raise _invalid(f"Resource '{resource}' is not supported.")


async def _validate(kept: Subscriptions, url: str) -> None:
    """Graph's handshake: the URL must echo the token, as plain text, within 10 s."""
    if not (url.startswith("https://") or (kept.allow_http and url.startswith("http://"))):
        raise _invalid("The notification URL must use HTTPS.")
    token = (
        "Validation: Testing client application reachability for subscription Request-Id: "
        f"{uuid.uuid4()}"
    )
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            answer = await client.post(
                url, params={"validationToken": token}, headers={"Content-Type": "text/plain"}
            )
    except httpx.HTTPError:
        kept.validations.append((url, 0))
        raise _invalid(
            "Subscription validation request failed. Notification endpoint must respond with "
            "200 OK to validation request."
        ) from None
    kept.validations.append((url, answer.status_code))
    plain = answer.headers.get("content-type", "").startswith("text/plain")
    if answer.status_code != 200 or answer.text != token or not plain:
        raise _invalid(
            "Subscription validation request failed. Response must exactly match "
            "validationToken query parameter."
        )


def routes(state: GraphState) -> list[Route]:
    kept = subscriptions(state)
    notifier = Notifier(lambda client: _round(state, kept, client))

    def authorized(request: Request) -> None:
        if not state.oauth.valid(request.headers.get("authorization")):
            raise GraphError(401, "InvalidAuthenticationToken", "Access token is empty.")

    async def body_of(request: Request) -> dict[str, Any]:
        authorized(request)
        try:
            body = json.loads(await request.body() or b"null")
        except json.JSONDecodeError:
            raise _invalid("Unable to read JSON request payload.") from None
        if not isinstance(body, dict):
            raise _invalid("Unable to read JSON request payload.")
        return body

    def found(request: Request) -> Subscription:
        sub = kept.items.get(request.path_params["sid"])
        if sub is None or sub.expires <= _now():
            raise GraphError(404, "ResourceNotFound", "The object was not found.")
        return sub

    async def create(request: Request) -> Response:
        body = await body_of(request)
        kinds = {k.strip() for k in str(body.get("changeType") or "").split(",") if k.strip()}
        if not kinds or kinds - CHANGE_TYPES:
            raise _invalid("changeType must be created, updated and/or deleted.")
        client_state = str(body.get("clientState") or "")
        if len(client_state) > 128:
            raise _invalid("clientState must be at most 128 characters.")
        resource = str(body.get("resource") or "")
        calendar_id = _calendar_of(state, resource)
        expires = _expiry(body.get("expirationDateTime"))
        url, lifecycle_url = (
            str(body.get("notificationUrl") or ""),
            str(body.get("lifecycleNotificationUrl") or ""),
        )
        await _validate(kept, url)
        if lifecycle_url:
            await _validate(kept, lifecycle_url)
        sub = Subscription(
            str(uuid.uuid4()),
            calendar_id,
            resource,
            kinds,
            url,
            lifecycle_url,
            client_state,
            expires,
        )
        sub.seen = _snapshot(state, calendar_id)
        with kept.lock:
            kept.items[sub.id] = sub
        notifier.start()
        return JSONResponse(sub.wire(), 201)

    async def renew(request: Request) -> Response:
        sub = found(request)
        body = await body_of(request)
        sub.expires = _expiry(body.get("expirationDateTime"))
        kept.renewed.append(sub.id)
        return JSONResponse(sub.wire())

    async def delete(request: Request) -> Response:
        authorized(request)
        sub = found(request)
        with kept.lock:
            kept.items.pop(sub.id, None)
            kept.deleted.append(sub.id)
        return Response(status_code=204)

    return [
        Route("/v1.0/subscriptions", create, methods=["POST"]),
        Route("/v1.0/subscriptions/{sid}", renew, methods=["PATCH"]),
        Route("/v1.0/subscriptions/{sid}", delete, methods=["DELETE"]),
    ]


def lifecycle(state: GraphState, subscription_id: str, event: str, client_state: str = "") -> int:
    """Graph sends a lifecycle notification (``subscriptionRemoved`` also drops the
    subscription); the status calgate answered. ``client_state``: a forger's guess (then
    nothing is dropped)."""
    kept = subscriptions(state)
    sub = kept.items[subscription_id]
    entry = {
        "subscriptionId": sub.id,
        "subscriptionExpirationDateTime": _iso(sub.expires),
        "tenantId": TENANT,
        "clientState": client_state or sub.client_state,
        "lifecycleEvent": event,
    }
    if event == "subscriptionRemoved" and not client_state:
        with kept.lock:
            kept.items.pop(sub.id, None)
    with httpx.Client(timeout=10) as client:
        status = _post(client, sub.lifecycle_url, [entry])
    kept.sent.append(Posted(sub.id, event, status))
    return status


def expire(state: GraphState) -> None:
    """Every subscription expires now (as after a long downtime)."""
    with subscriptions(state).lock:
        for sub in subscriptions(state).items.values():
            sub.expires = _now() - timedelta(seconds=1)
