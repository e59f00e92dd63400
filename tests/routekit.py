"""The app's routes and OpenAPI document, read once at collection (no request, no database work
beyond creating an empty store in a temporary folder)."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from fastapi.routing import iter_route_contexts

from calgate.api.app import create_app
from calgate.runtime import Runtime
from calgate.settings import Settings


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    doc: dict[str, Any]

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def path_params(self) -> list[str]:
        return [p["name"] for p in self.doc.get("parameters", []) if p["in"] == "path"]

    @property
    def query_params(self) -> list[str]:
        return [p["name"] for p in self.doc.get("parameters", []) if p["in"] == "query"]

    @property
    def takes_body(self) -> bool:
        return "requestBody" in self.doc

    @property
    def authenticated(self) -> bool:
        return bool(self.doc.get("security"))


@cache
def app_parts() -> tuple[list[tuple[str, str]], dict[str, Any]]:
    """(method, path) of every route of the app, walked from ``app.routes``, and the document."""
    folder = Path(tempfile.mkdtemp(prefix="calgate-routes-"))
    settings = Settings(data_dir=folder)
    runtime = Runtime.build(settings)
    try:
        app = create_app(settings, runtime)
        routes = [
            (method, route.path)
            for route in iter_route_contexts(app.routes)
            if route.path and route.methods
            for method in sorted(route.methods - {"HEAD"})
        ]
        return routes, app.openapi()
    finally:
        asyncio.run(runtime.aclose())
        shutil.rmtree(folder, ignore_errors=True)


def operations(prefix: str = "/") -> list[Operation]:
    routes, doc = app_parts()
    found = []
    for method, path in routes:
        if path.startswith(prefix):
            found.append(
                Operation(method, path, doc["paths"].get(path, {}).get(method.lower(), {}))
            )
    return found
