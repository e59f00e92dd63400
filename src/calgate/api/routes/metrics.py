"""Prometheus metrics (see calgate.metrics); unauthenticated, like /healthz: keep it on the
private side of the load balancer."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from calgate import metrics
from calgate.runtime import Runtime

router = APIRouter(tags=["Operations"])


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    description="Requests by route and status, request latency by route, provider call "
    "latency by provider, outbox depth and failures, process figures. Per instance.",
    response_class=Response,
    responses={
        200: {
            "description": "Prometheus text exposition format.",
            "content": {metrics.CONTENT_TYPE: {"schema": {"type": "string"}}},
        }
    },
)
async def get_metrics(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    return Response(await metrics.render(runtime), media_type=metrics.CONTENT_TYPE)
