"""Issue 14: the disconnect watch of :mod:`calgate.offload` on plain asyncio tasks, with the
semantics it had on an anyio task group. A request's work is cancelled when its client
disconnects, and only that cancellation is taken for the disconnect: the server cancelling the
request's task, or a timeout (``anyio.fail_after``, ``asyncio.timeout``) around it, still ends
it as before, even in the same turn of the event loop as the disconnect. The work's own
exception is raised as itself; once a change's write began, the disconnect only marks the client
gone; :func:`calgate.offload.run` ends at once when cancelled and its thread stops.

The functions are called as the app calls them, in real tasks, with the server's side of the
request played by a ``receive`` that gives the body and then, when told, the disconnect."""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

import anyio
import pytest
from starlette.requests import Request
from starlette.types import Message

from calgate import offload
from calgate.domain.recurrence import Budget
from calgate.domain.recurrence.budget import Cancelled
from tests.conftest import offload_as

pytestmark = pytest.mark.anyio


class Peer:
    """The server's side of one request: its (empty) body, then the disconnect once ``leave()``
    was called; ``on_leave`` runs just before the disconnect is given."""

    def __init__(self) -> None:
        self.left = asyncio.Event()
        self.disconnect_given = asyncio.Event()
        self.body_read = False
        self.on_leave: Callable[[], object] | None = None

    def leave(self) -> None:
        self.left.set()

    async def receive(self) -> Message:
        if not self.body_read:
            self.body_read = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await self.left.wait()
        if self.on_leave is not None:
            self.on_leave()
        self.disconnect_given.set()
        return {"type": "http.disconnect"}

    def request(self) -> Request:
        return Request({"type": "http", "method": "GET", "headers": []}, self.receive)


class Work:
    """A request's work: waits ``seconds`` (or for ever), noting whether it was cancelled."""

    def __init__(self, seconds: float = math.inf, result: Any = "done") -> None:
        self.seconds, self.result = seconds, result
        self.started = asyncio.Event()
        self.cancelled = False

    async def __call__(self) -> Any:
        self.started.set()
        try:
            await asyncio.sleep(self.seconds if self.seconds != math.inf else 3600)
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        return self.result


async def test_the_result_and_no_cancellation_left_behind() -> None:
    peer = Peer()
    assert await offload.until_disconnected(peer.request(), Work(0.01)()) == "done"
    task = asyncio.current_task()
    assert task is not None and task.cancelling() == 0
    await asyncio.sleep(0.01)  # nothing pending for this task
    peer.leave()  # a disconnect after the answer cancels nothing
    await asyncio.sleep(0.01)


async def test_a_disconnect_cancels_the_work() -> None:
    peer, work = Peer(), Work()
    waiting = asyncio.create_task(offload.until_disconnected(peer.request(), work()))
    await work.started.wait()
    peer.leave()
    assert await asyncio.wait_for(waiting, 5) is None
    assert work.cancelled
    # The request's task goes on as if nothing had been cancelled.
    assert waiting.cancelling() == 0


async def test_a_read_that_ends_soon_never_listens() -> None:
    """The client is listened to only once a read has taken ``LISTEN_AFTER_SECONDS``: the hot
    reads, which end sooner, start no task beside them (the README's profiles)."""
    peer = Peer()
    for _ in range(20):
        assert await offload.until_disconnected(peer.request(), Work(0)()) == "done"
    await asyncio.sleep(offload.LISTEN_AFTER_SECONDS * 2)  # no listener left to start either
    assert not peer.body_read  # receive was never called


async def test_a_disconnect_before_a_slow_read_listens_is_heard_when_it_does() -> None:
    peer, work = Peer(), Work()
    peer.leave()  # gone before the read began
    started = time.monotonic()
    assert await asyncio.wait_for(offload.until_disconnected(peer.request(), work()), 5) is None
    assert work.cancelled
    assert time.monotonic() - started >= offload.LISTEN_AFTER_SECONDS * 0.9


async def test_work_that_catches_the_cancellation_answers_and_leaves_none_behind() -> None:
    peer, started = Peer(), asyncio.Event()

    async def stubborn() -> str:
        started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            return "kept"
        return "slept"

    async def request() -> tuple[str | None, int]:
        kept = await offload.until_disconnected(peer.request(), stubborn())
        task = asyncio.current_task()
        assert task is not None
        await asyncio.sleep(0.01)  # not cancelled again
        return kept, task.cancelling()

    waiting = asyncio.create_task(request())
    await started.wait()
    peer.leave()
    assert await asyncio.wait_for(waiting, 5) == ("kept", 0)


async def test_the_works_exception_is_raised_as_itself() -> None:
    class Refused(Exception):
        pass

    async def failing() -> None:
        await asyncio.sleep(0)
        raise Refused("no")

    with pytest.raises(Refused):  # not an ExceptionGroup
        await offload.until_disconnected(Peer().request(), failing())


async def test_the_server_cancelling_the_request_is_not_swallowed() -> None:
    peer, work = Peer(), Work()
    waiting = asyncio.create_task(offload.until_disconnected(peer.request(), work()))
    await work.started.wait()
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert work.cancelled and waiting.cancelled()


async def test_the_server_cancelling_with_the_disconnect_is_not_swallowed() -> None:
    """The server cancels the request's task in the very turn the disconnect is heard: the
    task ends cancelled, not answered as a disconnect."""
    peer, work = Peer(), Work()
    after: list[str] = []

    async def request() -> None:
        await offload.until_disconnected(peer.request(), work())
        after.append("went on")  # only if the server's cancellation were swallowed
        await asyncio.sleep(0.05)
        after.append("awaited")

    waiting = asyncio.create_task(request())
    await work.started.wait()
    peer.on_leave = waiting.cancel  # right before the watch cancels it for the disconnect
    peer.leave()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert after == [] and work.cancelled


async def test_a_timeout_around_a_watched_request_fires_as_a_timeout() -> None:
    peer, work = Peer(), Work()
    with pytest.raises(TimeoutError):
        with anyio.fail_after(0.05):
            await offload.until_disconnected(peer.request(), work())
    assert work.cancelled
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05):
            await offload.until_disconnected(Peer().request(), Work()())


async def test_a_disconnect_inside_a_timeout_cancels_the_work_only() -> None:
    peer, work = Peer(), Work()
    with anyio.fail_after(5) as scope:
        asyncio.get_running_loop().call_later(0.02, peer.leave)
        assert await offload.until_disconnected(peer.request(), work()) is None
        await asyncio.sleep(0.01)  # the scope is not cancelled: the request goes on
    assert work.cancelled and not scope.cancelled_caught


async def test_a_timeout_in_the_disconnects_turn_fires_as_a_timeout() -> None:
    """The timeout's deadline passes in the very turn the disconnect is heard, just before the
    watch cancels the work: the timeout wins, as a timeout."""
    peer, work = Peer(), Work()
    answers: list[object] = []
    with pytest.raises(TimeoutError):
        with anyio.fail_after(5) as scope:

            def deadline_now() -> None:
                scope.deadline = -math.inf

            peer.on_leave = deadline_now
            asyncio.get_running_loop().call_later(0.02, peer.leave)
            answers.append(await offload.until_disconnected(peer.request(), work()))
    assert answers == [] and work.cancelled


async def test_a_timeout_just_after_the_disconnect_still_fires() -> None:
    """The deadline passes in the turn after the disconnect cancelled the work: the timeout
    still ends the request as a timeout (the read answered None first, the client having gone,
    or the timeout came while the work's cancellation was under way: anyio's task group took
    more turns)."""
    peer, work = Peer(), Work()
    answers: list[object] = []
    with pytest.raises(TimeoutError):
        with anyio.fail_after(5) as scope:

            def deadline_next() -> None:
                asyncio.get_running_loop().call_soon(setattr, scope, "deadline", -math.inf)

            peer.on_leave = deadline_next
            asyncio.get_running_loop().call_later(0.02, peer.leave)
            answers.append(await offload.until_disconnected(peer.request(), work()))
            await asyncio.sleep(1)
    assert answers in ([None], []) and work.cancelled


async def test_anyio_scopes_inside_the_work_do_not_hide_the_disconnect() -> None:
    peer, started = Peer(), asyncio.Event()

    async def work() -> str:
        with anyio.CancelScope():
            started.set()
            await anyio.sleep(3600)
        return "went on"

    waiting = asyncio.create_task(offload.until_disconnected(peer.request(), work()))
    await started.wait()
    peer.leave()
    assert await asyncio.wait_for(waiting, 5) is None


def _listening(peer: Peer) -> offload.Client:
    client = offload.Client(peer.receive)
    peer.body_read = True  # the app read the whole body: the watch may listen
    client.listening = True
    return client


async def test_a_change_stopped_before_its_write() -> None:
    peer, work = Peer(), Work()
    client = _listening(peer)

    async def request() -> Any:
        with offload.watching(client):
            return await offload.changing(work)

    waiting = asyncio.create_task(request())
    await work.started.wait()
    peer.leave()
    with pytest.raises(offload.ClientGone):
        await asyncio.wait_for(waiting, 5)
    assert work.cancelled and client.gone and not client.watched


async def test_a_disconnect_while_writing_only_marks_the_client_gone() -> None:
    peer = Peer()
    client = _listening(peer)
    writing, heard = asyncio.Event(), []

    async def change() -> str:
        still_there = offload.write_begins()
        writing.set()
        await peer.disconnect_given.wait()  # the write waits for the database meanwhile
        try:
            still_there()
        except offload.ClientGone:
            heard.append("gone")
        return "written"

    async def request() -> str:
        with offload.watching(client):
            return await offload.changing(change)

    waiting = asyncio.create_task(request())
    await writing.wait()
    peer.leave()
    assert await asyncio.wait_for(waiting, 5) == "written"  # not cancelled
    assert heard == ["gone"] and waiting.cancelling() == 0


async def test_a_disconnect_already_there_is_heard_before_the_change() -> None:
    peer = Peer()
    client = _listening(peer)
    peer.leave()
    ran: list[str] = []

    async def change() -> None:
        ran.append("ran")

    with offload.watching(client), pytest.raises(offload.ClientGone):
        await offload.changing(change)
    assert ran == []


_seen: ContextVar[str] = ContextVar("test_offload_seen", default="")


async def test_run_in_a_thread_with_the_callers_context_and_its_exceptions() -> None:
    token = _seen.set("request 1")
    try:

        def work(budget: Budget) -> tuple[str, bool]:
            return _seen.get(), threading.current_thread() is threading.main_thread()

        assert await offload.run(work, "tenant") == ("request 1", False)
    finally:
        _seen.reset(token)

    def failing(budget: Budget) -> None:
        raise LookupError("no such series")

    with pytest.raises(LookupError):
        await offload.run(failing, "tenant")


def _endless(started: threading.Event, stopped: threading.Event) -> Callable[[Budget], None]:
    def work(budget: Budget) -> None:
        started.set()
        try:
            while True:
                budget.spend(0)
                time.sleep(0.001)
        except Cancelled:
            stopped.set()
            raise

    return work


async def _until(event: threading.Event) -> None:
    deadline = time.monotonic() + 5
    while not event.is_set():
        assert time.monotonic() < deadline
        await asyncio.sleep(0.005)


async def test_a_cancelled_run_ends_at_once_and_its_thread_stops() -> None:
    started, stopped = threading.Event(), threading.Event()
    waiting = asyncio.create_task(offload.run(_endless(started, stopped), "tenant"))
    await _until(started)
    waiting.cancel()
    begun = time.monotonic()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert time.monotonic() - begun < 0.5
    await _until(stopped)


async def test_a_run_whose_client_left_raises_client_gone_and_stops() -> None:
    peer = Peer()
    client = _listening(peer)
    started, stopped = threading.Event(), threading.Event()

    async def request() -> None:
        with offload.watching(client):
            await offload.run(_endless(started, stopped), "tenant")

    waiting = asyncio.create_task(request())
    await _until(started)
    peer.leave()
    with pytest.raises(offload.ClientGone):
        await asyncio.wait_for(waiting, 5)
    await _until(stopped)
    assert client.gone and waiting.cancelling() == 0


async def test_one_tenants_turns_one_at_a_time() -> None:
    inside: list[str] = []
    most = 0

    async def request(tenant: str) -> None:
        nonlocal most
        async with offload.turn(tenant):
            inside.append(tenant)
            most = max(most, inside.count(tenant))
            await asyncio.sleep(0.01)
            inside.remove(tenant)

    async with asyncio.TaskGroup() as group:
        for tenant in ("a", "a", "a", "b"):
            group.create_task(request(tenant))
    assert most == 1


async def test_work_outside_the_turns_runs_one_at_a_time_in_the_threads() -> None:
    """Work bounded otherwise (``in_turn=False``: the reading of a big CalDAV answer, under a
    memory turn) runs one at a time in the threads, whatever its tenants: two such readings
    held the interpreter's lock in turns with the event loop together (6.75 times the alone p99 of
    a well-behaved tenant's lists, pinned, README), and left no thread for the others' turns."""
    inside = 0
    most = 0
    done: list[str] = []
    lock = threading.Lock()

    def reading(budget: Budget) -> None:
        nonlocal inside, most
        with lock:
            inside += 1
            most = max(most, inside)
        time.sleep(0.05)
        with lock:
            inside -= 1
            done.append("reading")

    with offload_as(2, 0):
        async with asyncio.TaskGroup() as group:
            for tenant in ("a", "b", "c", "a"):
                group.create_task(offload.run(reading, tenant, in_turn=False))
            # a tenant's turn still gets the other thread meanwhile, not after all four
            group.create_task(offload.run(lambda _: done.append("turn"), "d"))
    assert most == 1
    assert done.index("turn") < 3, done
