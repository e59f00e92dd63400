"""The request's client, known to the recurrence work it asks for (:mod:`calgate.offload`).

Innermost, just outside the app: it tells :func:`calgate.offload.run` how to hear the client
disconnect (the ASGI ``receive``) between the app's reading of the whole body and its answer
(work that outlives the request, if any, is never stopped by it), so that recurrence work
for a client that hung up stops, on the routes that change something too (their change is then
not made). It also counts the request as in flight (:func:`calgate.offload.in_flight`), but
for its waits for body bytes, so that recurrence work gives way to it. Cost: one object and one
wrapped ``receive`` per request.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from calgate import offload


class ClientWatch:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = offload.Client(receive)
        body_to_come = True

        async def read() -> Message:
            nonlocal body_to_come
            if body_to_come:
                with offload.aside(client):  # a slow body waits without counting
                    message = await receive()
            else:
                message = await receive()
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_to_come = False
                client.listening = not client.answered
            return message

        async def answer(message: Message) -> None:
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                client.answered, client.listening = True, False  # nothing left to hear
            await send(message)

        with offload.watching(client), offload.in_flight(client):
            try:
                await self.app(scope, read, answer)
            finally:
                client.answered, client.listening = True, False
