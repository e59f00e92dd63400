"""The fair share of the process per API key (calgate.api.middleware.fairshare), around an ASGI
app whose requests end when the test says so."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from calgate import metrics
from calgate.api.app import create_app
from calgate.api.middleware import fairshare
from calgate.api.middleware.fairshare import FairShare
from calgate.runtime import Runtime
from calgate.settings import Settings
from tests.conftest import Api

pytestmark = pytest.mark.anyio


class Held:
    """An ASGI app that records which requests started and ends each one when told. It
    authenticates as calgate's app does (the tenant in the scope's state, for the access log)
    the keys in ``valid``, answers the others 401, and answers paths ``nope-…`` 404 before
    authenticating; paths ``now-…`` are answered at once, not recorded."""

    def __init__(self, valid: tuple[bytes, ...] = (b"a", b"b", b"c")) -> None:
        self.started: list[str] = []
        self.release: dict[str, asyncio.Event] = {}
        self.valid = set(valid)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        name = scope["path"].strip("/")
        if not name.startswith("now-"):
            self.started.append(name)
            await self.release.setdefault(name, asyncio.Event()).wait()
        key = dict(scope["headers"]).get(b"x-api-key")
        if name.startswith("nope-"):
            status = 404
        elif key in self.valid:
            scope.setdefault("state", {})["tenant"] = f"tenant-{key!r}"
            status = 200
        else:
            status = 401
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    def end(self, name: str) -> None:
        self.release.setdefault(name, asyncio.Event()).set()


async def _request(app: Any, name: str, key: bytes | None = b"a") -> None:
    headers = [] if key is None else [(b"x-api-key", key)]
    scope = {"type": "http", "path": f"/{name}", "method": "GET", "headers": headers}

    async def receive() -> dict[str, Any]:
        await asyncio.Event().wait()
        raise AssertionError

    async def send(message: dict[str, Any]) -> None:
        pass

    await app(scope, receive, send)


async def _proven(share: FairShare, *keys: bytes) -> FairShare:
    """``share``, with ``keys`` answered once (valid keys), and present no more."""
    for key in keys:
        await _request(share, f"now-{key.decode()}", key)
    await asyncio.sleep(fairshare.LINGER_SECONDS * 1.5)
    assert share.lanes == {} and share.present == 0
    return share


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_key_alone_is_not_held() -> None:
    held = Held()
    share = FairShare(held, share=2)
    tasks = [asyncio.create_task(_request(share, f"a{n}")) for n in range(6)]
    await _settle()
    assert held.started == [f"a{n}" for n in range(6)]
    for n in range(6):
        held.end(f"a{n}")
    await asyncio.gather(*tasks)


async def test_beside_another_key_a_key_runs_its_share_and_the_rest_waits_in_order() -> None:
    waits_before = _sample("calgate_fair_share_waits_total")
    seconds_before = _sample("calgate_fair_share_wait_seconds_total")
    held = Held()
    share = await _proven(FairShare(held, share=2), b"a", b"b")
    other = asyncio.create_task(_request(share, "b0", b"b"))
    await _settle()
    tasks = [asyncio.create_task(_request(share, f"a{n}")) for n in range(5)]
    await _settle()
    assert held.started == ["b0", "a0", "a1"]
    assert share.waiting() == 3
    held.end("a1")
    await _settle()
    assert held.started == ["b0", "a0", "a1", "a2"]  # first come, first served
    held.end("a0")
    await _settle()
    assert held.started[-1] == "a3"
    # The other key stays present a while after its last request ended (LINGER_SECONDS);
    # meanwhile the running requests' holds run out (HOLD_SECONDS), which lets a4 in.
    held.end("b0")
    await other
    await _settle()
    assert held.started[-1] == "a3"
    await asyncio.sleep(fairshare.HOLD_SECONDS * 2)
    assert held.started[-1] == "a4"
    assert share.waiting() == 0
    for n in range(5):
        held.end(f"a{n}")
    await asyncio.gather(*tasks)
    await asyncio.sleep(fairshare.LINGER_SECONDS * 2)
    assert share.lanes == {} and share.present == 0 and not share.queued  # nothing kept
    assert _sample("calgate_fair_share_waits_total") == waits_before + 3
    assert _sample("calgate_fair_share_wait_seconds_total") >= (
        seconds_before + fairshare.HOLD_SECONDS * 0.9
    )


async def test_the_other_key_is_never_held_behind_the_busy_one() -> None:
    held = Held()
    share = await _proven(FairShare(held, share=1), b"a", b"b")
    busy = [asyncio.create_task(_request(share, f"a{n}")) for n in range(10)]
    await _settle()
    light = asyncio.create_task(_request(share, "b0", b"b"))
    await _settle()
    assert "b0" in held.started  # at once, beside the ten of the busy key
    held.end("b0")
    await light
    for n in range(10):
        held.end(f"a{n}")
    await asyncio.gather(*busy)


async def test_a_request_running_long_lets_its_keys_next_one_in() -> None:
    held = Held()
    share = await _proven(FairShare(held, share=1), b"a", b"b")
    other = asyncio.create_task(_request(share, "b0", b"b"))
    await _settle()
    slow = asyncio.create_task(_request(share, "a0"))
    await _settle()
    following = asyncio.create_task(_request(share, "a1"))
    await _settle()
    assert held.started == ["b0", "a0"]
    await asyncio.sleep(fairshare.HOLD_SECONDS * 2)
    assert held.started == ["b0", "a0", "a1"]  # a0 still runs, past its hold
    for name in ("a0", "a1", "b0"):
        held.end(name)
    await asyncio.gather(slow, following, other)


async def test_a_waiting_request_that_is_cancelled_leaves_no_trace() -> None:
    held = Held()
    share = await _proven(FairShare(held, share=1), b"a", b"b")
    other = asyncio.create_task(_request(share, "b0", b"b"))
    first = asyncio.create_task(_request(share, "a0"))
    await _settle()
    gone = asyncio.create_task(_request(share, "a1"))
    last = asyncio.create_task(_request(share, "a2"))
    await _settle()
    gone.cancel()
    await _settle()
    assert share.waiting() == 1
    held.end("a0")
    await first
    await _settle()
    assert held.started == ["b0", "a0", "a2"]
    for name in ("a2", "b0"):
        held.end(name)
    await asyncio.gather(last, other)
    await asyncio.sleep(fairshare.LINGER_SECONDS * 2)
    assert share.lanes == {} and share.present == 0


async def test_requests_without_a_key_health_and_a_zero_share_are_never_held() -> None:
    held = Held()
    share = await _proven(FairShare(held, share=1), b"a", b"b")
    other = asyncio.create_task(_request(share, "b0", b"b"))
    busy = asyncio.create_task(_request(share, "a0"))
    await _settle()
    free = [
        asyncio.create_task(_request(share, "nokey", None)),
        asyncio.create_task(_request(share, "healthz")),
        asyncio.create_task(_request(FairShare(held, share=0), "off")),
    ]
    await _settle()
    assert set(held.started) == {"b0", "a0", "nokey", "healthz", "off"}
    for name in ("b0", "a0", "nokey", "healthz", "off"):
        held.end(name)
    await asyncio.gather(other, busy, *free)


async def test_the_setting_reaches_the_app_and_two_tenants_are_served(
    runtime: Runtime, settings: Settings, api: Api
) -> None:
    """Through the real app: many concurrent requests of two keys are all answered."""
    app = create_app(settings.model_copy(update={"fair_share_requests": 1}), runtime)
    found = [m for m in _middleware(app) if m.cls is FairShare]
    assert found and found[0].kwargs == {"share": 1}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://fair.test") as client:

        async def listing(tenant: Any) -> int:
            r = await client.get(
                api.events_url(tenant.calendar_id),
                params={"account_id": tenant.account_id},
                headers={"X-API-KEY": tenant.key},
            )
            return r.status_code

        statuses = await asyncio.gather(*(listing(t) for t in [api.a, api.b] * 20))
        wrong = await client.get(api.events_url(), headers={"X-API-KEY": "cg_made_up"})
    assert statuses == [200] * 40
    assert wrong.status_code == 401
    # Both keys authenticated (the fast routes and FastAPI's both say so): they count.
    layer = app.middleware_stack
    while not isinstance(layer, FairShare):
        layer = layer.app
    assert set(layer.proven) == {api.a.key.encode(), api.b.key.encode()}


def _middleware(app: Any) -> list[Any]:
    return list(app.user_middleware)


def _sample(name: str) -> float:
    return metrics.REGISTRY.get_sample_value(name) or 0.0


async def test_a_key_never_answered_other_than_401_holds_no_one() -> None:
    """Requests with made-up keys (answered 401) do not make a valid key share the process;
    once a key has been answered otherwise, it does."""
    held = Held()
    share = await _proven(FairShare(held, share=1), b"a")
    made_up = asyncio.create_task(_request(share, "x0", b"unknown"))
    await _settle()
    busy = [asyncio.create_task(_request(share, f"a{n}")) for n in range(3)]
    await _settle()
    assert held.started == ["x0", "a0", "a1", "a2"]  # not held: the other key is not known
    held.end("x0")
    await made_up
    assert b"unknown" not in share.proven
    await _request(share, "now-c", b"c")  # a valid key, now present
    more = [asyncio.create_task(_request(share, f"a{n}")) for n in range(3, 5)]
    await _settle()
    assert held.started == ["x0", "a0", "a1", "a2"] and share.waiting() == 2
    for n in range(5):
        held.end(f"a{n}")
    await asyncio.gather(*busy, *more)


async def test_a_made_up_key_answered_before_authentication_holds_no_one() -> None:
    """A 404 (or any answer given before the key is checked) does not make a key valid."""
    held = Held()
    share = await _proven(FairShare(held, share=1), b"a")
    made_up = asyncio.create_task(_request(share, "nope-0", b"made-up"))
    await _settle()
    held.end("nope-0")
    await made_up
    assert b"made-up" not in share.proven
    lurking = asyncio.create_task(_request(share, "nope-1", b"made-up"))
    busy = [asyncio.create_task(_request(share, f"a{n}")) for n in range(3)]
    await _settle()
    assert held.started == ["nope-0", "nope-1", "a0", "a1", "a2"]
    for name in ("nope-1", "a0", "a1", "a2"):
        held.end(name)
    await asyncio.gather(lurking, *busy)


async def test_a_revoked_key_stops_counting_at_its_first_401() -> None:
    held = Held(valid=(b"a", b"r"))
    share = await _proven(FairShare(held, share=1), b"a", b"r")
    revoked = asyncio.create_task(_request(share, "r0", b"r"))
    await _settle()
    busy = [asyncio.create_task(_request(share, f"a{n}")) for n in range(2)]
    await _settle()
    assert held.started == ["r0", "a0"]  # r is valid and present: a runs one at a time
    held.valid.discard(b"r")  # the key is revoked while r0 runs: r0 is answered 401
    held.end("r0")
    await revoked
    await _settle()
    assert held.started == ["r0", "a0", "a1"]  # at once: r counts no more, no lingering
    assert b"r" not in share.proven
    for n in range(2):
        held.end(f"a{n}")
    await asyncio.gather(*busy)


async def test_a_key_whose_request_runs_past_its_hold_stays_present() -> None:
    held = Held()
    share = await _proven(FairShare(held, share=1), b"a", b"b")
    slow = asyncio.create_task(_request(share, "b0", b"b"))
    await asyncio.sleep((fairshare.HOLD_SECONDS + fairshare.LINGER_SECONDS) * 1.5)
    busy = [asyncio.create_task(_request(share, f"a{n}")) for n in range(2)]
    await _settle()
    assert held.started == ["b0", "a0"]  # b0 still runs: b is present, a gets its share
    for name in ("b0", "a0", "a1"):
        held.end(name)
    await asyncio.gather(slow, *busy)
