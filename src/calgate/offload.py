"""CPU-heavy recurrence work off the event loop, in a few threads of its own, stopped with its
caller.

``await offload.run(work, tenant)`` runs ``work(budget)`` in one of ``recurrence_threads`` worker
threads (apart from the database's threads, which stay free for other tenants' plain reads), with
a fresh :class:`~calgate.domain.recurrence.Budget`, in one of the tenant's turns (:func:`turn`).
When the awaiting task is cancelled (its client went away, the server is stopping) the await ends
at once and the budget is cancelled, so the thread stops at its next step instead of running on
for nobody.

:func:`until_disconnected` is the other half: it cancels a request's work when its client goes.
A request that changes something is not cancelled as a whole (its change is made or not, not
half made), but its recurrence work is: while the request's :class:`Client` is known
(:func:`watching`, set by :class:`calgate.api.middleware.client.ClientWatch`), its body read
and its answer not yet given, :func:`run` stops the work when the client disconnects and raises
:class:`ClientGone` (a 499 that nobody reads), before anything is written.
"""

from __future__ import annotations

import asyncio
import sys
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from typing import TypeVar

import anyio
import anyio.to_thread
from starlette.requests import Request
from starlette.types import Receive

from calgate.domain.recurrence import Budget
from calgate.domain.recurrence.budget import spending

T = TypeVar("T")

THREADS = 2
_holding: ContextVar[bool] = ContextVar("calgate_offload_turn", default=False)


class _Turns:
    """The turns of one event loop: ``THREADS`` at once, one per tenant at a time."""

    def __init__(self, threads: int) -> None:
        self.all = anyio.CapacityLimiter(threads)
        self.threads = anyio.CapacityLimiter(threads)
        self.tenants: dict[str, tuple[anyio.Lock, list[int]]] = {}


_turns: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Turns] = weakref.WeakKeyDictionary()


SWITCH_INTERVAL = 0.001
"""Seconds a thread computing recurrence keeps the GIL while the event loop waits for it
(Python's default is 5 ms; each hop of a request between the loop and a database thread may
wait that long when a recurrence thread computes)."""


def configure(threads: int) -> None:
    """Set the number of worker threads (once, from the ``recurrence_threads`` setting), and
    the GIL's switch interval to :data:`SWITCH_INTERVAL`."""
    global THREADS
    THREADS = threads
    _turns.clear()
    sys.setswitchinterval(SWITCH_INTERVAL)


def _current() -> _Turns:
    loop = asyncio.get_running_loop()
    turns = _turns.get(loop)
    if turns is None:
        turns = _turns[loop] = _Turns(THREADS)
    return turns


@asynccontextmanager
async def turn(tenant: str) -> AsyncIterator[None]:
    """Hold one of the ``THREADS`` recurrence turns, at most one per tenant at a time, for the
    whole of a request's recurrence work (its database reads included: a tenant's expansions
    never fill the database's read threads). A tenant sending many such requests at once waits
    for its own turns; other tenants get the rest. Nested turns of one task are one turn."""
    if _holding.get():
        yield
        return
    turns = _current()
    lock, waiting = turns.tenants.setdefault(tenant, (anyio.Lock(), [0]))
    waiting[0] += 1
    try:
        async with lock, turns.all:
            token = _holding.set(True)
            try:
                yield
            finally:
                _holding.reset(token)
    finally:
        waiting[0] -= 1
        if not waiting[0]:
            turns.tenants.pop(tenant, None)


class ClientGone(Exception):
    """The client of the request disconnected while its recurrence work ran."""


class Client:
    """The request's ASGI ``receive``; ``listening`` while the app has read the whole body and
    not yet answered (only then may :func:`run` wait on ``receive`` for the disconnect: it takes
    none of the body's bytes, and hears no disconnect of a request already answered)."""

    __slots__ = ("answered", "listening", "receive")

    def __init__(self, receive: Receive) -> None:
        self.receive = receive
        self.listening = False
        self.answered = False


_client: ContextVar[Client | None] = ContextVar("calgate_offload_client", default=None)


@contextmanager
def watching(client: Client | None) -> Iterator[None]:
    """:func:`run` inside stops its work when ``client`` disconnects (None: never)."""
    token = _client.set(client)
    try:
        yield
    finally:
        _client.reset(token)


def _spend(work: Callable[[Budget], T], budget: Budget) -> T:
    with spending(budget):  # budgets the work makes of its own are cancelled with this one
        return work(budget)


async def run(work: Callable[[Budget], T], tenant: str) -> T:
    """``work(budget)`` in a worker thread, in one of ``tenant``'s turns; its budget is
    cancelled if this await is, or if the request's client disconnects (then
    :class:`ClientGone`)."""
    budget = Budget()
    client = _client.get()
    async with turn(tenant):
        try:
            running = anyio.to_thread.run_sync(
                _spend, work, budget, abandon_on_cancel=True, limiter=_current().threads
            )
            if client is None or not client.listening:
                return await running
            done = await _unless_disconnected(client.receive, running)
            if not done:
                raise ClientGone
            return done[0]
        finally:
            budget.cancel()  # a no-op once the work is done


async def until_disconnected(request: Request, work: Awaitable[T]) -> T | None:
    """``await work``, cancelled if the client disconnects first (then None)."""
    with watching(None):  # the whole of it is cancelled: run() need not watch as well
        done = await _unless_disconnected(request.receive, work)
    return done[0] if done else None


async def _unless_disconnected(receive: Receive, work: Awaitable[T]) -> list[T]:
    """``[await work]``, or ``[]`` once the client disconnected (``work`` is then cancelled)."""
    result: list[T] = []
    failed: list[Exception] = []
    async with anyio.create_task_group() as group:

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            group.cancel_scope.cancel()

        group.start_soon(watch)
        try:
            result.append(await work)
        except Exception as exc:  # raised as itself below, not inside an ExceptionGroup
            failed.append(exc)
        group.cancel_scope.cancel()
    if failed:
        raise failed[0]
    return result
