"""Request body limits, enforced before the body is parsed: its size (400 content_too_large)
and the time it may take to arrive (408 request_timeout, then the connection is closed: a
client sending one byte every few seconds holds nothing for long)."""

from __future__ import annotations

import asyncio
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from calgate.api.middleware.common import send_error


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int, timeout: float | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout = timeout  # seconds the whole body may take to arrive (None: no limit)

    async def _reject(self, scope: Scope, send: Send) -> None:
        detail = f"the request body is larger than {self.max_bytes} bytes"
        await send_error(scope, send, "content_too_large", detail)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    too_big = int(value) > self.max_bytes
                except ValueError:
                    too_big = False
                if too_big:
                    await self._reject(scope, send)
                    return
        seen = 0
        complete = False
        deadline = time.monotonic() + self.timeout if self.timeout is not None else None

        def left() -> float:
            return max((deadline or 0.0) - time.monotonic(), 0.0)

        async def limited() -> Message:
            nonlocal seen, complete
            if deadline is None or complete:
                message = await receive()
            else:
                try:
                    # asyncio's own timeout: calgate serves on asyncio (uvloop), and anyio's
                    # cancel scope cost several times more per request (the README's profile).
                    async with asyncio.timeout(left()):
                        message = await receive()
                except TimeoutError:
                    raise BodyTimedOut from None
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge
                complete = not message.get("more_body", False)
            return message

        try:
            await self.app(scope, limited, send)
        except BodyTooLarge:
            await self._reject(scope, send)
        except BodyTimedOut:
            detail = (
                f"the request body did not arrive within {self.timeout:g} s "
                "(setting body_timeout_seconds)"
            )
            # The rest of the body is not awaited: the connection is closed after the answer.
            close = [(b"connection", b"close")]
            await send_error(scope, send, "request_timeout", detail, close, status=408)


class BodyTimedOut(Exception):
    pass


class BodyTooLarge(Exception):
    pass
