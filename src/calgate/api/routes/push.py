"""Push notifications from Google and Microsoft Graph (docs/push.md). No API key: each
notification is authenticated by its channel's secret (Google's channel token, Graph's
clientState). Every answer is quick and the same whether the notification was taken or
refused; the sync it asks for runs in the scheduler."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response

from calgate.push.inbox import Inbox
from calgate.push.keeper import GOOGLE_PATH, LIFECYCLE_PATH, MICROSOFT_PATH

router = APIRouter(tags=["Push"], include_in_schema=False)
ACCEPTED = 202


def _inbox(request: Request) -> Inbox:
    inbox: Inbox = request.app.state.runtime.push_inbox
    return inbox


async def _json(request: Request) -> Any:
    try:
        return orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        return None


def _validation(request: Request) -> Response | None:
    """Graph's handshake: the ``validationToken`` echoed as plain text, at once."""
    token = request.query_params.get("validationToken")
    if token is None:
        return None
    return PlainTextResponse(token, status_code=200)


@router.post(GOOGLE_PATH)
async def google(request: Request) -> Response:
    await _inbox(request).google(request.headers)
    return Response(status_code=ACCEPTED)


async def _graph(request: Request, lifecycle: bool) -> Response:
    handshake = _validation(request)
    if handshake is not None:
        return handshake
    inbox, body = _inbox(request), await _json(request)
    await (inbox.lifecycle(body) if lifecycle else inbox.microsoft(body))
    return Response(status_code=ACCEPTED)


@router.post(MICROSOFT_PATH)
async def microsoft(request: Request) -> Response:
    return await _graph(request, lifecycle=False)


@router.post(LIFECYCLE_PATH)
async def lifecycle(request: Request) -> Response:
    return await _graph(request, lifecycle=True)
