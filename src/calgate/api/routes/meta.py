"""Health and readiness."""

from __future__ import annotations

from fastapi import APIRouter, Request

from calgate.api.responses import JSONResponse
from calgate.runtime import Runtime

router = APIRouter(tags=["Operations"])


@router.get("/healthz", summary="The process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="The database is reachable and migrated")
async def readyz(request: Request) -> JSONResponse:
    runtime: Runtime = request.app.state.runtime
    try:
        current = await runtime.db.migrations_current()
    except Exception as exc:  # any database failure means not ready
        return JSONResponse(
            {"status": "unavailable", "detail": type(exc).__name__}, status_code=503
        )
    if not current:
        return JSONResponse(
            {"status": "unavailable", "detail": "migrations pending"}, status_code=503
        )
    return JSONResponse({"status": "ok"})
