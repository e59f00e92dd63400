"""NUL characters are refused at the door (400), wherever they come: path, query or body.

No calendar text holds a NUL (U+0000); PostgreSQL cannot store one in a text column, iCalendar
and e-mail cannot carry one, and C libraries end a string at one. Refusing them here, once, is
what keeps a ``"title": "a\\u0000b"`` from reaching the database as a 500 on one store and as a
silently cut string on another. Other control characters are data and stay data (the iCalendar
and mail writers escape or drop them).

What the guard cannot see, a NUL inside a base64 or quoted-printable multipart part, is refused
where the part is decoded (the ``.ics`` import checks the decoded file: 400 naming ``file``).

The body is checked as it streams in (a raw NUL byte, or the JSON escape ``\\u0000`` not
itself escaped); requests without a body pay two ``in`` tests.
"""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from calgate.api.middleware.common import send_error

# ``\u0000`` as a JSON escape: preceded by an even number of backslashes (``\\u0000`` is the
# text "\u0000", six harmless characters). ``(?<!\\)(?:\\\\)*`` eats the escaped pairs.
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
_CARRY = 16


class NulGuard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope["path"] or b"%00" in scope["query_string"]:
            await _refuse(scope, send, "the URL")
            return
        tail = b""

        async def checked() -> Message:
            nonlocal tail
            message = await receive()
            chunk = message.get("body", b"")
            if chunk:
                window = tail + chunk
                if b"\x00" in chunk or (b"u0000" in window and _JSON_NUL.search(window)):
                    raise NulInBody
                tail = window[-_CARRY:]
            return message

        try:
            await self.app(scope, checked, send)
        except NulInBody:
            await _refuse(scope, send, "the body")


async def _refuse(scope: Scope, send: Send, where: str) -> None:
    await send_error(
        scope,
        send,
        "invalid_parameters",
        f"{where} holds a NUL character (\\u0000), which no calendar text may contain",
    )


class NulInBody(Exception):
    pass
