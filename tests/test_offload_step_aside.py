"""Recurrence work gives way to the other requests of the process (issue 13, item 1: a hostile
tenant's expansions must not slow a well-behaved tenant's plain lists).

A request counts as in flight from :class:`calgate.api.middleware.ClientWatch` on, except while
it waits for body bytes and while it waits for or holds a recurrence turn; while one is in
flight, :data:`QUIET` is clear and the worker threads' budgets pause between steps. Here through
the real middleware and :func:`calgate.offload.run`, with an ASGI app of the test's own."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from starlette.requests import Request
from starlette.types import Message, Receive, Scope, Send

from calgate import offload
from calgate.api.middleware import ClientWatch
from calgate.domain.recurrence import Budget
from calgate.domain.recurrence.budget import PAUSE_SECONDS, QUIET, RUN_SECONDS
from calgate.offload import SETTLE_SECONDS

pytestmark = pytest.mark.anyio


def _scope() -> Scope:
    return {"type": "http", "method": "POST", "path": "/", "headers": []}


async def _sink(message: Message) -> None:
    pass


async def test_a_request_is_in_flight_but_for_its_recurrence_turn() -> None:
    seen: dict[str, bool] = {}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        seen["handling"] = QUIET.is_set()
        async with offload.turn("tenant"):
            seen["in its turn"] = QUIET.is_set()
        seen["in the worker"] = await offload.run(lambda _: QUIET.is_set(), "tenant")
        seen["after"] = QUIET.is_set()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    given = []

    async def receive() -> Message:
        if given:  # the client stays: no disconnect
            await asyncio.Event().wait()
        given.append(True)
        return {"type": "http.request", "body": b"", "more_body": False}

    assert QUIET.is_set()
    await ClientWatch(app)(_scope(), receive, _sink)
    assert seen == {"handling": False, "in its turn": True, "in the worker": True, "after": False}
    assert QUIET.is_set()


async def test_a_read_is_not_in_flight_for_its_own_recurrence_work() -> None:
    """A read (an expanded list, a GET of an occurrence) awaits its work through
    :func:`offload.until_disconnected`, which hears its client itself: its recurrence turn
    still takes it out of flight. It did not (the read's client was hidden from the turn along
    with the listening), so a read's own expansion paused for the read itself at every step:
    an expanded list of three daily series, 10 occurrences, took 38-48 ms instead of a few."""
    seen: dict[str, bool] = {}

    async def read() -> None:
        seen["reading"] = QUIET.is_set()
        async with offload.turn("tenant"):
            seen["in its turn"] = QUIET.is_set()
            seen["in the worker"] = await offload.run(lambda _: QUIET.is_set(), "tenant")
        seen["after"] = QUIET.is_set()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await offload.until_disconnected(Request(scope, receive), read())
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def receive() -> Message:
        await asyncio.Event().wait()  # a GET: no body read; the client stays
        raise AssertionError

    assert QUIET.is_set()
    await ClientWatch(app)(_scope(), receive, _sink)
    assert seen == {"reading": False, "in its turn": True, "in the worker": True, "after": False}
    assert QUIET.is_set()


async def test_a_request_waiting_for_its_body_is_not_in_flight() -> None:
    arrived = asyncio.Event()
    waiting: list[bool] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        while (await receive()).get("more_body"):
            pass
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    parts = [b"{", b"}"]

    async def receive() -> Message:
        waiting.append(QUIET.is_set())  # seen while the request waits for the bytes
        if len(parts) == 1:
            await arrived.wait()  # a slow client's last byte
        part = parts.pop(0)
        return {"type": "http.request", "body": part, "more_body": bool(parts)}

    served = asyncio.create_task(ClientWatch(app)(_scope(), receive, _sink))
    await asyncio.sleep(0.01)
    assert waiting == [True, True]
    arrived.set()
    await served
    assert QUIET.is_set()


async def test_a_request_going_on_for_long_stops_holding_recurrence_back() -> None:
    """A request waiting on something slow (a provider's answer) counts for SETTLE_SECONDS
    only; after a wait aside (its body, a recurrence turn) it counts again for as long, even
    when its last stretch had run out."""
    seen: dict[str, bool] = {}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        seen["at once"] = QUIET.is_set()
        await asyncio.sleep(SETTLE_SECONDS * 2)  # a slow provider
        seen["settled"] = QUIET.is_set()
        async with offload.turn("tenant"):
            pass
        seen["after its turn"] = QUIET.is_set()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    await ClientWatch(app)(_scope(), receive, _sink)
    assert seen == {"at once": False, "settled": True, "after its turn": False}

    async def waits_aside(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        async with offload.turn("tenant"):
            await asyncio.sleep(SETTLE_SECONDS * 2)
        seen["after a long turn"] = QUIET.is_set()
        await asyncio.sleep(SETTLE_SECONDS * 2)
        seen["then long after"] = QUIET.is_set()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    await ClientWatch(waits_aside)(_scope(), receive, _sink)
    assert (seen["after a long turn"], seen["then long after"]) == (False, True)
    assert QUIET.is_set()


def test_work_that_steps_aside_pauses_while_a_request_is_in_flight() -> None:
    """A worker thread spending steps computes for about RUN / (PAUSE + RUN) of the time while
    QUIET is clear, and without pause once it is set."""

    def cpu_share(quiet: bool) -> float:
        (QUIET.set if quiet else QUIET.clear)()
        shares: list[float] = []

        def work() -> None:
            budget = Budget(10**12, step_aside=True)
            wall, cpu = time.monotonic(), time.thread_time()
            while time.monotonic() - wall < 0.3:
                budget.spend()
            shares.append((time.thread_time() - cpu) / (time.monotonic() - wall))

        thread = threading.Thread(target=work)
        thread.start()
        thread.join()
        QUIET.set()
        return shares[0]

    paused = cpu_share(quiet=False)
    assert paused < 2 * RUN_SECONDS / (PAUSE_SECONDS + RUN_SECONDS)
    assert cpu_share(quiet=True) > paused


async def test_a_wait_aside_that_ends_after_the_answer_counts_nothing() -> None:
    """The count goes back to nothing when the request ends, whatever was still aside then
    (a task of the request's that outlived it), and without waiting for a timer."""
    client = offload.Client(lambda: asyncio.sleep(0))  # type: ignore[arg-type, return-value]
    later = asyncio.Event()

    async def outlives() -> None:
        with offload.aside(client):
            await later.wait()

    with offload.in_flight(client):
        assert not QUIET.is_set()
        task = asyncio.create_task(outlives())
        await asyncio.sleep(0)
        assert QUIET.is_set()  # aside
    later.set()
    await task
    assert QUIET.is_set()
    with offload.aside(offload.Client(lambda: asyncio.sleep(0))):  # type: ignore[arg-type, return-value]
        pass  # a client never in flight is not counted after a wait aside
    assert QUIET.is_set()


def test_budgets_made_inside_the_work_keep_its_pace() -> None:
    """A series' own budget (its bounds, a rule's check) made inside a worker's work steps
    aside with it, at its pace: not a fresh pause at each such budget's first step."""
    from calgate.domain.recurrence.budget import spending

    QUIET.clear()
    took: list[float] = []

    def work() -> None:
        root = Budget(10**9, step_aside=True)
        with spending(root):
            began = time.monotonic()
            for _ in range(50):
                child = Budget(10**9)
                for _ in range(4):
                    child.spend()
            took.append(time.monotonic() - began)

    try:
        thread = threading.Thread(target=work)
        thread.start()
        thread.join()
    finally:
        QUIET.set()
    # 200 steps: a few pauses at the root's pace, not 50 pauses of PAUSE_SECONDS each.
    assert took[0] < 25 * PAUSE_SECONDS
