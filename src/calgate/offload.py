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

:func:`changing` extends that to the whole of a change up to its write (a DELETE's reads, its
wait for the tenant's turn, its recurrence work): the write begins with :func:`write_begins`,
from when the disconnect no longer cancels anything, and the write's operation first checks,
inside its transaction, that the client is still there (a client that left while the write
waited for the database gets nothing written). Once that check passed, the write runs to its
commit or rolls back whole.

Recurrence work gives way to the rest (:class:`~calgate.domain.recurrence.budget.Budget`'s
``step_aside``): a request counts as *in flight* from when :class:`Client` is made until it is
answered, except while it waits for body bytes and while it waits for or holds a recurrence turn
(:func:`in_flight`, :func:`aside`), and for :data:`SETTLE_SECONDS` at most at a stretch; while
any request is in flight, the worker threads pause between steps
(:data:`~calgate.domain.recurrence.budget.QUIET`).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar, copy_context
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.types import Receive

from calgate.domain.recurrence import Budget, limits
from calgate.domain.recurrence.budget import QUIET, Cancelled, spending
from calgate.errors import ServiceUnavailable
from calgate.processes import DIED, Priority, Processes

T = TypeVar("T")

THREADS = 2
_processes: Processes | None = None  # recurrence_processes > 0: run_apart() sends work there
_holding: ContextVar[bool] = ContextVar("calgate_offload_turn", default=False)
_threads: ThreadPoolExecutor | None = None  # made at the first run() after configure()


class _Turns:
    """The turns of one event loop: ``THREADS`` at once, one per tenant at a time; and the one
    lane of the threads' work outside them (``run(..., in_turn=False)``)."""

    def __init__(self, threads: int) -> None:
        self.all = asyncio.Semaphore(threads)
        self.tenants: dict[str, tuple[asyncio.Lock, list[int]]] = {}
        self.outside = asyncio.Lock()


_turns: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Turns] = weakref.WeakKeyDictionary()


SWITCH_INTERVAL = 0.0002
"""Seconds a thread computing recurrence keeps the GIL while the event loop waits for it
(Python's default is 5 ms; each hop of a request between the loop and a database thread may
wait that long when a recurrence thread computes). 0.2 ms rather than 1 ms: beside a hostile
tenant's recurrence load a plain list's p99 was lower in three benchmark pairs out of three
(README, "A well-behaved tenant beside a hostile one")."""


def configure(threads: int, processes: int = 0, priority: Priority = "idle") -> None:
    """Set the number of worker threads (once, from the ``recurrence_threads`` setting), and
    the GIL's switch interval to :data:`SWITCH_INTERVAL`; with ``processes``
    (``recurrence_processes``), :func:`run_apart` runs its work in that many worker processes
    at ``priority`` (``recurrence_priority``; started at the first such work, kept while the
    number and the priority stay the same)."""
    global THREADS, _threads, _processes
    THREADS = threads
    if _processes is not None and (_processes.size, _processes.priority) != (processes, priority):
        _processes.shutdown()
        _processes = None
    if processes and _processes is None:
        _processes = Processes(processes, priority)
    _turns.clear()
    if _threads is not None:
        _threads.shutdown(wait=False)  # work still running there ends with its budget
        _threads = None
    sys.setswitchinterval(SWITCH_INTERVAL)


def _pool() -> ThreadPoolExecutor:
    global _threads
    if _threads is None:
        _threads = ThreadPoolExecutor(THREADS, thread_name_prefix="calgate-recurrence")
    return _threads


def _current() -> _Turns:
    loop = asyncio.get_running_loop()
    turns = _turns.get(loop)
    if turns is None:
        turns = _turns[loop] = _Turns(THREADS)
    return turns


class _InFlight:
    """How many requests are in flight outside recurrence work, process-wide (several event
    loops may serve in one process: tests do)."""

    count = 0
    lock = threading.Lock()

    @classmethod
    def add(cls, change: int) -> None:
        with cls.lock:
            cls.count += change
            if cls.count == 0:
                QUIET.set()
                if _processes is not None:
                    _processes.quiet(True)
            elif change > 0 and cls.count == 1:
                QUIET.clear()
                if _processes is not None:
                    _processes.quiet(False)


SETTLE_SECONDS = 0.05
"""How long a request counts as in flight at a stretch: one still going after that (waiting
for a provider, say) no longer holds recurrence work back."""


def _count(client: Client) -> None:
    """Count the request of ``client`` in flight, for a stretch (its ``settle`` timer, set while
    it counts, uncounts it at the stretch's end)."""
    if client.settle is not None:
        return
    _InFlight.add(1)
    client.settle = asyncio.get_running_loop().call_later(SETTLE_SECONDS, _uncount, client)


def _uncount(client: Client) -> None:
    if client.settle is not None:
        client.settle.cancel()
        client.settle = None
        _InFlight.add(-1)


@contextmanager
def in_flight(client: Client) -> Iterator[None]:
    """The request of ``client`` is in flight inside (made by :class:`ClientWatch`), for
    :data:`SETTLE_SECONDS` at most at a stretch."""
    client.flying = True
    _count(client)
    try:
        yield
    finally:
        client.flying = False
        _uncount(client)


@contextmanager
def aside(client: Client | None) -> Iterator[None]:
    """The request of ``client`` waits for something else inside (body bytes, a recurrence
    turn, its recurrence work): recurrence work need not give way to it meanwhile. A new
    stretch in flight begins after (even when the last one had run out), unless the request
    has been answered meanwhile (or is not watched by :func:`in_flight` at all)."""
    if client is None:
        yield
        return
    _uncount(client)
    try:
        yield
    finally:
        if client.flying and not client.answered:
            _count(client)


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
    lock, waiting = turns.tenants.setdefault(tenant, (asyncio.Lock(), [0]))
    waiting[0] += 1
    try:
        with aside(_in_flight_as()):
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
    none of the body's bytes, and hears no disconnect of a request already answered).
    ``gone`` once a watch heard it disconnect; ``watched`` while :func:`changing` listens (the
    work inside need not); ``writing`` once the change's write began (:func:`write_begins`)."""

    __slots__ = (
        *("answered", "flying", "gone", "listening", "receive", "settle", "watched", "writing"),
    )

    def __init__(self, receive: Receive) -> None:
        self.receive = receive
        self.flying = False
        self.settle: asyncio.TimerHandle | None = None
        self.listening = False
        self.answered = False
        self.gone = False
        self.watched = False
        self.writing = False

    def still_there(self) -> None:
        """Raise :class:`ClientGone` if the client disconnected (callable from any thread)."""
        if self.gone:
            raise ClientGone


_client: ContextVar[Client | None] = ContextVar("calgate_offload_client", default=None)
_reading: ContextVar[Client | None] = ContextVar("calgate_offload_reading", default=None)
"""The client of a read awaited by :func:`until_disconnected` (which hides it from
:data:`_client`, as it listens itself)."""


def _in_flight_as() -> Client | None:
    """The request whose flight a turn's wait and hold interrupt (:func:`aside`)."""
    return _client.get() or _reading.get()


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


async def run(work: Callable[[Budget], T], tenant: str, *, in_turn: bool = True) -> T:
    """``work(budget)`` in a worker thread, in one of ``tenant``'s turns (unless ``in_turn`` is
    false: work bounded otherwise, as the reading of a big provider answer by its memory turn,
    which must not wait for its tenant's other work; such work runs one at a time, so that it
    never holds every thread, nor the interpreter's lock twice over, and waits for nothing
    once it runs); its budget is cancelled if this await is, or if the request's client
    disconnects (then :class:`ClientGone`)."""
    budget = Budget(step_aside=True)
    client = _client.get()
    async with turn(tenant) if in_turn else _outside():
        try:
            # The work sees the caller's context variables; a cancelled await ends at once
            # (the thread, if it started, stops at its budget's next step).
            running = asyncio.get_running_loop().run_in_executor(
                _pool(), copy_context().run, _spend, work, budget
            )
            if client is None or not client.listening or client.watched:
                return await running
            done = await _unless_disconnected(client.receive, running, client)
            if not done:
                raise ClientGone
            return done[0]
        finally:
            budget.cancel()  # a no-op once the work is done


@asynccontextmanager
async def _outside() -> AsyncIterator[None]:
    """The one lane of the threads' work outside the turns (:func:`run`), waited for aside
    (:func:`aside`) as a turn is."""
    with aside(_in_flight_as()):
        async with _current().outside:
            yield


def apart() -> bool:
    """Whether :func:`run_apart` runs its work in worker processes (``recurrence_processes``)."""
    return _processes is not None


async def run_apart(
    fn: Callable[..., T], args: tuple[Any, ...], tenant: str, *, in_turn: bool = True
) -> T:
    """``fn(*args, budget)`` as :func:`run` does it, but in a worker process when
    ``recurrence_processes`` is set (:mod:`calgate.processes`): ``fn`` is a function of the
    module level and ``args`` and the result are pickled, so the work sees none of the
    caller's context variables or caches. Its budget is cancelled the same way."""
    processes = _processes
    if processes is None:
        return await run(lambda budget: fn(*args, budget), tenant, in_turn=in_turn)
    client = _client.get()
    async with turn(tenant) if in_turn else contextlib.nullcontext():
        job = processes.submit(fn, args, limits.WORK_LIMIT)
        try:
            running = asyncio.wrap_future(job.future)
            try:
                if client is None or not client.listening or client.watched:
                    return await running
                done = await _unless_disconnected(client.receive, running, client)
            except Cancelled:  # cancelled in the worker: nobody waits any more
                raise ClientGone from None
            except BrokenProcessPool:
                processes.broken(job.pool)
                raise ServiceUnavailable(DIED) from None
            if not done:
                raise ClientGone
            return done[0]
        finally:
            processes.cancel(job)  # a no-op once the work is done


async def start() -> None:
    """Start the worker processes, if any, now: a server does at start-up, so that its first
    expanded list does not wait for them (the other commands never start them unless they
    expand a list)."""
    if _processes is not None:
        await asyncio.to_thread(_processes.start)


async def stop() -> None:
    """Stop the worker processes' work at its next step and the processes after it, and wait
    for them (their queues' semaphores are released then, not left for the resource tracker
    to find after a SIGTERM)."""
    global _processes
    processes, _processes = _processes, None
    if processes is not None:
        await asyncio.to_thread(processes.shutdown, True)


# A read's client is listened to once the read has taken this long: most reads end sooner,
# and listening (a task beside the request) cost more than the read itself on the hot routes.
LISTEN_AFTER_SECONDS = 0.02


async def until_disconnected(request: Request, work: Awaitable[T]) -> T | None:
    """``await work``, cancelled if the client disconnects first (then None). The client is
    listened to from :data:`LISTEN_AFTER_SECONDS` on: a read that ends sooner never listens,
    and a disconnect is heard at most that much later than it came."""
    # The whole of it is cancelled: run() need not watch as well. The read's turns still take
    # it out of flight (:func:`_in_flight_as`): its own recurrence work need not give way to it.
    reading = _reading.set(_client.get())
    try:
        with watching(None):
            done = await _unless_disconnected(request.receive, work, after=LISTEN_AFTER_SECONDS)
    finally:
        _reading.reset(reading)
    return done[0] if done else None


def _still_there() -> None:
    pass


async def changing(work: Callable[[], Awaitable[T]]) -> T:
    """``await work()``, a change whose write begins with :func:`write_begins`. When the request's
    client (:func:`watching`) disconnects before that, the work is cancelled, with its
    recurrence work, and :class:`ClientGone` is raised: nothing was written. Once the write
    began, the disconnect cancels nothing (the write's operation checks
    :meth:`Client.still_there` first, so a write still waiting for the database then writes
    nothing and raises :class:`ClientGone` itself)."""
    client = _client.get()
    if client is None or not client.listening or client.watched:
        return await work()
    client.watched = True

    async def heard_first() -> T:
        await asyncio.sleep(0)  # a disconnect already there is heard before any work
        return await work()

    try:
        done = await _unless_disconnected(client.receive, heard_first(), client)
    finally:
        client.watched = False
    if not done:
        raise ClientGone
    return done[0]


def write_begins() -> Callable[[], None]:
    """The request's change begins its write: from now on its client's disconnect cancels
    nothing. Gives the check the write's operation makes first, in its transaction:
    :class:`ClientGone` if the client has gone meanwhile (see :func:`changing`)."""
    client = _client.get()
    if client is None:
        return _still_there
    client.writing = True
    return client.still_there


async def _unless_disconnected(
    receive: Receive, work: Awaitable[T], client: Client | None = None, after: float = 0.0
) -> list[T]:
    """``[await work]``, or ``[]`` once the client disconnected (``work`` is then cancelled,
    unless ``client`` has begun writing: then the client is only marked ``gone``).

    ``work`` runs in this task; one task beside it (started ``after`` seconds in, if the work
    has not ended by then) waits on ``receive`` and cancels this task when it hears the
    disconnect. That cancellation is told apart from any other (the server
    stopping, a timeout around the request) by the count of :meth:`asyncio.Task.cancelling`,
    as :func:`asyncio.timeout` does: when another one came too, ``CancelledError`` goes on.
    An exception of ``work`` is raised as itself."""
    task = asyncio.current_task()
    assert task is not None
    cancelling = task.cancelling()
    heard: list[Exception | None] = []  # the watch cancelled this task: None, or receive's error
    loop = asyncio.get_running_loop()
    watches: list[asyncio.Task[None]] = []

    def listen() -> None:
        watches.append(loop.create_task(_watch(receive, task, client, heard)))

    later = loop.call_later(after, listen) if after > 0 else None
    if later is None:
        listen()
    try:
        result = await work
    except asyncio.CancelledError:
        if heard and task.uncancel() <= cancelling:  # the disconnect's alone
            failed = heard[0]
            if failed is not None:
                raise failed from None
            return []
        raise
    except BaseException:
        if heard:  # the cancellation was caught inside the work
            task.uncancel()
        raise
    finally:
        if later is not None:
            later.cancel()
        for watch in watches:
            watch.cancel()  # it cannot cancel this task any more: it runs only after this returns
    if heard:
        task.uncancel()
    return [result]


async def _watch(
    receive: Receive,
    task: asyncio.Task[object],
    client: Client | None,
    heard: list[Exception | None],
) -> None:
    """Cancel ``task`` when ``receive`` gives the disconnect (or fails: its error is then
    ``task``'s), unless ``client`` has begun writing."""
    try:
        while (await receive())["type"] != "http.disconnect":
            pass
    except Exception as exc:  # raised in the request, as the work's own would be
        heard.append(exc)
    else:
        if client is not None:
            client.gone = True
            if client.writing:
                return  # the write runs to its end; its operation checks still_there()
        heard.append(None)
    task.cancel()
