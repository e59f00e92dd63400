"""A real browser for the page tests: Debian's Chromium (``/usr/bin/chromium``, installed by
scripts/setup-tests) driven by Playwright, axe-core (tests/js, from npm) for accessibility, and
screenshots kept under tests/artifacts/ (git-ignored).

Without Chromium, Playwright or axe-core the tests skip, except on CI (``CI`` set), where they
fail: a missing browser must not pass for a green suite."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
AXE = Path(__file__).parent / "js" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = Path(__file__).parent / "artifacts"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def missing(what: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{what} (scripts/setup-tests installs it)")
    pytest.skip(what)


@pytest.fixture(scope="module", name="browser")
def browser_fixture() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("Playwright is not installed")
    if not CHROMIUM.exists():
        missing(f"no Chromium at {CHROMIUM}")
    if not AXE.exists():
        missing("axe-core is not installed in tests/js")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def check_accessibility(page: Any, name: str) -> None:
    """Keep a screenshot of ``page`` and fail on any serious or critical axe-core violation."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    # Evaluated through the DevTools protocol: the pages' Content-Security-Policy (no script)
    # does not apply to it.
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text())
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    bad = [
        (v["id"], v["impact"], [n["html"] for n in v["nodes"]][:3])
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert bad == [], f"{name}: {bad}"
    assert result["passes"], f"{name}: axe-core checked nothing"
