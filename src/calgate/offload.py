"""CPU-heavy recurrence work off the event loop, in a few threads of its own, stopped with its
caller.

``await offload.run(work)`` runs ``work(budget)`` in one of ``recurrence_threads`` worker threads
(apart from the database's threads, which stay free for other tenants' plain reads), with a
fresh :class:`~calgate.domain.recurrence.Budget`. When the awaiting task is cancelled (its client
went away, the server is stopping) the await ends at once and the budget is cancelled, so the
thread stops at its next step instead of running on for nobody.

:func:`until_disconnected` is the other half: it cancels a request's work when its client goes.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio
import anyio.to_thread
from starlette.requests import Request

from calgate.domain.recurrence import Budget

T = TypeVar("T")

THREADS = 2
_limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter] = (
    weakref.WeakKeyDictionary()
)


def configure(threads: int) -> None:
    """Set the number of worker threads (once, from the ``recurrence_threads`` setting)."""
    global THREADS
    THREADS = threads
    _limiters.clear()


def _limiter() -> anyio.CapacityLimiter:
    loop = asyncio.get_running_loop()
    limiter = _limiters.get(loop)
    if limiter is None:
        limiter = _limiters[loop] = anyio.CapacityLimiter(THREADS)
    return limiter


async def run(work: Callable[[Budget], T]) -> T:
    """``work(budget)`` in a worker thread; its budget is cancelled if this await is."""
    budget = Budget()
    try:
        return await anyio.to_thread.run_sync(
            work, budget, abandon_on_cancel=True, limiter=_limiter()
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
