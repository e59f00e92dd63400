"""The API reference pages work with no network: every script, style sheet and icon they
reference is served by calgate itself, and nothing in them points outside."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from tests.conftest import Api

pytestmark = pytest.mark.anyio


class _References(HTMLParser):
    """Every src/href/spec-url of the page, and every URL written in its inline scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [v for k, v in attrs if k in ("src", "href", "spec-url") and v]

    def handle_data(self, data: str) -> None:
        self.inline += data


def _references(page: str) -> tuple[list[str], list[str]]:
    parser = _References()
    parser.feed(page)
    quoted = re.findall(r"""['"]((?:https?:)?//[^'"]*|/[^'"/][^'"]*)['"]""", parser.inline)
    return parser.urls, quoted


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_reference_page_uses_only_calgates_own_assets(api: Api, page: str) -> None:
    r = await api.client.get(page)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    tags, inline = _references(r.text)
    assert "/openapi.json" in tags + inline
    scripts = [u for u in tags if u.endswith(".js")]
    assert scripts, "the page loads its renderer"
    for url in tags + inline:
        assert url.startswith("/"), f"{page} references {url} outside calgate"
        assert not url.startswith("//"), f"{page} references {url} outside calgate"
    for url in (u for u in tags if u.startswith("/docs/assets/")):
        asset = await api.client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 1000, url
    assert (await api.client.get("/openapi.json")).status_code == 200


async def test_swagger_ui_does_not_call_the_public_validator(api: Api) -> None:
    page = (await api.client.get("/docs")).text
    assert '"validatorUrl": null' in page


async def test_unknown_asset_is_a_404(api: Api) -> None:
    r = await api.client.get("/docs/assets/nothing.js")
    assert r.status_code == 404
