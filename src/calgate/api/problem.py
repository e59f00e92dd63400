"""An error's body, in the shape of the API the request was made to."""

from __future__ import annotations

from calgate.errors import ErrorType, v2_type
from calgate.logs import request_id

V2_PREFIX = "/v2/"


def problem(error: ErrorType, detail: str, path: str) -> dict[str, object]:
    """An error's body: v1's ``{"status", "type", "title", "detail", "instance"}``, or under
    ``/v2/`` API v2's ``{"object": "Error", "type", "status", "title", "detail", "req_id"}``
    (its type written ``api/…`` or ``provider/…``, its ``req_id`` the request's id)."""
    if path.startswith(V2_PREFIX):
        return {
            "object": "Error",
            "type": v2_type(error),
            "status": error.status,
            "title": error.title,
            "detail": detail,
            "req_id": request_id.get() or "",
        }
    return {
        "status": error.status,
        "type": error.type,
        "title": error.title,
        "detail": detail,
        "instance": path,
    }
