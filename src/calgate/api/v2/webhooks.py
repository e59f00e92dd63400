"""v2 webhook endpoints: `/v2/webhooks/endpoints` (create, list, get, delete), the v2 names of
v1's `/api/v1/webhooks` (Unipile's v2 migration guide, "Webhooks"). Their deliveries are v2's
event object (``{id, created_at, account_id, type, payload}``, the event in v2's shape); the
webhooks service and its store are v1's. A v1 webhook is not a v2 endpoint (404 here)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from calgate.api.deps import Caller, CallerDep
from calgate.api.errors import COMMON_ERRORS, error_responses
from calgate.api.responses import JSONResponse
from calgate.api.routes.webhooks import WebhookCreate, spec_of, webhook_to_wire
from calgate.api.wire import parse_limit
from calgate.domain import cursor as cursors
from calgate.errors import NotFound
from calgate.webhooks.store import Webhook

TAG = "v2 · Webhooks"
router = APIRouter(prefix="/v2/webhooks", tags=[TAG])
ERRORS = error_responses(*COMMON_ERRORS)


def endpoint_to_v2(hook: Webhook) -> dict[str, Any]:
    out = webhook_to_wire(hook)
    del out["object"]
    return out


async def _endpoint(call: Caller, webhook_id: str) -> Webhook:
    hook = await call.runtime.webhooks.get(call.tenant, webhook_id)
    if hook.api_version != "v2":
        raise NotFound(f"webhook endpoint {webhook_id!r} not found")
    return hook


async def _create(call: CallerDep, body: WebhookCreate) -> JSONResponse:
    hook, secret = await call.runtime.webhooks.create(call.tenant, spec_of(body, "v2"))
    return JSONResponse({"id": hook.id, "secret": secret}, status_code=201)


@router.post(
    "/endpoints",
    summary="Create a webhook endpoint (v2)",
    description="Body as `POST /api/v1/webhooks`; deliveries are `{id, created_at, account_id, "
    "type, payload}` with the event in v2's shape. Answers **201** with the id and the "
    "signing secret (shown only here).",
    status_code=201,
    response_model=None,
    responses=ERRORS,
)
async def create_endpoint_v2(call: CallerDep, body: WebhookCreate) -> JSONResponse:
    return await _create(call, body)


@router.post(
    "",
    summary="Create a webhook endpoint (v2, former path)",
    description="As `POST /v2/webhooks/endpoints`, kept for clients of calgate's first v2.",
    status_code=201,
    response_model=None,
    responses=ERRORS,
    deprecated=True,
)
async def create_webhook_v2(call: CallerDep, body: WebhookCreate) -> JSONResponse:
    return await _create(call, body)


@router.get(
    "/endpoints",
    summary="List webhook endpoints (v2)",
    description="The tenant's v2 endpoints: `{data, next_cursor}`; `limit` 1..250, default 20.",
    response_model=None,
    responses=ERRORS,
)
async def list_endpoints_v2(
    call: CallerDep,
    cursor: str | None = Query(None, max_length=120),
    limit: str | None = Query(None, description="1..250, default 20"),
) -> dict[str, Any]:
    size = parse_limit(limit, default=20)
    after = cursors.decode_id(cursor) if cursor else None
    found: list[Webhook] = []
    while len(found) <= size:
        page = await call.runtime.webhooks.list_page(call.tenant, after=after, limit=size + 1)
        found += [h for h in page if h.api_version == "v2"]
        if len(page) <= size:
            break
        after = page[-1].id
    return {
        "data": [endpoint_to_v2(h) for h in found[:size]],
        "next_cursor": cursors.encode_id(found[size - 1].id) if len(found) > size else None,
    }


@router.get(
    "/endpoints/{endpoint_id}",
    summary="Get a webhook endpoint (v2)",
    response_model=None,
    responses=ERRORS,
)
async def get_endpoint_v2(call: CallerDep, endpoint_id: str) -> dict[str, Any]:
    return endpoint_to_v2(await _endpoint(call, endpoint_id))


@router.delete(
    "/endpoints/{endpoint_id}",
    summary="Delete a webhook endpoint (v2)",
    description="Deletes the endpoint and its pending deliveries; answers **204**.",
    status_code=204,
    response_model=None,
    responses=ERRORS,
)
async def delete_endpoint_v2(call: CallerDep, endpoint_id: str) -> Response:
    await _endpoint(call, endpoint_id)
    await call.runtime.webhooks.delete(call.tenant, endpoint_id)
    return Response(status_code=204)
