"""The thread that makes a provider test server send its push notifications: it runs one
round (look at the watched calendars, POST what changed) every 20 ms while something is
watched, and ends after 5 s with nothing to watch (started again by the next watch)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import httpx

POLL_SECONDS = 0.02
IDLE_SECONDS = 5.0


class Notifier:
    def __init__(self, round_: Callable[[httpx.Client], bool]) -> None:
        """``round_(client)``: one round; whether anything is watched."""
        self.round = round_
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None
        self.kicked = False  # a watch was made since the thread's last round began

    def start(self) -> None:
        with self.lock:
            self.kicked = True
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, daemon=True)
                self.thread.start()

    def _run(self) -> None:
        idle_since = time.monotonic()
        with httpx.Client(timeout=10) as client:
            while True:
                with self.lock:
                    self.kicked = False
                if self.round(client):
                    idle_since = time.monotonic()
                time.sleep(POLL_SECONDS)
                if time.monotonic() - idle_since < IDLE_SECONDS:
                    continue
                # Ending is decided under the lock, so that a watch made meanwhile (whose
                # start() found this thread still running) is not left without a notifier.
                with self.lock:
                    if not self.kicked:
                        self.thread = None
                        return
                idle_since = time.monotonic()
