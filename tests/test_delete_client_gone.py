"""Issue 13: a DELETE whose client disconnected before its write writes nothing, on SQLite and
PostgreSQL. The app is called as a server would call it, with a client that hangs up as soon as
its (empty) body is read: the DELETE answers 499, the event or occurrence is still there, and
its Idempotency-Key is released (a retry with it deletes). Before, a DELETE of an event was
made for nobody (one of an occurrence was already stopped by its series check).
`tests/test_e2e_client_gone.py` does the same through a real `calgate serve`, with the client
leaving while the write waits for the database."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.types import Message

from tests.conftest import Api

pytestmark = pytest.mark.anyio

DAILY = {
    "title": "daily",
    "start": {"date_time": "2026-03-02T09:00:00", "time_zone": "Europe/Paris"},
    "end": {"date_time": "2026-03-02T10:00:00", "time_zone": "Europe/Paris"},
    "recurrence": ["RRULE:FREQ=DAILY"],
}


async def _delete_and_hang_up(api: Api, url: str, key: str) -> int:
    """DELETE ``url`` from a client that disconnects once its body is read; the status."""
    read = False

    async def receive() -> Message:
        nonlocal read
        if not read:
            read = True
            return {"type": "http.request", "body": b"", "more_body": False}
        return {"type": "http.disconnect"}

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "DELETE",
        "scheme": "http",
        "path": url,
        "raw_path": url.encode(),
        "root_path": "",
        "query_string": f"account_id={api.a.account_id}".encode(),
        "headers": [
            (b"host", b"calgate.test"),
            (b"x-api-key", api.a.key.encode()),
            (b"idempotency-key", key.encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("calgate.test", 80),
    }
    await api.app(scope, receive, send)
    status: int = sent[0]["status"]
    return status


@pytest.mark.parametrize("what", ["event", "occurrence"])
async def test_a_delete_whose_client_left_deletes_nothing(api: Api, what: str) -> None:
    master = await api.create(DAILY if what == "occurrence" else {**DAILY, "recurrence": []})
    target = f"{master}_20260303T080000Z" if what == "occurrence" else master
    url = f"{api.events_url()}/{target}"
    assert await _delete_and_hang_up(api, url, f"k-{what}") == 499
    if what == "occurrence":
        assert (await api.get(master))["recurrence"] == DAILY["recurrence"]  # no EXDATE
    r = await api.call("GET", url)
    assert r.status_code == 200, r.text
    # The key was released: a retry with it does the work.
    r = await api.call("DELETE", url, headers={"Idempotency-Key": f"k-{what}"})
    assert r.status_code == 200, r.text
    assert "idempotent-replayed" not in r.headers
    r = await api.call("GET", url)
    assert r.status_code == 404, r.text
