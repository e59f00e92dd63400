"""Rendering pages (Jinja2, autoescaped), reading forms, and CSRF tokens.

CSRF: a page sets a random value in an HttpOnly cookie and puts an HMAC of it (with a key
derived from calgate's secret key) in each form; a POST is accepted only when the form's token
matches its cookie. Another site can make the browser send the cookie but cannot read it, so it
cannot forge the token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles

from calgate.errors import InvalidParameters
from calgate.secrets import SecretBox

HERE = Path(__file__).parent
STATIC_PATH = "/pages/static"
STATIC = StaticFiles(directory=HERE / "static")
MAX_FIELDS = 20
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; "
    "form-action 'self' https: http:; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}

templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    html = templates.get_template(name).render(static=STATIC_PATH, **context)
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


async def form_of(request: Request) -> dict[str, str]:
    """The urlencoded form of a POST (first value of each field; none for an empty body)."""
    body = await request.body()
    kind = request.headers.get("content-type", "").split(";")[0].strip()
    if body and kind != "application/x-www-form-urlencoded":
        raise InvalidParameters("form: expected application/x-www-form-urlencoded")
    try:
        raw = body.decode()
        fields = parse_qs(
            raw, keep_blank_values=True, max_num_fields=MAX_FIELDS, strict_parsing=False
        )
    except ValueError:  # UnicodeDecodeError included
        raise InvalidParameters("form: not UTF-8, or too many fields") from None
    return {k: v[0] for k, v in fields.items()}


class Csrf:
    """Tokens binding each form to the cookie ``cookie`` (see the module's docstring)."""

    def __init__(self, box: SecretBox, cookie: str, path: str, same_site: str) -> None:
        self.key = box.derive("pages-csrf:" + cookie)
        self.cookie = cookie
        self.path = path
        self.same_site = same_site

    def seed(self, request: Request) -> str:
        """The cookie value of this browser (a new one if it has none)."""
        return request.cookies.get(self.cookie) or secrets.token_urlsafe(24)

    def token(self, seed: str) -> str:
        return hmac.new(self.key, seed.encode(), hashlib.sha256).hexdigest()

    def check(self, request: Request, form: dict[str, str]) -> None:
        seed = request.cookies.get(self.cookie, "")
        given = form.get("csrf", "")
        if not seed or not hmac.compare_digest(self.token(seed), given):
            raise InvalidParameters(
                "csrf: the form expired or came from another site; reload the page and retry"
            )

    def page(
        self, request: Request, name: str, status: int = 200, *, secure: bool, **context: Any
    ) -> Response:
        """Page ``name`` with this browser's token as ``csrf`` (and its cookie set)."""
        seed = self.seed(request)
        response = page(name, status, csrf=self.token(seed), **context)
        return self.set(response, seed, secure)

    def set(self, response: Response, seed: str, secure: bool) -> Response:
        response.set_cookie(
            self.cookie,
            seed,
            path=self.path,
            httponly=True,
            secure=secure,
            samesite=self.same_site,  # type: ignore[arg-type]
        )
        return response
