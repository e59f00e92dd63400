"""Server-rendered HTML pages: the hosted account connection (``hosted``) for end users and the
operator console (``console``). Templates and one stylesheet ship with the package; no
JavaScript, no CDN."""

from __future__ import annotations

from fastapi import FastAPI

from calgate.api.pages import console, hosted
from calgate.api.pages.render import STATIC, STATIC_PATH


def install(app: FastAPI) -> None:
    """The pages' routes (outside the OpenAPI document) and their stylesheet."""
    app.include_router(hosted.router)
    app.include_router(console.router)
    app.mount(STATIC_PATH, STATIC, name="pages-static")


__all__ = ["install"]
