"""v2 webhook endpoints: `/v2/webhooks/endpoints` (create, list, get, update, delete), as the
official v2 client's WebhooksApi has them, over v1's webhooks service and store. Bodies and
answers follow its models: CreateWebhookEndpointRequest, UpdateWebhookEndpointRequest,
CreateWebhookEndpoint200Response (the endpoint), ListWebhookEndpoints200Response and
RemoveAccount200Response (delete). Deliveries are v2's event object (``{id, created_at,
account_id, type, payload}``, :func:`calgate.webhooks.delivery.body_of`). A v1 webhook is not a
v2 endpoint (404 here)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from calgate.api.deps import Caller, CallerDep
from calgate.api.errors import COMMON_ERRORS, error_responses
from calgate.api.responses import JSONResponse
from calgate.api.routes.webhooks import WebhookCreate, spec_of
from calgate.api.schemas import Strict
from calgate.api.v2.deps import KnownV2Query
from calgate.api.v2.wire import ID_PREFIX, WEBHOOK_TYPES, endpoint_to_v2
from calgate.api.wire import parse_limit, parse_offset
from calgate.errors import FeatureNotImplemented, InvalidParameters, NotFound
from calgate.security import validate_public_url
from calgate.webhooks.service import MAX_WEBHOOKS, SOURCE, WebhookChanges, WebhookSpec
from calgate.webhooks.store import Webhook

TAG = "v2 · Webhooks"
router = APIRouter(prefix="/v2/webhooks", tags=[TAG], dependencies=[KnownV2Query])
ERRORS = error_responses(*COMMON_ERRORS, v2=True)

# The trigger_events enum of CreateWebhookEndpointRequest; calgate sends the calendar event
# ones (WEBHOOK_TYPES), the others are a 501.
V2_TRIGGERS = frozenset(
    {
        *("account.status.disconnected", "account.status.running", "account.status.errored"),
        *("account.status.paused", "account.add", "account.reconnect", "account.remove"),
        *("account.initial_sync.running", "account.initial_sync.failed"),
        *("account.initial_sync.completed", "message.new", "message.update", "message.delete"),
        *("message.receipt.read", "message.receipt.delivery", "message.reaction.new"),
        *("chat.delete", "chat.update", "email.new", "email.new.bounce", "email.delete"),
        *("email.draft.new", "email.draft.delete", "email.folder.create"),
        *("email.folder.update", "email.folder.delete", "calendar.create", "calendar.update"),
        *("calendar.delete", "calendar.event.new", "calendar.event.update"),
        *("calendar.event.delete", "tracking.open", "tracking.click", "relation.request.accept"),
    }
)
_V1_OF = {v2: v1 for v1, v2 in WEBHOOK_TYPES.items()}

Short = Annotated[str, StringConstraints(strict=True, max_length=255)]
Triggers = Annotated[list[Annotated[str, StringConstraints(max_length=60)]], Field(max_length=40)]
AccountIds = Annotated[
    list[Annotated[str, StringConstraints(max_length=80)]], Field(max_length=500)
]


class EndpointCreate(Strict):
    """CreateWebhookEndpointRequest: `trigger_events` and `url` required."""

    trigger_events: Triggers = Field(examples=[list(WEBHOOK_TYPES.values())])
    account_ids: AccountIds | None = Field(None, description="Only these accounts (default all).")
    url: Short = Field(examples=["https://hooks.example.org/calgate"])
    description: Short | None = None


class EndpointPatch(Strict):
    """UpdateWebhookEndpointRequest: any subset, and `enabled`."""

    trigger_events: Triggers | None = None
    account_ids: AccountIds | None = None
    url: Short | None = None
    description: Short | None = None
    enabled: bool | None = None


class WebhookEndpointV2(BaseModel):
    """CreateWebhookEndpoint200Response."""

    model_config = ConfigDict(extra="forbid")
    object: Literal["WebhookEndpoint"]
    id: str = Field(pattern="^we_")
    application_id: str = Field(pattern="^app_")
    enabled: bool
    description: str | None
    url: str
    trigger_events: list[str]
    secret: str = Field(max_length=36, description="Given on create only; empty afterwards.")
    account_ids: list[str]
    account_targets: list[dict[str, str]] = Field(description="Always empty.")


class WebhookEndpointListV2(BaseModel):
    """ListWebhookEndpoints200Response."""

    model_config = ConfigDict(extra="forbid")
    object: Literal["WebhookEndpoints"]
    data: list[WebhookEndpointV2]
    has_more: bool


class RemovedV2(BaseModel):
    """RemoveAccount200Response (the answer of WebhooksApi.delete_webhook_endpoint)."""

    model_config = ConfigDict(extra="forbid")
    success: bool


def _events(triggers: list[str]) -> list[str]:
    """v1's event names for v2 trigger types."""
    if not triggers:
        raise InvalidParameters(f"trigger_events: give at least one of {', '.join(_V1_OF)}")
    for i, name in enumerate(triggers):
        if name not in V2_TRIGGERS:
            raise InvalidParameters(f"trigger_events[{i}]: {name!r} is not a v2 event type")
        if name not in _V1_OF:
            raise FeatureNotImplemented(
                f"trigger_events[{i}]: calgate sends {', '.join(_V1_OF)} only, not {name}"
            )
    return [_V1_OF[name] for name in triggers]


def _url(call: Caller, url: str) -> str:
    return validate_public_url(
        url, allow_loopback=call.runtime.webhooks.allow_loopback, field="url"
    )


async def _endpoint(call: Caller, endpoint_id: str) -> Webhook:
    try:
        hook = await call.runtime.webhooks.get(call.tenant, endpoint_id.removeprefix(ID_PREFIX))
    except NotFound:
        hook = None
    if hook is None or hook.api_version != "v2":
        raise NotFound(f"webhook endpoint {endpoint_id!r} not found")
    return hook


# WebhooksApi writes the create and list paths with a trailing slash
# (``/v2/webhooks/endpoints/``): served as they are. A redirect to the path without it made a
# keyed create a 400 (the key was taken by the 307, the redirected request is another one).
@router.post("/endpoints/", include_in_schema=False, response_model=None)
@router.post(
    "/endpoints",
    summary="Create a webhook endpoint (v2)",
    description="Answers **200** with the endpoint and its signing `secret` (shown only here); "
    "deliveries are `{id, created_at, account_id, type, payload}`, the event in v2's shape.",
    response_model=None,
    responses={200: {"model": WebhookEndpointV2}, **ERRORS},
)
async def create_endpoint_v2(call: CallerDep, body: EndpointCreate) -> dict[str, Any]:
    spec = WebhookSpec(
        source=SOURCE,
        request_url=_url(call, body.url),
        name=body.description or "",
        events=_events(body.trigger_events),
        account_ids=body.account_ids or [],
        api_version="v2",
    )
    hook, secret = await call.runtime.webhooks.create(call.tenant, spec)
    return endpoint_to_v2(hook, secret)


@router.post(
    "",
    summary="Create a webhook endpoint (v2, former path)",
    description="calgate's first v2 path: the body of `POST /api/v1/webhooks`, answers **201** "
    "`{id, secret}`. Use `POST /v2/webhooks/endpoints`.",
    status_code=201,
    response_model=None,
    responses=ERRORS,
    deprecated=True,
)
async def create_webhook_v2(call: CallerDep, body: WebhookCreate) -> JSONResponse:
    hook, secret = await call.runtime.webhooks.create(call.tenant, spec_of(body, "v2"))
    return JSONResponse({"id": hook.id, "secret": secret}, status_code=201)


@router.get("/endpoints/", include_in_schema=False, response_model=None)
@router.get(
    "/endpoints",
    summary="List webhook endpoints (v2)",
    description="ListWebhookEndpoints200Response: `{object, data, has_more}`; `offset`, "
    "`limit` (1..250, default 20).",
    response_model=None,
    responses={200: {"model": WebhookEndpointListV2}, **ERRORS},
)
async def list_endpoints_v2(
    call: CallerDep,
    offset: str | None = Query(None, description="Endpoints to skip."),
    limit: str | None = Query(None, description="1..250, default 20"),
) -> dict[str, Any]:
    size, skip = parse_limit(limit, default=20), parse_offset(offset, None)
    found: list[Webhook] = []
    after: str | None = None
    while True:  # a tenant has at most MAX_WEBHOOKS webhooks
        page = await call.runtime.webhooks.list_page(call.tenant, after=after, limit=MAX_WEBHOOKS)
        found += [h for h in page if h.api_version == "v2"]
        if len(page) < MAX_WEBHOOKS:
            break
        after = page[-1].id
    return {
        "object": "WebhookEndpoints",
        "data": [endpoint_to_v2(h) for h in found[skip : skip + size]],
        "has_more": skip + size < len(found),
    }


@router.get(
    "/endpoints/{endpoint_id}",
    summary="Get a webhook endpoint (v2)",
    description="The endpoint; its `secret` is empty (shown on create only).",
    response_model=None,
    responses={200: {"model": WebhookEndpointV2}, **ERRORS},
)
async def get_endpoint_v2(call: CallerDep, endpoint_id: str) -> dict[str, Any]:
    return endpoint_to_v2(await _endpoint(call, endpoint_id))


@router.patch(
    "/endpoints/{endpoint_id}",
    summary="Update a webhook endpoint (v2)",
    description="Sets the fields given; answers **200** with the endpoint.",
    response_model=None,
    responses={200: {"model": WebhookEndpointV2}, **ERRORS},
)
async def update_endpoint_v2(
    call: CallerDep, endpoint_id: str, body: EndpointPatch
) -> dict[str, Any]:
    hook = await _endpoint(call, endpoint_id)
    changes = WebhookChanges(
        request_url=_url(call, body.url) if body.url is not None else None,
        name=body.description,
        events=_events(body.trigger_events) if body.trigger_events is not None else None,
        account_ids=body.account_ids,
        enabled=body.enabled,
    )
    return endpoint_to_v2(await call.runtime.webhooks.update(call.tenant, hook.id, changes))


@router.delete(
    "/endpoints/{endpoint_id}",
    summary="Delete a webhook endpoint (v2)",
    description="Deletes the endpoint and its pending deliveries; answers **200** "
    '`{"success": true}`.',
    response_model=None,
    responses={200: {"model": RemovedV2}, **ERRORS},
)
async def delete_endpoint_v2(call: CallerDep, endpoint_id: str) -> dict[str, Any]:
    hook = await _endpoint(call, endpoint_id)
    await call.runtime.webhooks.delete(call.tenant, hook.id)
    return {"success": True}
