"""Webhooks (Unipile v1 shapes): create, list, get, delete; and their deliveries."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from calgate.api.deps import CallerDep, KnownQuery
from calgate.api.errors import COMMON_ERRORS, error_responses
from calgate.api.responses import JSONResponse
from calgate.api.wire import parse_limit
from calgate.domain import cursor as cursors
from calgate.domain.times import format_utc
from calgate.errors import InvalidParameters
from calgate.outbox.store import Delivery
from calgate.store.codec import us_to_dt
from calgate.webhooks.service import EVENTS, WebhookSpec, cursor_of
from calgate.webhooks.store import Webhook

router = APIRouter(prefix="/api/v1/webhooks", tags=["Webhooks"], dependencies=[KnownQuery])
ERRORS = error_responses(*COMMON_ERRORS)

Short = Annotated[str, StringConstraints(strict=True, max_length=256)]


class HeaderIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    key: Annotated[str, StringConstraints(strict=True, min_length=1, max_length=100)]
    value: Annotated[str, StringConstraints(strict=True, max_length=4096)]


class WebhookCreate(BaseModel):
    """Body of `POST /api/v1/webhooks`."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={
            "examples": [
                {
                    "source": "calendar_event",
                    "request_url": "https://hooks.example.org/calgate",
                    "name": "sync",
                    "events": list(EVENTS),
                    "account_ids": [],
                    "headers": [{"key": "Authorization", "value": "Bearer s3cr3t"}],
                }
            ]
        },
    )
    source: Annotated[str, StringConstraints(strict=True, max_length=40)] = Field(
        description="`calendar_event`, or `account_status` (Unipile's account status "
        "updates; no `events`)."
    )
    request_url: Annotated[str, StringConstraints(strict=True, max_length=2048)] = Field(
        description="http(s) URL receiving a POST per event change."
    )
    name: Short | None = None
    events: Annotated[list[Short], Field(max_length=10)] | None = Field(
        None, description="Subset of " + ", ".join(EVENTS) + " (default: all)."
    )
    account_ids: (
        Annotated[list[Annotated[str, StringConstraints(max_length=80)]], Field(max_length=500)]
        | None
    ) = Field(None, description="Only changes of these accounts (default: all).")
    headers: Annotated[list[HeaderIn], Field(max_length=20)] | None = Field(
        None, description="Extra headers sent with each delivery."
    )
    format: Literal["json"] | None = Field(None, description="Always JSON.")


def webhook_to_wire(hook: Webhook) -> dict[str, Any]:
    return {
        "object": "Webhook",
        "id": hook.id,
        "name": hook.name,
        "source": hook.source,
        "request_url": hook.request_url,
        "format": "json",
        "events": hook.events,
        "account_ids": hook.account_ids,
        "headers": hook.headers,
        "enabled": hook.enabled,
        "created_at": format_utc(us_to_dt(hook.created_at)),
    }


def _time(value: int | None) -> str | None:
    return format_utc(us_to_dt(value)) if value is not None else None


def delivery_to_wire(d: Delivery) -> dict[str, Any]:
    return {
        "object": "WebhookDelivery",
        "id": d.id,
        "webhook_id": d.target,
        "event": d.topic,
        "event_id": d.event_id,
        "account_id": d.account_id,
        "status": d.status,
        "attempts": d.attempts,
        "next_attempt_at": _time(d.next_attempt_at) if d.status == "pending" else None,
        "last_status_code": d.last_code,
        "last_error": d.last_error,
        "created_at": _time(d.created_at),
        "delivered_at": _time(d.delivered_at),
    }


def spec_of(body: WebhookCreate, api_version: str = "v1") -> WebhookSpec:
    return WebhookSpec(
        source=body.source,
        request_url=body.request_url,
        name=body.name or "",
        events=body.events,
        account_ids=body.account_ids or [],
        headers=[(h.key, h.value) for h in body.headers or []],
        api_version=api_version,
    )


@router.post(
    "",
    summary="Create a webhook",
    description="Every change of a calendar event made through calgate is POSTed to "
    "`request_url`, signed with the `secret` returned here (and never again): header "
    "`X-Calgate-Signature: sha256=<hex HMAC-SHA256 of the raw body>`.",
    status_code=201,
    response_model=None,
    responses=ERRORS,
)
async def create_webhook(call: CallerDep, body: WebhookCreate) -> JSONResponse:
    hook, secret = await call.runtime.webhooks.create(call.tenant, spec_of(body))
    return JSONResponse(
        {"object": "WebhookCreated", "webhook_id": hook.id, "secret": secret}, status_code=201
    )


@router.get("", summary="List webhooks", response_model=None, responses=ERRORS)
async def list_webhooks(
    call: CallerDep,
    cursor: str | None = Query(None, max_length=120),
    limit: str | None = Query(None, description="1..250, default 100"),
) -> dict[str, Any]:
    size = parse_limit(limit)
    after = cursors.decode_id(cursor) if cursor else None
    found = await call.runtime.webhooks.list_page(call.tenant, after=after, limit=size + 1)
    return {
        "object": "WebhookList",
        "items": [webhook_to_wire(h) for h in found[:size]],
        "cursor": cursors.encode_id(found[size - 1].id) if len(found) > size else None,
    }


@router.get("/{webhook_id}", summary="Get a webhook", response_model=None, responses=ERRORS)
async def get_webhook(call: CallerDep, webhook_id: str) -> dict[str, Any]:
    return webhook_to_wire(await call.runtime.webhooks.get(call.tenant, webhook_id))


@router.delete(
    "/{webhook_id}",
    summary="Delete a webhook",
    description="Deletes the webhook and its pending deliveries.",
    response_model=None,
    responses=ERRORS,
)
async def delete_webhook(call: CallerDep, webhook_id: str) -> dict[str, Any]:
    await call.runtime.webhooks.delete(call.tenant, webhook_id)
    return {"object": "WebhookDeleted"}


@router.get(
    "/{webhook_id}/deliveries",
    summary="Deliveries of a webhook",
    description="Newest first. `status`: `pending` (queued or being retried), `delivered`, "
    "`failed` (no 2xx after every retry). Kept for `outbox_retention_days`.",
    response_model=None,
    responses=ERRORS,
)
async def list_deliveries(
    call: CallerDep,
    webhook_id: str,
    status: str | None = Query(None, max_length=20),
    cursor: str | None = Query(None, max_length=200),
    limit: str | None = Query(None, description="1..250, default 100"),
) -> dict[str, Any]:
    if status is not None and status not in ("pending", "delivered", "failed"):
        raise InvalidParameters("status: one of pending, delivered, failed")
    size = parse_limit(limit)
    found = await call.runtime.webhooks.deliveries(
        call.tenant, webhook_id, status=status, after=cursor or None, limit=size + 1
    )
    return {
        "object": "WebhookDeliveryList",
        "items": [delivery_to_wire(d) for d in found[:size]],
        "cursor": cursor_of(found[size - 1]) if len(found) > size else None,
    }


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/retry",
    summary="Send a delivery again",
    description="Queues a delivery again (e.g. a failed one) with a fresh set of retries; "
    "same delivery id, so a receiver that already has it can drop it.",
    response_model=None,
    responses=ERRORS,
)
async def retry_delivery(call: CallerDep, webhook_id: str, delivery_id: str) -> dict[str, Any]:
    done = await call.runtime.webhooks.redeliver(call.tenant, webhook_id, delivery_id)
    return delivery_to_wire(done)
