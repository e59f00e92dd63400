"""Push notifications on the Google test server, as "Push notifications" of the Calendar API
guide and the ``Channel`` schema of ``calendar.v3.json`` describe them.

- ``events.watch`` (``POST calendars/{calendarId}/events/watch``): ``id`` (unique), ``type``
  ``web_hook``, ``address`` (HTTPS; :attr:`Watches.allow_http` lets tests use http),
  ``token``, ``params.ttl`` in seconds (default 604800). The answer carries ``resourceId``,
  ``resourceUri`` and ``expiration`` (milliseconds since the epoch, as a string).
- Right after, a ``sync`` message; then an ``exists`` message for every change of the watched
  calendar, numbered by ``X-Goog-Message-Number``, with ``X-Goog-Channel-ID``,
  ``X-Goog-Channel-Token``, ``X-Goog-Channel-Expiration`` (RFC 1123), ``X-Goog-Resource-ID``,
  ``X-Goog-Resource-URI`` and ``X-Goog-Resource-State``; an empty body. A channel stops
  sending at its expiration. The guide names three states, ``sync``, ``exists`` and
  ``not_exists`` (the resource no longer exists); with :attr:`Watches.deletions` set to
  ``not_exists`` a change that deletes an event is announced so, else as ``exists`` (the events
  collection itself still exists). Either way the message names no event: the receiver reads
  what changed with its sync token.
- ``channels.stop`` (``POST channels/stop``, ``id`` + ``resourceId``): 404 for a channel the
  server does not hold.

Changes are noticed by a notifier thread that watches each calendar's newest ETag (every change
of the test server issues one), so changes made through the API and "from outside"
(:mod:`tests.fakes.google_sync`) are both pushed, over real HTTP.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any
from weakref import WeakKeyDictionary

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.google import GoogleError, GoogleState, check_event
from tests.fakes.notifier import Notifier

DEFAULT_TTL = 604_800


@dataclass
class Watch:
    id: str
    resource_id: str
    calendar_id: str
    address: str
    token: str
    expiration_ms: int
    seen: int = 0  # newest ETag counter notified (at first: the newest when the watch was made)
    synced: bool = False  # whether the sync message has been sent
    number: int = 0


@dataclass
class Sent:
    channel_id: str
    state: str
    status: int  # 0: the address could not be reached


@dataclass
class Watches:
    channels: dict[str, Watch] = field(default_factory=dict)
    stopped: list[str] = field(default_factory=list)
    sent: list[Sent] = field(default_factory=list)
    allow_http: bool = False
    deletions: str = "exists"  # the state sent when the newest change deletes an event
    lock: threading.Lock = field(default_factory=threading.Lock)


_watches: WeakKeyDictionary[GoogleState, Watches] = WeakKeyDictionary()


def watches(state: GoogleState) -> Watches:
    return _watches.setdefault(state, Watches())


def live(state: GoogleState) -> list[Watch]:
    """The channels that have not expired nor been stopped."""
    now = time.time() * 1000
    with watches(state).lock:
        return [w for w in watches(state).channels.values() if w.expiration_ms > now]


def _newest(state: GoogleState, calendar_id: str) -> tuple[int, bool]:
    """The calendar's newest ETag counter, and whether that change deleted an event."""
    for _ in range(5):  # the server's thread may be changing the dictionaries
        try:
            found = [*state.events[calendar_id].values(), *state.overrides[calendar_id].values()]
            latest = max(found, key=lambda e: int(str(e["etag"]).strip('"')), default=None)
            if latest is None:
                return 0, False
            return int(str(latest["etag"]).strip('"')), latest.get("status") == "cancelled"
        except RuntimeError:
            continue
    return 0, False


def _send(client: httpx.Client, kept: Watches, watch: Watch, resource_state: str) -> None:
    watch.number += 1
    headers = {
        "X-Goog-Channel-ID": watch.id,
        "X-Goog-Channel-Token": watch.token,
        "X-Goog-Channel-Expiration": formatdate(watch.expiration_ms / 1000, usegmt=True),
        "X-Goog-Resource-ID": watch.resource_id,
        "X-Goog-Resource-URI": f"https://www.googleapis.com/calendar/v3/calendars/"
        f"{watch.calendar_id}/events?alt=json",
        "X-Goog-Resource-State": resource_state,
        "X-Goog-Message-Number": str(watch.number),
    }
    try:
        status = client.post(watch.address, headers=headers, content=b"").status_code
    except httpx.HTTPError:
        status = 0
    kept.sent.append(Sent(watch.id, resource_state, status))


def _round(state: GoogleState, kept: Watches, client: httpx.Client) -> bool:
    channels = live(state)
    for watch in channels:
        newest, deleted = _newest(state, watch.calendar_id)
        if not watch.synced:
            watch.synced = True
            _send(client, kept, watch, "sync")
        if newest > watch.seen:
            watch.seen = newest
            _send(client, kept, watch, kept.deletions if deleted else "exists")
    return bool(channels)


def routes(state: GoogleState) -> list[Route]:
    kept = watches(state)
    notifier = Notifier(lambda client: _round(state, kept, client))

    async def body_of(request: Request) -> dict[str, Any]:
        if not state.oauth.valid(request.headers.get("authorization")):
            raise GoogleError(401, "Request had invalid authentication credentials.", "authError")
        try:
            body = json.loads(await request.body() or b"null")
        except json.JSONDecodeError as exc:
            raise GoogleError(400, "Parse Error", "parseError") from exc
        check_event(body, "Channel")
        return dict(body)

    async def watch(request: Request) -> Response:
        body = await body_of(request)
        calendar = state.calendar(request.path_params["calendarId"])
        channel_id, address = str(body.get("id") or ""), str(body.get("address") or "")
        if not channel_id or body.get("type") not in ("web_hook", "webhook"):
            raise GoogleError(400, "Invalid channel: id and type web_hook are required.")
        if not (address.startswith("https://") or (kept.allow_http and address.startswith("http"))):
            raise GoogleError(
                400, f"WebHook callback must be HTTPS: {address}", "push.webhookUrlNotHttps"
            )
        if channel_id in kept.channels:
            raise GoogleError(400, f"Channel id {channel_id} not unique", "channelIdNotUnique")
        ttl = int((body.get("params") or {}).get("ttl") or DEFAULT_TTL)
        made = Watch(
            channel_id,
            uuid.uuid4().hex,
            calendar["id"],
            address,
            str(body.get("token") or ""),
            int(time.time() * 1000) + ttl * 1000,
            # Changes from now on are announced, even one made before the notifier's next round.
            seen=_newest(state, calendar["id"])[0],
        )
        with kept.lock:
            kept.channels[channel_id] = made
        notifier.start()
        answer = {
            "kind": "api#channel",
            "id": made.id,
            "resourceId": made.resource_id,
            "resourceUri": f"https://www.googleapis.com/calendar/v3/calendars/{calendar['id']}"
            "/events?alt=json",
            "token": made.token,
            "expiration": str(made.expiration_ms),
        }
        return JSONResponse(answer)

    async def stop(request: Request) -> Response:
        body = await body_of(request)
        channel_id = str(body.get("id") or "")
        with kept.lock:
            found = kept.channels.get(channel_id)
            if found is None or found.resource_id != body.get("resourceId"):
                raise GoogleError(404, f"Channel '{channel_id}' not found", "notFound")
            del kept.channels[channel_id]
            kept.stopped.append(channel_id)
        return Response(status_code=204)

    return [
        Route("/calendar/v3/calendars/{calendarId}/events/watch", watch, methods=["POST"]),
        Route("/calendar/v3/channels/stop", stop, methods=["POST"]),
    ]


def expire(state: GoogleState) -> None:
    """Every channel expires now (as after a long downtime)."""
    with watches(state).lock:
        for watch in watches(state).channels.values():
            watch.expiration_ms = 0
