"""The work one request may spend on recurrence, and the way to stop it from outside.

Expansion and checking cost is counted in steps: a candidate time a rule produced, a rule period
or a day scanned without one, a rule set up. One request shares one :class:`Budget` across every
series it expands; past its limit the request is refused with a 400 that names the limit (the
``recurrence_work_limit`` setting), instead of running for as long as a rule and a window make it.
A budget can also be cancelled from another thread (the client went away, the server is
stopping): the next step then raises :class:`Cancelled`, so that work running off the event loop
ends soon after nobody waits for it. A budget made while another one's work runs
(:func:`spending`), such as the own budget of a series' bounds, is cancelled with it.

A budget made to ``step_aside`` (the work of :func:`calgate.offload.run`, in a thread of its own)
gives way to other requests: while :data:`QUIET` is not set (requests doing something other
than recurrence work are in flight), each step waits for it, up to :data:`PAUSE_SECONDS`, and
after such a pause the work runs on for at least :data:`RUN_SECONDS` before it pauses again.
Python runs one thread at a time: a thread computing recurrence without pause makes every hop
of a plain request between the event loop and a database thread wait for its turn.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from calgate.domain.recurrence import limits
from calgate.errors import InvalidParameters


class WorkLimitExceeded(InvalidParameters):
    """400: the request needs more recurrence work than the configured limit allows."""


class Cancelled(Exception):  # a signal, not an error the client sees
    """The budget was cancelled: whoever waited for this work has gone."""


QUIET = threading.Event()
"""Set while no request is in flight outside recurrence work (kept by :mod:`calgate.offload`)."""
QUIET.set()
PAUSE_SECONDS = 0.01
"""The longest a step of work that steps aside waits for :data:`QUIET`."""
RUN_SECONDS = 0.0005
"""How long such work runs on after a pause before it waits again: under traffic that never
pauses it still gets about a twentieth of a thread's time (and all of it between requests).
Against 4 ms and 1 ms (a fifth), the server-side p99 of plain lists beside a hostile recurrence
load was 4.2-5.8 ms in three runs instead of 6.1-7.8 ms in six (README)."""


class Budget:
    """Steps left for one request. Not shared between requests; thread-safe enough for one
    worker thread spending while another cancels (a bool and an int, read and written whole)."""

    __slots__ = ("aside", "cancelled", "left", "limit", "outer", "run_until")
    aside: bool

    def __init__(self, limit: int | None = None, *, step_aside: bool = False) -> None:
        self.limit = limits.WORK_LIMIT if limit is None else limit
        self.left = self.limit
        self.cancelled = False
        self.outer = _spending.get()  # the work this budget is part of: cancelled with it
        self.aside = step_aside or (self.outer is not None and self.outer.aside)
        self.run_until = 0.0

    def spend(self, steps: int = 1) -> None:
        self.left -= steps
        if self.left < 0:
            raise WorkLimitExceeded(
                f"recurrence: this request needs more than {self.limit} steps of recurrence "
                "work (the recurrence_work_limit setting); give a narrower window "
                "(start/end) or a simpler rule"
            )
        if self.aside and not QUIET.is_set():
            self._step_aside()
        if self.cancelled or (self.outer is not None and self.outer.cancelled):
            raise Cancelled

    def _step_aside(self) -> None:
        pace = self if self.outer is None else self.outer  # one pace for the whole work
        if time.monotonic() >= pace.run_until and not QUIET.wait(PAUSE_SECONDS):
            pace.run_until = time.monotonic() + RUN_SECONDS  # traffic goes on: run a while

    def cancel(self) -> None:
        self.cancelled = True


_spending: ContextVar[Budget | None] = ContextVar("calgate_recurrence_budget", default=None)


@contextmanager
def spending(budget: Budget) -> Iterator[None]:
    """Work done inside is ``budget``'s: budgets made meanwhile are cancelled with it."""
    token = _spending.set(budget)
    try:
        yield
    finally:
        _spending.reset(token)
