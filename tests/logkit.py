"""calgate's own log set-up (``calgate.logs.setup_logging``) writing to a buffer, with the
logging configuration it changes put back afterwards."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson

TOUCHED = ("", "httpx", "httpcore", "uvicorn", "uvicorn.error", "uvicorn.access")


@contextmanager
def captured_logs(fmt: str = "json", level: str = "info") -> Iterator[io.StringIO]:
    from calgate.logs import setup_logging

    saved = []
    for name in TOUCHED:
        logger = logging.getLogger(name)
        saved.append((logger, logger.level, list(logger.handlers), logger.propagate))
    out = io.StringIO()
    setup_logging(level, fmt, stream=out)
    try:
        yield out
    finally:
        for logger, lvl, handlers, propagate in saved:
            logger.setLevel(lvl)
            logger.handlers[:] = handlers
            logger.propagate = propagate


def json_lines(out: io.StringIO) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in out.getvalue().splitlines() if line]
