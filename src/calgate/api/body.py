"""JSON request bodies parsed straight from bytes by pydantic (one pass, no `json.loads`).

``json_body(Model)`` gives a dependency that reads the body and validates it, raising the same
validation errors FastAPI would (rendered as 400 by the one error handler), and
``body_doc(Model)`` documents it in the OpenAPI document.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from calgate.api.errors import error_responses
from calgate.errors import UnsupportedMediaType

M = TypeVar("M", bound=BaseModel)


def json_body(model: type[M]) -> Callable[[Request], Awaitable[M]]:
    async def parse(request: Request) -> M:
        require_json(request.headers.get("content-type"))
        raw = await request.body()
        if not raw.strip():
            raise RequestValidationError([{"type": "missing", "loc": ("body",), "msg": "required"}])
        try:
            return model.model_validate_json(raw)
        except ValidationError as exc:
            errors = []
            for err in exc.errors(include_url=False):
                errors.append({**err, "loc": ("body", *err.get("loc", ()))})
            raise RequestValidationError(errors) from None

    return parse


def optional_json_body(model: type[M]) -> Callable[[Request], Awaitable[M | None]]:
    """``json_body(model)`` for a body that may be absent (``None`` then)."""
    required = json_body(model)

    async def parse(request: Request) -> M | None:
        return await required(request) if (await request.body()).strip() else None

    return parse


def require_json(content_type: str | None) -> None:
    """A body sent as another media type (a form, text) is refused, not read as JSON; a request
    without ``content-type`` is read as JSON (Unipile's clients always send one)."""
    if content_type is None:
        return
    media = content_type.split(";", 1)[0].strip().lower()
    if media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    ):
        return
    raise UnsupportedMediaType(
        f"content-type: {media or '(empty)'} is not accepted; send the body as application/json"
    )


def body_doc(model: type[BaseModel], *, required: bool = True) -> dict[str, Any]:
    """``openapi_extra`` documenting ``model`` as the operation's JSON request body."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    defs = schema.pop("$defs", {})
    return {
        "requestBody": {
            "required": required,
            "content": {"application/json": {"schema": schema}},
        },
        "responses": error_responses(415, also=("errors/unsupported_media_type",)),
        "x-calgate-schemas": {model.__name__: schema, **defs},
    }
