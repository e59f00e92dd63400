"""Request ids, one access log line per request, and HTTP metrics.

The request id is the caller's ``X-Request-ID`` when it is a sane token (1-128 characters of
letters, digits and ``._:/+=@-``), otherwise a new random one; it is returned as
``X-Request-ID``, stamped on every log line of the request, and logged with the access line:
method, route template (never the path, which may carry ids or feed tokens), status,
duration_ms, tenant_id. Never the API key.

As the outermost middleware it also answers an unexpected exception itself: a 500 in the
contract's shape with the request id, and the traceback logged once under that id.
"""

from __future__ import annotations

import logging
import re
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from calgate import metrics
from calgate.api.middleware.common import header, send_error
from calgate.logs import request_id
from calgate.store.ids import new_id

access = logging.getLogger("calgate.access")
errors = logging.getLogger("calgate.errors")

_VALID_ID = re.compile(rb"[A-Za-z0-9][A-Za-z0-9._:/+=@-]{0,127}")
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "<unmatched>"


# Not os.urandom for each request: it lets go of the GIL, and winning it back from the database
# threads costs far more than the id itself. A request id needs to be unique, not secret.
new_request_id = new_id


class Observability:
    def __init__(self, app: ASGIApp, *, metrics: bool = True, access_log: bool = True) -> None:
        self.app = app
        self.metrics = metrics
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        given = header(scope, b"x-request-id")
        rid = (
            given.decode() if given is not None and _VALID_ID.fullmatch(given) else new_request_id()
        )
        token = request_id.set(rid)
        state: dict[str, object] = scope.setdefault("state", {})
        state["request_id"] = rid
        rid_header = (b"x-request-id", rid.encode())
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), rid_header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            errors.exception("unexpected error on %s %s", scope["method"], _route(scope))
            if status:
                raise  # the answer has begun: nothing else can be said
            await send_error(
                scope,
                send_with_id,
                "unexpected_error",
                f"calgate met an unexpected error; it has been logged (request id {rid})",
            )
        finally:
            self.done(scope, status or 500, time.perf_counter() - start, state)
            request_id.reset(token)

    def done(self, scope: Scope, status: int, seconds: float, state: dict[str, object]) -> None:
        route = _route(scope)
        method = scope["method"] if scope["method"] in _METHODS else "OTHER"
        if self.metrics:
            metrics.observe_request(method, route, status, seconds)
        if self.access_log and access.isEnabledFor(logging.INFO):
            ms = round(seconds * 1000, 2)  # one figure for the text and the field
            access.info(
                "%s %s %d %.1fms",
                method,
                route,
                status,
                ms,
                extra={
                    "method": method,
                    "route": route,
                    "status": status,
                    "duration_ms": ms,
                    "tenant_id": state.get("tenant"),
                    # Built from the route template and numbers only: nothing to redact.
                    "_redacted": True,
                },
            )


def _route(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED
