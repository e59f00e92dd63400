"""The one error handler, and the OpenAPI error responses built from the catalogue."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from calgate import offload
from calgate.api.problem import problem
from calgate.api.responses import JSONResponse
from calgate.errors import (
    CATALOGUE,
    NEVER_ANSWERED,
    ROUTE_SPECIFIC,
    CalgateError,
    ErrorType,
    error_type,
    v2_type,
)

log = logging.getLogger("calgate.errors")

CLIENT_GONE_STATUS = 499
"""The status of a request whose client disconnected before its answer (nginx's)."""


def render(
    request: Request, error: ErrorType, detail: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = problem(error, detail, request.url.path)
    return JSONResponse(body, status_code=error.status, headers=headers)


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def describe_validation(errors: list[dict[str, Any]]) -> tuple[str, str]:
    """(type, detail) for pydantic errors, naming each field and reason."""
    details: list[str] = []
    kind = "errors/invalid_parameters"
    for err in errors[:10]:
        loc = tuple(err.get("loc", ()))
        where = loc[0] if loc else ""
        path = _loc(loc[1:]) if where in ("body", "query", "path", "header") else _loc(loc)
        etype = err.get("type", "")
        if etype == "json_invalid":
            kind = "errors/malformed_request"
            details.append(
                f"body is not valid JSON ({err.get('ctx', {}).get('error', 'parse error')})"
            )
            continue
        if etype == "missing" and where == "body" and not path:
            details.append("a JSON body is required")
            continue
        if etype == "extra_forbidden":
            details.append(f"{path}: unknown field")
            continue
        if etype == "missing":
            details.append(
                f"{path}: field required"
                if where == "body"
                else f"{path}: required {where} parameter"
            )
            continue
        msg = str(err.get("msg", "invalid value"))
        if etype == "model_attributes_type" or etype == "dict_type":
            msg = "expected a JSON object"
        details.append(f"{path}: {msg}" if path else msg)
    return kind, "; ".join(details) or "invalid request"


def calgate_error(request: Request, exc: CalgateError) -> JSONResponse:
    """The answer to ``exc`` (logged when it is calgate's or a provider's fault)."""
    if exc.status >= 500 and exc.error.type != "errors/feature_not_implemented":
        log.warning("%s %s: %s", request.method, request.url.path, exc)
    return render(request, exc.error, exc.detail, exc.headers)


def client_gone() -> Response:
    """The answer of a request whose client left (nobody reads it; logs show 499, as nginx)."""
    return Response(status_code=CLIENT_GONE_STATUS)


def install(app: FastAPI) -> None:
    @app.exception_handler(CalgateError)
    async def _calgate(request: Request, exc: CalgateError) -> JSONResponse:
        return calgate_error(request, exc)

    @app.exception_handler(offload.ClientGone)
    async def _gone(request: Request, exc: offload.ClientGone) -> Response:
        return client_gone()

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        kind, detail = describe_validation(list(exc.errors()))
        return render(request, error_type(kind), detail)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            return render(request, error_type("resource_not_found"), f"no route {request.url.path}")
        if exc.status_code == 405:
            allowed = _allowed_methods(request)
            return render(
                request,
                error_type("method_not_allowed"),
                f"{request.method} is not allowed on {request.url.path}",
                {"Allow": allowed} if allowed else dict(exc.headers or {}),
            )
        return render(request, error_type("invalid_parameters"), str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return render(
            request,
            error_type("unexpected_error"),
            "calgate met an unexpected error; it has been logged",
        )


def _allowed_methods(request: Request) -> str:
    """Every method the path answers (Starlette's ``Allow`` names one route's methods only).
    A fixed path (no parameter) is reserved: where one matches, such as
    ``/api/v1/calendars/free_busy``, the routes with parameters that also match do not count."""
    matching = [
        route
        for route in iter_route_contexts(request.app.router.routes)
        if route.path and route.methods and compile_path(route.path)[0].match(request.url.path)
    ]
    fixed = [route for route in matching if "{" not in (route.path or "")]
    return ", ".join(sorted({m for route in fixed or matching for m in route.methods or ()}))


ERROR_SCHEMA = {
    "type": "object",
    "required": ["status", "type", "title"],
    "properties": {
        "status": {"type": "integer"},
        "type": {"type": "string"},
        "title": {"type": "string"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
    },
}


V2_ERROR_SCHEMA = {
    "type": "object",
    "required": ["object", "type", "status", "title"],
    "properties": {
        "object": {"type": "string", "enum": ["Error"]},
        "type": {"type": "string"},
        "status": {"type": "integer"},
        "title": {"type": "string"},
        "detail": {"type": "string"},
        "req_id": {"type": "string"},
    },
}


def error_responses(
    *statuses: int, also: tuple[str, ...] = (), v2: bool = False
) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the given statuses, listing for each the catalogue's types
    calgate answers: not ``NEVER_ANSWERED``, and ``ROUTE_SPECIFIC`` ones only when in ``also``.
    ``v2``: in API v2's shape and type names (:func:`calgate.api.problem.problem`)."""
    out: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        types = [
            e
            for e in CATALOGUE
            if e.status == status
            and e.type not in NEVER_ANSWERED
            and (e.type not in ROUTE_SPECIFIC or e.type in also)
        ]
        if not types:
            continue
        name = v2_type if v2 else (lambda e: e.type)
        example = problem(types[0], "…", "/v2/…" if v2 else "/api/v1/…")
        if v2:
            example["req_id"] = "…"
        out[status] = {
            "description": "; ".join(f"{e.title}: `{name(e)}`" for e in types),
            "content": {
                "application/json": {
                    "schema": V2_ERROR_SCHEMA if v2 else ERROR_SCHEMA,
                    "example": example,
                }
            },
        }
    return out


COMMON_ERRORS = (400, 401, 403, 404, 429, 500, 501, 503, 504)
