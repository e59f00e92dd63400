"""Recurrence work, and the reading of big CalDAV answers, in worker processes of calgate's own,
at the lowest CPU priority.

Threads share one interpreter: a thread expanding a series holds the interpreter's lock in
turns with the event loop, so a tenant's recurrence work takes its share of the core the event
loop runs on however often it gives way (README, "A well-behaved tenant beside a hostile one").
With ``recurrence_processes`` set, :func:`calgate.offload.run_apart` sends such work to one of
that many worker processes instead (and so does
:func:`calgate.providers.caldav.transport.read_apart`, for the XML and iCalendar of a big CalDAV
answer): the operating system runs them on any core, and since they
run at the lowest priority (:data:`Priority`; SCHED_IDLE on Linux), a core the event loop (or a
database thread, or anything else at the normal priority) wants is given to it at once.

A job is a function of the module level and its arguments (pickled both ways), run with a
:class:`~calgate.domain.recurrence.Budget` of the caller's work limit. The budget is cancelled
across the process boundary: each job has a slot in a block of shared memory; the caller sets
it when nobody waits for the answer any more (:meth:`Processes.cancel`), and a thread of the
worker, which looks every :data:`LOOK_SECONDS`, cancels the running job's budget, which stops
at its next step. A slot is given to another job only once its job has ended. One more byte
tells the workers whether calgate has other requests in flight (:meth:`Processes.quiet`): the
jobs give way between steps meanwhile, as the threads' work does. The workers start with the
runtime (:meth:`Processes.start`) and end with calgate's process however it ends: each watches
the reading end of a pipe only that process can write to.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.sharedctypes import RawArray
from typing import Any, Generic, Literal, TypeVar

from calgate import logs
from calgate.domain import cursor
from calgate.domain.recurrence import Budget, limits
from calgate.domain.recurrence.budget import QUIET, Cancelled, spending
from calgate.errors import ServiceUnavailable

T = TypeVar("T")

SLOTS = 1024
"""Jobs that may be under way at once, waiting ones included (the turns allow far fewer)."""

LOOK_SECONDS = 0.005
"""How often a worker looks whether its job was cancelled."""

DIED = "the worker process doing this request's work died (killed, or out of memory); retry"
"""The 503's detail when a worker died under a job: an expansion's or a big answer's reading."""

NICE = 19
"""The workers' niceness: the lowest priority of normal scheduling (and the fallback of
``idle`` where the system has no SCHED_IDLE or refuses it)."""

Priority = Literal["idle", "nice"]
"""The workers' CPU priority (setting ``recurrence_priority``): ``idle`` is Linux's SCHED_IDLE
at nice 19, ``nice`` nice 19 at the normal policy. A task at the normal priority that wakes up
preempts a SCHED_IDLE task at once; at nice 19 the worker may first run on to the end of its
time slice, which a plain list beside a hostile tenant's recurrence load showed in its p99
(README, "A well-behaved tenant beside a hostile one")."""

PRELOAD = [
    "calgate.domain.expansion",
    # An expanded list's page is made and encoded there (LocalProvider.list_events_encoded).
    "calgate.providers.local",
    "calgate.api.wire",
    "calgate.api.v2.wire",
    "calgate.mail.status",
    "calgate.providers.caldav.reading",
    "calgate.providers.google_pages",
    "calgate.providers.microsoft_rows",
]
"""Imported once by the process that forks the workers (where forking is the way)."""


@dataclass(frozen=True, slots=True)
class Job(Generic[T]):
    """A job under way: its future, its slot of shared memory, the pool it runs in."""

    future: Future[T]
    slot: int
    pool: ProcessPoolExecutor


class Processes:
    """``size`` worker processes, started by :meth:`start` (or at the first job)."""

    def __init__(self, size: int, priority: Priority = "idle") -> None:
        self.size = size
        self.priority = priority
        self._flags: Any = None
        self._alive: Any = None
        self._pool: ProcessPoolExecutor | None = None
        self._free = list(range(SLOTS))
        self._lock = threading.Lock()

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                if sys.platform == "linux":
                    context = multiprocessing.get_context("forkserver")
                    context.set_forkserver_preload(PRELOAD)
                else:
                    context = multiprocessing.get_context("spawn")
                self._flags = RawArray("b", SLOTS + 1)  # the last: "busy" (see quiet())
                self._flags[SLOTS] = 0 if QUIET.is_set() else 1  # a new pool: as things are
                # Only this process holds the writing end: the workers see it close when this
                # process ends, however it ends (a SIGKILL, or the SIGTERM uvicorn raises again
                # after its graceful shutdown: no exit handler runs), and end too; their job
                # queue would not tell them (each holds it open).
                # (The reading end stays open here too: workers are started as jobs come.)
                if self._alive is not None:
                    self._alive.close()  # of a pool that broke
                alive, self._alive = context.Pipe(duplex=False)
                self._pool = ProcessPoolExecutor(
                    self.size,
                    mp_context=context,
                    initializer=_begin,
                    initargs=(self._flags, alive, logs.current_setup(), self.priority),
                )
            return self._pool

    def start(self) -> None:
        """Start the workers now rather than at the first job (which would wait for them: half a
        second, the first time in a process)."""
        if self._pool is not None:
            return
        pool = self._executor()
        for _ in range(self.size):
            pool.submit(_nothing)

    def submit(self, fn: Callable[..., T], args: tuple[Any, ...], limit: int) -> Job[T]:
        """Start ``fn(*args, budget)`` in a worker, with a work limit of ``limit``; its log lines
        name the current request (and are written as calgate's own: same format, same level,
        same stream), and the cursors it signs or checks use this process's key."""
        pool = self._executor()
        with self._lock:
            if not self._free:
                raise ServiceUnavailable("worker processes: too many jobs under way; retry shortly")
            slot = self._free.pop()
            self._flags[slot] = 0
        try:
            request, key = logs.request_id.get(), cursor.key_in_use()
            future = pool.submit(_job, slot, limit, request, key, fn, args)
        except BrokenProcessPool:
            self._release(slot)
            self.broken(pool)
            raise ServiceUnavailable(DIED) from None
        future.add_done_callback(lambda _: self._release(slot))
        return Job(future, slot, pool)

    def cancel(self, job: Job[Any]) -> None:
        """Nobody waits for ``job`` any more: it stops at its budget's next step. A no-op once
        it ended (its slot may be another job's by then)."""
        with self._lock:
            if not job.future.done():
                self._flags[job.slot] = 1

    def quiet(self, quiet: bool) -> None:
        """Whether calgate's other requests are all done (:data:`QUIET` in the workers):
        while they are not, a worker's job gives way between its steps as a thread's would
        (:meth:`~calgate.domain.recurrence.Budget.spend`), so that a tenant's recurrence
        work, however fast its worker, does not bring that tenant more answers for the event
        loop to send meanwhile."""
        if self._flags is not None:
            self._flags[SLOTS] = 0 if quiet else 1

    def _release(self, slot: int) -> None:
        with self._lock:
            self._free.append(slot)

    def broken(self, pool: ProcessPoolExecutor) -> None:
        """A worker of ``pool`` died (killed, out of memory): every job under way there failed
        with it, and the next job starts a new pool (unless ``pool`` was replaced already)."""
        with self._lock:
            if self._pool is not pool:
                return
            self._pool = None
        pool.shutdown(wait=False, cancel_futures=True)

    def shutdown(self, wait: bool = False) -> None:
        """Stop every job at its next step and the workers after it; ``wait`` for them."""
        with self._lock:
            pool, self._pool = self._pool, None
            if self._flags is not None:
                for slot in range(SLOTS):
                    self._flags[slot] = 1
        if pool is not None:
            pool.shutdown(wait=wait, cancel_futures=True)
        if self._alive is not None:
            self._alive.close()  # the workers end, their jobs stopped or not
            self._alive = None


# In a worker process ---------------------------------------------------------------------------

_flags: Any = None
_running: tuple[int, Budget] | None = None


def _begin(
    flags: Any, alive: Connection, logging: tuple[str, str] | None, priority: Priority
) -> None:
    global _flags
    _flags = flags
    if logging is not None:  # a job's warnings in the format and at the level of calgate's
        with contextlib.suppress(ValueError):  # a level of a name logging does not know
            logs.setup_logging(*logging)
    # Where there is no niceness, the workers run at the normal priority.
    with contextlib.suppress(AttributeError, OSError):
        os.nice(NICE - os.nice(0))
    if priority == "idle":  # where there is no SCHED_IDLE (or it is refused): nice 19
        with contextlib.suppress(AttributeError, OSError):
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    threading.Thread(target=_look, args=(alive,), name="calgate-look", daemon=True).start()


def _look(alive: Connection) -> None:
    """Keep :data:`QUIET` as calgate's says (:meth:`Processes.quiet`); cancel the running
    job's budget when its slot says so; end the worker when calgate's process has ended
    (``alive`` reaches its end: nothing is ever sent on it)."""
    while not alive.poll(LOOK_SECONDS):
        if _flags[SLOTS]:
            QUIET.clear()
        else:
            QUIET.set()
        running = _running
        if running is not None and _flags[running[0]]:
            running[1].cancel()
    os._exit(0)


def _nothing() -> None:
    pass


def _job(
    slot: int,
    limit: int,
    request: str | None,
    key: bytes,
    fn: Callable[..., T],
    args: tuple[Any, ...],
) -> T:
    global _running
    if _flags[slot]:
        raise Cancelled
    limits.configure(limit)  # for the budgets the work makes of its own too
    cursor.use_key(key)  # the cursors of the pages it makes are the caller's
    budget = Budget(limit, step_aside=True)
    _running = (slot, budget)
    named = logs.request_id.set(request)  # the job's log lines name the caller's request
    try:
        with spending(budget):
            return fn(*args, budget)
    finally:
        logs.request_id.reset(named)
        _running = None
