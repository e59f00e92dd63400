"""`calgate serve` prints the event loop and HTTP parser it runs on, and they are the ones
installed: uvloop when it can be imported (one worker and several), httptools."""

from __future__ import annotations

import importlib.util
import os
import platform
import re
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path

from tests.serve import free_port, serve


def expected() -> str:
    if importlib.util.find_spec("uvloop") is not None:
        loop = f"uvloop {version('uvloop')}"
    else:
        loop = f"asyncio (Python {platform.python_version()})"
    return f"calgate: event loop {loop}, HTTP parser httptools {version('httptools')}"


def engine_lines(text: str) -> list[str]:
    return re.findall(r"^calgate: event loop .*$", text, re.M)


def test_one_worker_prints_the_loop_it_runs_on(tmp_path: Path) -> None:
    with serve(tmp_path / "data") as served:
        assert engine_lines(served.text()) == [expected()]


def test_workers_print_the_loop_uvicorn_gives_them(tmp_path: Path) -> None:
    env = {**os.environ, "CALGATE_DATA_DIR": str(tmp_path / "data")}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    cmd = [sys.executable, "-m", "calgate", "serve", "--port", str(free_port())]
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [*cmd, "--workers", "2"], env=env, stdout=out, stderr=subprocess.STDOUT, text=True
        )
    try:
        deadline = time.monotonic() + 30
        while not engine_lines(log.read_text()) and time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()
            time.sleep(0.1)
        assert engine_lines(log.read_text()) == [expected()]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
