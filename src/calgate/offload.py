"""CPU-heavy recurrence work off the event loop, in a few threads of its own, stopped with its
caller.

``await offload.run(work, tenant)`` runs ``work(budget)`` in one of ``recurrence_threads`` worker
threads (apart from the database's threads, which stay free for other tenants' plain reads), with
a fresh :class:`~calgate.domain.recurrence.Budget`, in one of the tenant's turns (:func:`turn`).
When the awaiting task is cancelled (its client went away, the server is stopping) the await ends
at once and the budget is cancelled, so the thread stops at its next step instead of running on
for nobody.

:func:`until_disconnected` is the other half: it cancels a request's work when its client goes.
"""

from __future__ import annotations

import asyncio
import sys
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import TypeVar

import anyio
import anyio.to_thread
from starlette.requests import Request

from calgate.domain.recurrence import Budget

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


async def run(work: Callable[[Budget], T], tenant: str) -> T:
    """``work(budget)`` in a worker thread, in one of ``tenant``'s turns; its budget is
    cancelled if this await is."""
    budget = Budget()
    async with turn(tenant):
        try:
            return await anyio.to_thread.run_sync(
                work, budget, abandon_on_cancel=True, limiter=_current().threads
            )
        finally:
            budget.cancel()  # a no-op once the work is done


async def until_disconnected(request: Request, work: Awaitable[T]) -> T | None:
    """``await work``, cancelled if the client disconnects first (then None)."""
    result: list[T] = []
    failed: list[Exception] = []
    async with anyio.create_task_group() as group:

        async def watch() -> None:
            while (await request.receive())["type"] != "http.disconnect":
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
    return result[0] if result else None
