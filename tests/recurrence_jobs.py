"""Jobs for calgate's recurrence worker processes (:mod:`calgate.processes`) in tests: functions
of the module level, which a worker imports by name."""

from __future__ import annotations

import os
import sys
import time

from calgate.domain.recurrence import Budget
from calgate.domain.recurrence.budget import QUIET


def where(budget: Budget) -> tuple[int, int, int]:
    """(the worker's process id, its niceness, its scheduling policy)."""
    return os.getpid(), os.nice(0), os.sched_getscheduler(0)


def not_loaded(names: list[str], budget: Budget) -> list[str]:
    """Which of the modules ``names`` the worker has not imported."""
    return [name for name in names if name not in sys.modules]


def spend(steps: int, budget: Budget) -> int:
    for _ in range(steps):
        budget.spend()
    return steps


def spend_for_ever(budget: Budget) -> None:
    while True:
        budget.spend()


def die(budget: Budget) -> None:
    os._exit(3)


def quiet(budget: Budget) -> bool:
    """Whether the worker takes calgate to have no other request in flight, once it had time to
    look (:data:`calgate.domain.recurrence.budget.QUIET`)."""
    time.sleep(0.05)
    return QUIET.is_set()


def gives_way(budget: Budget) -> bool:
    return budget.aside


def inner_limit(budget: Budget) -> int:
    """The work limit of a budget the work makes of its own (a series' bounds do)."""
    return Budget().limit
