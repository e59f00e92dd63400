"""Logging: text or JSON lines (one object a line), request ids, and secrets kept out.

``setup_logging(level, fmt)`` configures the root logger once, for ``calgate serve`` and the
other commands. Every line carries the id of the request it belongs to (``request_id``,
set by the observability middleware) and goes through :func:`calgate.security.redact`, so an
API key, a bearer token or a ``password=...`` that reaches a message (a provider's error text,
a URL, a traceback) is masked whichever library logged it.
"""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import orjson

from calgate.security import redact

__all__ = ["JsonFormatter", "RedactingFilter", "TextFormatter", "request_id", "setup_logging"]

request_id: ContextVar[str | None] = ContextVar("calgate_request_id", default=None)

# Attributes every LogRecord has: anything else on a record came from ``extra=``.
_STANDARD = frozenset(
    logging.LogRecord("", 0, "", 0, "", (), None).__dict__.keys()
    | {"message", "asctime", "request_id", "taskName"}
)


class RedactingFilter(logging.Filter):
    """Masks secrets in the message, and stamps the record with the current request id."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "_redacted", False):
            message = record.getMessage()
            clean = redact(message)
            if clean != message or record.args:
                record.msg, record.args = clean, None
            record._redacted = True
            if record.exc_info and not record.exc_text:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            if record.exc_text:
                record.exc_text = redact(record.exc_text)
        if not hasattr(record, "request_id"):
            record.request_id = request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: ts, level, logger, msg, pid, request_id, the ``extra`` fields,
    and ``exc`` (the traceback) when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            "pid": record.process,
        }
        if not getattr(record, "_redacted", False):
            line["msg"] = redact(line["msg"])
        rid = getattr(record, "request_id", None) or request_id.get()
        if rid:
            line["request_id"] = rid
        fields = record.__dict__
        for key in fields.keys() - _STANDARD:
            if key[0] != "_":
                line[key] = fields[key]
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exc"] = redact(record.exc_text)
        return orjson.dumps(line, default=str).decode()


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id.get() or "-"
        line = super().format(record)
        return line if getattr(record, "_redacted", False) else redact(line)


def current_setup() -> tuple[str, str] | None:
    """The ``(level, fmt)`` :func:`setup_logging` was last called with in this process, if it
    was (for worker processes, which log as the process that starts them)."""
    root = logging.getLogger()
    for handler in root.handlers:
        if getattr(handler, "_calgate", False):
            fmt = "json" if isinstance(handler.formatter, JsonFormatter) else "text"
            return logging.getLevelName(root.level).lower(), fmt
    return None


def setup_logging(level: str = "info", fmt: str = "text", stream: Any = None) -> logging.Handler:
    """Send every log line to ``stream`` (stderr) as ``fmt`` (``text`` or ``json``)."""
    if fmt not in ("text", "json"):
        raise ValueError(f"log_format: {fmt!r} is not text or json")
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_calgate", False):
            root.removeHandler(old)
    handler._calgate = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper())
    # No line names its source file or line (neither format has them): skip the caller lookup,
    # a walk up the stack for every record (the logging documentation's own optimization; the
    # access line of every request paid it).
    logging._srcfile = None
    # A line per provider HTTP call is noise (and URLs): only at debug level.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(
            logging.DEBUG if root.level <= logging.DEBUG else "WARNING"
        )
    # uvicorn's own loggers propagate to the root, in the same format.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    return handler
