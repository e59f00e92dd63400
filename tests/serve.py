"""Start the real `calgate serve` process on a free port, as a user would."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Served:
    base_url: str
    process: subprocess.Popen[str]
    log_path: Path

    def text(self) -> str:
        return self.log_path.read_text()


@contextmanager
def serve(
    data_dir: Path,
    env: dict[str, str] | None = None,
    port: int | None = None,
    cpus: set[int] | None = None,
) -> Iterator[Served]:
    """`calgate serve` on ``port`` (a free one by default), on ``cpus`` only if given."""
    port = port or free_port()
    full_env = {**os.environ, "CALGATE_DATA_DIR": str(data_dir), **(env or {})}
    cmd = [sys.executable, "-m", "calgate", "serve", "--host", "127.0.0.1", "--port", str(port)]
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir / f"serve-{port}.log"
    log = log_path.open("w")
    pin = None if cpus is None else (lambda: os.sched_setaffinity(0, cpus))
    proc = subprocess.Popen(
        cmd, env=full_env, stdout=log, stderr=subprocess.STDOUT, text=True, preexec_fn=pin
    )
    served = Served(f"http://127.0.0.1:{port}", proc, log_path)
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"calgate serve exited: {served.text()}")
            try:
                if httpx.get(f"{served.base_url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"calgate serve did not start: {served.text()}")
        yield served
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def ids_from_banner(text: str) -> tuple[str, str]:
    """(account_id, calendar_id) from the printed first-start curl."""
    match = re.search(r"/api/v1/calendars/([0-9a-f]+)/events\?account_id=([0-9a-f]+)", text)
    assert match, text
    return match.group(2), match.group(1)
