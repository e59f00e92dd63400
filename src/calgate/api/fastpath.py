"""The hot event routes answered before FastAPI's routing (issue 14; STYLE: speed where it is
measured).

``GET /api/v1/calendars/{calendar_id}/events/{event_id}``, ``GET`` and ``POST`` on
``/api/v1/calendars/{calendar_id}/events`` spent the largest share of their time in FastAPI's
routing and dependency injection (the README's profiles). :class:`EventRoutes` is a plain ASGI
layer, the innermost of calgate's middleware (request id, access log and metrics, rate limit,
body limit, NUL guard, idempotency and client watch all apply as before), that answers them
when a request is the common, well-formed case, with the routes' own work
(``answer_get``, ``answer_list``, ``answer_create`` in :mod:`calgate.api.routes.events`) and
the one error handler's rendering (:func:`calgate.api.errors.calgate_error`). Anything else —
no API key or an unknown one, a query parameter FastAPI would refuse (unknown, repeated, empty,
too long; the rules are read from the routes' own declarations), another media type, a body
that is empty or does not validate — goes on to FastAPI unchanged (a body already read is
handed on as it came), which answers it as it always has. FastAPI's routes stay registered:
the OpenAPI document and ``/docs`` do not change.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from annotated_types import MaxLen, MinLen
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from calgate import offload
from calgate.api.body import require_json
from calgate.api.deps import AccountCaller, Caller, QueryAccount, query_fields, tenant_for
from calgate.api.errors import calgate_error, client_gone
from calgate.api.middleware.common import header
from calgate.api.routes import events
from calgate.api.schemas import EventCreate
from calgate.errors import CalgateError
from calgate.runtime import Runtime

PREFIX = "/api/v1/calendars/"


@dataclass(frozen=True, slots=True)
class Query:
    """One route's query parameters, checked as FastAPI checks them; None where FastAPI might
    refuse or read them otherwise (then FastAPI answers)."""

    route: APIRoute
    bounds: dict[str, tuple[int, int | None]]  # name: (min_length, max_length)
    required: frozenset[str]
    closed: bool  # unknown names are refused (reads: ``calgate.api.deps.known_query``)

    @classmethod
    def of(cls, route: APIRoute) -> Query:
        bounds: dict[str, tuple[int, int | None]] = {}
        required: set[str] = set()
        for field in query_fields(route.dependant):
            if field.field_info.annotation not in (str, str | None):
                raise TypeError(f"{field.alias}: only text query parameters are checked here")
            lo, hi = 0, None
            for rule in field.field_info.metadata:
                if isinstance(rule, MinLen):
                    lo = rule.min_length
                elif isinstance(rule, MaxLen):
                    hi = rule.max_length
                else:
                    raise TypeError(f"{field.alias}: {rule!r} is not checked here")
            bounds[field.alias] = (lo, hi)
            if field.field_info.is_required():
                required.add(field.alias)
        return cls(route, bounds, frozenset(required), route.methods == {"GET"})

    def read(self, scope: Scope) -> dict[str, str] | None:
        raw: bytes = scope.get("query_string", b"")
        pairs = parse_qsl(raw.decode("latin-1"), keep_blank_values=True) if raw else []
        values = dict(pairs)
        if len(values) != len(pairs) or not self.required <= values.keys():
            return None
        for name, value in values.items():
            bounds = self.bounds.get(name)
            if bounds is None:
                if self.closed or not value:
                    return None
                continue
            lo, hi = bounds
            if not value or len(value) < lo or (hi is not None and len(value) > hi):
                return None
        return values


def _route(routes: Iterable[BaseRoute], endpoint: Callable[..., Any]) -> APIRoute:
    for context in iter_route_contexts(list(routes)):
        if context.endpoint is endpoint and isinstance(context.original_route, APIRoute):
            return context.original_route
    raise LookupError(f"no route for {endpoint.__name__}")


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """``receive`` giving ``messages`` again first (the body this layer read, for FastAPI)."""
    pending = list(messages)

    async def replay() -> Message:
        return pending.pop(0) if pending else await receive()

    return replay


class EventRoutes:
    """The three routes' common case, answered here; every other request goes on to ``app``."""

    def __init__(self, app: ASGIApp, *, runtime: Runtime, routes: Iterable[BaseRoute]) -> None:
        self.app = app
        self.runtime = runtime
        routes = list(routes)
        self.get = Query.of(_route(routes, events.get_event))
        self.list = Query.of(_route(routes, events.list_events))
        self.create = Query.of(_route(routes, events.create_event))
        self.one_path = self.get.route.path_regex
        self.list_path = self.list.route.path_regex
        self.list_names = [name for name in self.list.bounds if name != "account_id"]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"] if scope["type"] == "http" else ""
        if path.startswith(PREFIX) and not scope.get("root_path"):
            method = scope["method"]
            if method == "GET":
                match = self.one_path.match(path)
                if match is not None:
                    await self._get(scope, receive, send, match)
                    return
                match = self.list_path.match(path)
                if match is not None:
                    await self._list(scope, receive, send, match)
                    return
            elif method == "POST":
                match = self.list_path.match(path)
                if match is not None:
                    await self._create(scope, receive, send, match)
                    return
        await self.app(scope, receive, send)

    async def _tenant(self, scope: Scope) -> str | None:
        raw = header(scope, b"x-api-key")
        if not raw:
            return None  # FastAPI answers it (401)
        try:
            return await tenant_for(self.runtime, raw.decode("latin-1"))
        except CalgateError:
            return None  # FastAPI answers it (401)

    def _take(
        self, scope: Scope, receive: Receive, query: Query, match: re.Match[str], tenant: str
    ) -> Request:
        """The request, its scope as FastAPI's routing and ``tenant_of`` would have left it."""
        scope["route"] = query.route  # the access log and the metrics name it by its path
        scope["path_params"] = match.groupdict()
        scope.setdefault("state", {})["tenant"] = tenant  # the access log's tenant_id
        return Request(scope, receive)

    async def _get(self, scope: Scope, receive: Receive, send: Send, match: re.Match[str]) -> None:
        values = self.get.read(scope)
        tenant = await self._tenant(scope) if values is not None else None
        if values is None or tenant is None:
            await self.app(scope, receive, send)
            return
        request = self._take(scope, receive, self.get, match, tenant)
        call = AccountCaller(self.runtime, tenant, values["account_id"])
        work = events.answer_get(request, call, match["calendar_id"], match["event_id"])
        await _answer(request, work, scope, receive, send)

    async def _list(self, scope: Scope, receive: Receive, send: Send, match: re.Match[str]) -> None:
        values = self.list.read(scope)
        tenant = await self._tenant(scope) if values is not None else None
        if values is None or tenant is None:
            await self.app(scope, receive, send)
            return
        request = self._take(scope, receive, self.list, match, tenant)
        call = AccountCaller(self.runtime, tenant, values["account_id"])
        params = {name: values.get(name) for name in self.list_names}
        work = events.answer_list(request, call, match["calendar_id"], params)
        await _answer(request, work, scope, receive, send)

    async def _create(
        self, scope: Scope, receive: Receive, send: Send, match: re.Match[str]
    ) -> None:
        values = self.create.read(scope)
        tenant = await self._tenant(scope) if values is not None else None
        content_type = header(scope, b"content-type")
        if values is None or tenant is None or not _json(content_type):
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request" or not message.get("more_body", False):
                break
        body = _parse(messages)
        if body is None:  # no body, not JSON, not an event, the client gone: FastAPI says so
            await self.app(scope, _replay(messages, receive), send)
            return
        request = self._take(scope, receive, self.create, match, tenant)
        query = QueryAccount(Caller(self.runtime, tenant), values.get("account_id"))
        work = events.answer_create(query, match["calendar_id"], body)
        await _answer(request, work, scope, receive, send)


def _json(content_type: bytes | None) -> bool:
    try:
        require_json(None if content_type is None else content_type.decode("latin-1"))
    except CalgateError:
        return False
    return True


def _parse(messages: list[Message]) -> EventCreate | None:
    if messages[-1]["type"] != "http.request":
        return None
    raw = b"".join(message.get("body", b"") for message in messages)
    if not raw.strip():
        return None
    try:
        return EventCreate.model_validate_json(raw)
    except ValidationError:
        return None


async def _answer(
    request: Request, work: Awaitable[Response], scope: Scope, receive: Receive, send: Send
) -> None:
    """Send ``work``'s answer, or the error handler's (``calgate.api.errors.install``)."""
    try:
        response = await work
    except CalgateError as exc:
        response = calgate_error(request, exc)
    except offload.ClientGone:
        response = client_gone()
    await response(scope, receive, send)


__all__ = ["EventRoutes"]
