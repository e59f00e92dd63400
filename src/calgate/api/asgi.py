"""The ASGI entry point for process managers: `uvicorn --factory calgate.api.asgi:create`.

Settings come from the environment (``CALGATE_*``) and the optional config file; the app owns
its runtime (database, providers) and starts it in its lifespan. `calgate serve --workers N`
uses it to run N processes on one port.
"""

from __future__ import annotations

import gc

from fastapi import FastAPI

from calgate.api.app import create_app
from calgate.logs import setup_logging
from calgate.settings import load_settings


def tune_gc() -> None:
    """Long-lived objects made at start-up need no more collection; fewer young-generation
    collections keep request latency steady under load."""
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def create() -> FastAPI:
    settings = load_settings()
    setup_logging(settings.log_level, settings.log_format)
    app = create_app(settings)
    tune_gc()
    return app
