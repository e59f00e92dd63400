"""v2 webhooks: registered here, they are delivered in v2's envelope
(``{id, created_at, account_id, type, payload}``, the event in v2's shape); list, read and
delete them through ``/api/v1/webhooks``."""

from __future__ import annotations

from fastapi import APIRouter

from calgate.api.deps import CallerDep
from calgate.api.errors import COMMON_ERRORS, error_responses
from calgate.api.responses import JSONResponse
from calgate.api.routes.webhooks import WebhookCreate, spec_of

router = APIRouter(prefix="/v2/webhooks", tags=["v2 · Webhooks"])


@router.post(
    "",
    summary="Create a webhook (v2 envelope)",
    description="As `POST /api/v1/webhooks`; its deliveries are `{id, created_at, account_id, "
    "type, payload}` with the event in v2's shape. Answers **201** with the id and the "
    "signing secret (shown only here).",
    status_code=201,
    response_model=None,
    responses=error_responses(*COMMON_ERRORS),
)
async def create_webhook_v2(call: CallerDep, body: WebhookCreate) -> JSONResponse:
    hook, secret = await call.runtime.webhooks.create(call.tenant, spec_of(body, "v2"))
    return JSONResponse({"id": hook.id, "secret": secret}, status_code=201)
