"""Webhook deliveries: the effect that queues one per matching webhook with each event change,
and the ``webhook`` outbox channel that POSTs them.

The body is the contract's CalendarEvent (as ``GET`` returns it, at the time of the change),
flattened, plus ``event`` (``calendar_event_created|updated|deleted``), ``webhook_name``,
``account_id`` and ``delivery_id``. It is signed with the webhook's secret (HMAC-SHA256 of the
raw body, header ``X-Calgate-Signature: sha256=<hex>``). A 2xx answer within the timeout is a
success; anything else is retried with growing delays, then the delivery is ``failed``.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any, cast

import httpx
import orjson
from sqlalchemy.engine import Connection

from calgate import __version__
from calgate.api.v2.wire import ID_PREFIX, WEBHOOK_TYPES, wire_to_v2
from calgate.api.wire import event_to_wire
from calgate.domain.model import Notifications, with_organizer
from calgate.domain.times import format_utc
from calgate.errors import CalgateError
from calgate.outbox import NewDelivery, Outbox, notices
from calgate.outbox.store import Delivery
from calgate.outbox.worker import Outcome
from calgate.providers.base import Change
from calgate.secrets import SecretBox
from calgate.security import blocked_address, public_transport
from calgate.store.codec import us_to_dt
from calgate.store.db import Database
from calgate.store.ids import new_id
from calgate.webhooks import signing, store
from calgate.webhooks.service import MAX_WEBHOOKS


class WebhookEffect:
    """Queues a delivery to each of the tenant's webhooks that wants this change."""

    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox

    def __call__(self, conn: Connection, change: Change) -> None:
        account = change.account
        if not store.any_for(conn, account.tenant_id):
            return
        name = f"calendar_event_{change.kind}"
        hooks = [
            h
            for h in store.list_for(conn, account.tenant_id, limit=MAX_WEBHOOKS)
            if h.matches(name, account.id)
        ]
        if not hooks:
            return
        event = with_organizer(change.event, account.email, account.name)
        # The invitation state this same change recorded (effects run in order).
        state = notices.states(conn, account.id, [event.id]).get(event.id)
        if state is not None:
            event = dataclasses.replace(event, notifications=cast(Notifications, state))
        self.outbox.add(
            conn,
            tenant_id=account.tenant_id,
            account_id=account.id,
            change_id=new_id(),
            event_id=event.id,
            payload={"event": event_to_wire(event)},
            deliveries=[
                NewDelivery(
                    "webhook", h.id, name, {"webhook_name": h.name, "api_version": h.api_version}
                )
                for h in hooks
            ],
        )


def body_of(delivery: Delivery, payload: dict[str, Any]) -> bytes:
    if delivery.data.get("api_version") == "v2":
        return orjson.dumps(
            {
                "id": delivery.id,
                "created_at": format_utc(us_to_dt(delivery.created_at)),
                "account_id": delivery.account_id,
                "type": WEBHOOK_TYPES.get(delivery.topic, delivery.topic),
                "payload": wire_to_v2(payload["event"]),
            }
        )
    return orjson.dumps(
        {
            **payload["event"],
            "event": delivery.topic,
            "webhook_name": delivery.data.get("webhook_name", ""),
            "account_id": delivery.account_id,
            "delivery_id": delivery.id,
        }
    )


def _names(hook: store.Webhook, topic: str) -> dict[str, str]:
    """The event and webhook headers, in the names the webhook was registered with: a v2
    endpoint's are the body's ``type`` (``calendar.event.new`` …) and its ``we_`` id."""
    if hook.api_version == "v2":
        return {
            signing.EVENT_HEADER: WEBHOOK_TYPES.get(topic, topic),
            signing.WEBHOOK_HEADER: ID_PREFIX + hook.id,
        }
    return {signing.EVENT_HEADER: topic, signing.WEBHOOK_HEADER: hook.id}


class WebhookChannel:
    name = "webhook"

    def __init__(
        self,
        db: Database,
        box: SecretBox,
        *,
        timeout: float,
        max_retries: int,
        allow_loopback: bool = False,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.db = db
        self.box = box
        self.timeout = timeout
        self.max_retries = max_retries
        self.allow_loopback = allow_loopback
        if transport is None and not allow_loopback:
            # Connects only to the address it checked: no DNS rebinding onto loopback.
            transport = public_transport(httpx.Limits())
        self.client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
            transport=transport,
            headers={"User-Agent": f"calgate-webhooks/{__version__}"},
        )

    async def deliver(self, delivery: Delivery, payload: dict[str, Any]) -> Outcome:
        hook = await self.db.read(lambda c: store.get(c, delivery.tenant_id, delivery.target))
        if hook is None:
            return Outcome(False, error="the webhook was deleted", retry=False)
        try:
            secret = self.box.open(hook.secret)["secret"]
        except CalgateError:
            return Outcome(False, error="the webhook secret cannot be decrypted with this key")
        body = body_of(delivery, payload)
        headers = {h["key"]: h["value"] for h in hook.headers}
        headers.update(
            {
                "Content-Type": "application/json",
                signing.SIGNATURE_HEADER: signing.sign(secret, body),
                signing.DELIVERY_HEADER: delivery.id,
                **_names(hook, delivery.topic),
            }
        )
        try:
            async with asyncio.timeout(self.timeout):
                response = await self.client.post(hook.request_url, content=body, headers=headers)
        except (TimeoutError, httpx.TimeoutException):
            return Outcome(False, error=f"no answer within {self.timeout:g} s")
        except httpx.HTTPError as exc:
            blocked = blocked_address(exc)
            if blocked is not None:
                return Outcome(False, error=f"not calling {hook.request_url}: {blocked}")
            return Outcome(False, error=f"{type(exc).__name__}: {exc}"[:500])
        if 200 <= response.status_code < 300:
            return Outcome(True, code=response.status_code)
        text = response.text[:300].replace("\r", " ").replace("\n", " ")
        return Outcome(
            False, code=response.status_code, error=f"HTTP {response.status_code} {text}"
        )

    async def aclose(self) -> None:
        await self.client.aclose()
