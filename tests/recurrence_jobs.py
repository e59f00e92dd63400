"""Jobs for calgate's recurrence worker processes (:mod:`calgate.processes`) in tests: functions
of the module level, which a worker imports by name."""

from __future__ import annotations

import os

from calgate.domain.recurrence import Budget


def where(budget: Budget) -> tuple[int, int]:
    """(the worker's process id, its niceness)."""
    return os.getpid(), os.nice(0)


def spend(steps: int, budget: Budget) -> int:
    for _ in range(steps):
        budget.spend()
    return steps


def spend_for_ever(budget: Budget) -> None:
    while True:
        budget.spend()


def die(budget: Budget) -> None:
    os._exit(3)
