"""Reading calgate's HTML pages in tests: forms, their CSRF token, links (no browser)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import httpx


class Page(HTMLParser):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.inputs: dict[str, str] = {}
        self.links: list[str] = []
        self.forms: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "input" and "name" in a:
            self.inputs[a["name"]] = a.get("value", "")
        elif tag == "a" and "href" in a:
            self.links.append(a["href"])
        elif tag == "form":
            self.forms.append(a.get("action", ""))

    def link(self, pattern: str) -> str:
        found = [h for h in self.links if re.search(pattern, h)]
        assert found, f"no link matching {pattern!r} in {self.links}"
        return found[0]


def parse(response: httpx.Response) -> Page:
    assert response.headers["content-type"].startswith("text/html"), response.text
    return Page(response.text)
