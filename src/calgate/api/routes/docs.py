"""The API reference pages, `/docs` (Swagger UI) and `/redoc` (ReDoc), served with no network:
their scripts, style sheet and icon come from the `fastapi-offline` package installed with
calgate and are served by calgate itself under `/docs/assets/`."""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import APIRouter
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

ASSETS_PATH = "/docs/assets"
ASSETS = StaticFiles(directory=Path(fastapi_offline.__file__).parent / "static")
OPENAPI_URL = "/openapi.json"
TITLE = "calgate API"

router = APIRouter(include_in_schema=False)


@router.get("/docs")
async def swagger_ui() -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url=OPENAPI_URL,
        title=TITLE,
        swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS_PATH}/favicon.png",
        # No call to the public validator service (its badge would load an outside image).
        swagger_ui_parameters={"validatorUrl": None, "tryItOutEnabled": False},
    )


@router.get("/redoc")
async def redoc() -> HTMLResponse:
    return get_redoc_html(
        openapi_url=OPENAPI_URL,
        title=TITLE,
        redoc_js_url=f"{ASSETS_PATH}/redoc.standalone.js",
        redoc_favicon_url=f"{ASSETS_PATH}/favicon.png",
        with_google_fonts=False,
    )
