"""One lifecycle for calgate's background loops (outbox worker, sync scheduler, push keeper):
started in the current event loop, woken early by ``wake``, stopped by letting the loop end."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Self


class Background:
    """A subclass implements :meth:`_main`, which runs until ``self._stopping`` and waits on
    ``self._wake`` (created by the subclass inside the loop) between rounds."""

    task_name = "calgate-background"

    def __init__(self) -> None:
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._stopping = False

    async def start(self) -> None:
        """Run in the background of the current event loop until :meth:`stop`."""
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._main(), name=self.task_name)

    def wake(self) -> None:
        """Start the next round now."""
        if self._wake is not None:
            self._wake.set()

    async def stop(self) -> None:
        self._stopping = True
        self.wake()
        if self._task is not None:
            await self._task
            self._task = None

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Self]:
        await self.start()
        try:
            yield self
        finally:
            await self.stop()

    async def _main(self) -> None:
        raise NotImplementedError


__all__ = ["Background"]
