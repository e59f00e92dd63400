"""The end of quiet runs, recorded together.

Most runs find nothing (an idle calendar's poll). Their end still has to be written: the lease
given back, the next due time, the cursor (a server may hand out a new one) and the last
success that ``GET /api/v1/accounts/{id}`` and the mirror's freshness rely on. Written one
transaction per run, that write was most of an idle poll's cost; here the runs that end while
a write is under way wait for it and go together in the next one: one transaction, one
statement (:func:`calgate.store.mirror.finish_quiet`). A run waits for its own write, so what
it reports (and ``last_success_at``) is committed when the run returns, as before.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Protocol, TypeVar

from sqlalchemy.engine import Connection

from calgate.store import mirror
from calgate.store.db import Op
from calgate.store.mirror import Quiet

T = TypeVar("T")

# Most quiet runs one transaction records.
MAX_BATCH = 256


class Writes(Protocol):
    """What the batch needs of :class:`calgate.store.db.Database`."""

    async def write(self, op: Op[T]) -> T: ...


class QuietRuns:
    def __init__(self, db: Writes) -> None:
        self.db = db
        self._waiting: list[tuple[Quiet, str, asyncio.Future[bool]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def finish(self, run: Quiet, token: str) -> bool:
        """Record ``run`` (its lease held by ``token``); False when the lease was lost."""
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.append((run, token, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())
        return await done

    async def _write(self) -> None:
        await asyncio.sleep(0)  # the runs ending in this same turn of the loop come along
        while self._waiting:
            batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
            by_token: dict[str, list[Quiet]] = {}
            for run, token, _ in batch:
                by_token.setdefault(token, []).append(run)
            try:
                recorded = await self.db.write(functools.partial(_record, by_token=by_token))
            except Exception as error:
                for _, _, done in batch:
                    if not done.done():
                        done.set_exception(error)
                continue
            for run, _, done in batch:
                if not done.done():
                    done.set_result((run.state.account_id, run.state.calendar_id) in recorded)


def _record(conn: Connection, by_token: dict[str, list[Quiet]]) -> set[mirror.Key]:
    return {
        key
        for token, runs in by_token.items()
        for key in mirror.finish_quiet(conn, runs, token=token)
    }
