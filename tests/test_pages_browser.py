"""The pages in a real browser (tests/browser.py): a CalDAV account connected on Radicale
through the hosted form and another one reconnected through its reconnect form, the Google path
through the test server's consent screen and back, and the console showing a failing webhook
and retrying it; axe-core on every page.

calgate runs as `calgate serve` (tests/serve.py), the Google test server and Radicale on
loopback ports, as a deployment would."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from calgate.settings import Settings
from calgate.webhooks.signing import DELIVERY_HEADER
from tests.browser import browser_fixture, check_accessibility  # noqa: F401 - fixture
from tests.fakes.common import serve as serve_app
from tests.oauth_env import Fakes
from tests.radicale import Radicale, radicale_fixture  # noqa: F401 - fixture
from tests.receiver import Receiver, running_receiver
from tests.serve import free_port, ids_from_banner, serve
from tests.test_sync_account_status import set_password

API_KEY = "cg_browser_test_key_0123456789"
LANDING = "<!doctype html><html lang='en'><title>Back in the app</title><main><h1>Back</h1></main>"


async def landing(request: Request) -> HTMLResponse:
    return HTMLResponse(LANDING)


@dataclass
class Stack:
    url: str  # calgate
    app_url: str  # the client application's pages (success and failure redirects)
    fakes: Fakes
    receiver: Receiver
    account_id: str
    calendar_id: str
    operator_key: str

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"X-API-KEY": API_KEY}
        return httpx.request(method, self.url + path, headers=headers, timeout=30, **kwargs)

    def link(self, **body: Any) -> str:
        r = self.api("POST", "/api/v1/hosted/accounts/link", json=body)
        assert r.status_code == 200, r.text
        url: str = r.json()["url"]
        return url


def env_of(settings: dict[str, Any]) -> dict[str, str]:
    out = {}
    for key, value in settings.items():
        secret = getattr(value, "get_secret_value", None)
        out[f"CALGATE_{key.upper()}"] = str(secret() if secret else value)
    return out


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    data = tmp_path_factory.mktemp("calgate")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    fakes = Fakes()
    with ExitStack() as stack:
        stack.enter_context(fakes.served())
        receiver = stack.enter_context(running_receiver())
        app_url = stack.enter_context(serve_app(Starlette(routes=[Route("/{p:path}", landing)])))
        pointed = fakes.settings(Settings(data_dir=Path(data)))
        wanted = (
            "google_api_url",
            "google_auth_url",
            "google_token_url",
            "google_client_id",
            "google_client_secret",
        )
        env = env_of({k: getattr(pointed, k) for k in wanted})
        env |= {
            "CALGATE_API_KEY": API_KEY,
            "CALGATE_PUBLIC_URL": url,
            "CALGATE_ALLOW_LOOPBACK_URLS": "true",
            "CALGATE_SYNC_ENABLED": "false",
            "CALGATE_WEBHOOK_MAX_RETRIES": "0",
            "CALGATE_WORKER_POLL_SECONDS": "0.2",
        }
        served = stack.enter_context(serve(data, env, port))
        account_id, calendar_id = ids_from_banner(served.text())
        made = subprocess.run(
            [sys.executable, "-m", "calgate", "admin-keys", "create", "--name", "tests"],
            env={**env, "CALGATE_DATA_DIR": str(data), "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            check=True,
        )
        operator_key = made.stdout.split("console key (shown once): ")[1].strip()
        yield Stack(url, app_url, fakes, receiver, account_id, calendar_id, operator_key)


def accounts_of(stack: Stack, kind: str) -> list[dict[str, Any]]:
    items = stack.api("GET", "/api/v1/accounts").json()["items"]
    return [a for a in items if a["type"] == kind]


def test_caldav_account_connected_through_the_hosted_form(
    browser: Any, stack: Stack, radicale: Radicale
) -> None:
    user = radicale.add_user()
    radicale.make_calendar(user, "work", "Work")
    link = stack.link(
        providers="*",
        name="Ada (CalDAV)",
        success_redirect_url=f"{stack.app_url}/connected",
        failure_redirect_url=f"{stack.app_url}/failed",
    )
    page = browser.new_page()
    page.goto(link)
    assert page.title().startswith("Connect your calendar")
    check_accessibility(page, "hosted-choose")
    # Keyboard only: the kind is a link reached and followed with the keyboard.
    page.get_by_role("link", name="Another CalDAV server").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/form/CALDAV")
    check_accessibility(page, "hosted-caldav-form")
    page.get_by_label("Server address (CalDAV URL)").fill(radicale.url + "/")
    page.get_by_label("Username").fill(user.name)
    page.get_by_label("App-specific password").fill("wrong-" + user.password)
    page.keyboard.press("Enter")
    page.wait_for_selector("[role=alert]")
    assert "wrong-" + user.password not in page.content()
    assert page.get_by_label("App-specific password").input_value() == ""
    assert page.get_by_label("Username").input_value() == user.name
    check_accessibility(page, "hosted-caldav-refused")
    assert accounts_of(stack, "CALDAV") == []
    page.get_by_label("App-specific password").fill(user.password)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{stack.app_url}/connected?*")
    account_id = parse_qs(urlsplit(page.url).query)["account_id"][0]
    [account] = accounts_of(stack, "CALDAV")
    assert (account["id"], account["name"]) == (account_id, "Ada (CalDAV)")
    r = stack.api("GET", "/api/v1/calendars", params={"account_id": account_id})
    assert [c["name"] for c in r.json()["data"]] == ["Work"]
    page.close()


def test_caldav_account_reconnected_through_its_form(
    browser: Any, stack: Stack, radicale: Radicale
) -> None:
    user = radicale.add_user()
    radicale.make_calendar(user, "work", "Work")
    body = {"provider": "CALDAV", "url": radicale.url + "/", "username": user.name}
    r = stack.api("POST", "/api/v1/accounts", json=body | {"password": user.password})
    assert r.status_code == 201, r.text
    account_id = r.json()["account_id"]
    user.password = "changed-" + user.password
    set_password(radicale, user.name, user.password)
    link = stack.link(
        type="reconnect", reconnect_account=account_id, success_redirect_url=f"{stack.app_url}/ok"
    )
    page = browser.new_page()
    page.goto(link)
    assert page.title().startswith("Another CalDAV server")
    assert "Reconnect your calendar" in page.title()
    check_accessibility(page, "hosted-caldav-reconnect")
    assert page.get_by_label("Server address (CalDAV URL)").input_value() == radicale.url + "/"
    assert page.get_by_label("Username").input_value() == user.name
    assert page.get_by_label("App-specific password").input_value() == ""
    page.get_by_label("App-specific password").fill(user.password)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{stack.app_url}/ok?*")
    assert parse_qs(urlsplit(page.url).query)["account_id"] == [account_id]
    r = stack.api("GET", "/api/v1/calendars", params={"account_id": account_id})
    assert [c["name"] for c in r.json()["data"]] == ["Work"]
    page.close()


def test_google_goes_to_the_consent_screen_and_back(browser: Any, stack: Stack) -> None:
    link = stack.link(providers=["GOOGLE", "ICLOUD"], success_redirect_url=f"{stack.app_url}/ok")
    page = browser.new_page()
    seen: list[str] = []
    page.on("request", lambda request: seen.append(request.url))
    page.goto(link)
    check_accessibility(page, "hosted-choose-google")
    page.get_by_role("link", name="Google Calendar").click()
    page.wait_for_url(f"{stack.app_url}/ok?*")
    consent = stack.fakes.google_url + "/o/oauth2/v2/auth?"
    assert [u for u in seen if u.startswith(consent)], seen
    assert [u for u in seen if u.startswith(stack.url + "/api/v1/hosted/accounts/callback?")]
    account_id = parse_qs(urlsplit(page.url).query)["account_id"][0]
    assert [a["id"] for a in accounts_of(stack, "GOOGLE_OAUTH")] == [account_id]
    page.close()


def test_console_shows_a_failing_webhook_and_retries_it(browser: Any, stack: Stack) -> None:
    stack.receiver.default = 500
    r = stack.api(
        "POST",
        "/api/v1/webhooks",
        json={"source": "calendar_event", "request_url": stack.receiver.url, "name": "crm"},
    )
    assert r.status_code == 201, r.text
    webhook_id = r.json()["webhook_id"]
    event = {
        "title": "Webhook check",
        "start": {"date_time": "2026-03-02T10:00:00Z"},
        "end": {"date_time": "2026-03-02T11:00:00Z"},
    }
    r = stack.api(
        "POST",
        f"/api/v1/calendars/{stack.calendar_id}/events",
        params={"account_id": stack.account_id},
        json=event,
    )
    assert r.status_code == 200, r.text
    deliveries = f"/api/v1/webhooks/{webhook_id}/deliveries"
    wait_for(
        lambda: [d["status"] for d in stack.api("GET", deliveries).json()["items"]] == ["failed"]
    )

    page = browser.new_page()
    page.goto(stack.url + "/console")
    assert page.url == stack.url + "/console/login"
    check_accessibility(page, "console-login")
    page.get_by_label("Operator key").fill(stack.operator_key)
    page.keyboard.press("Enter")
    page.wait_for_url(stack.url + "/console")
    check_accessibility(page, "console-overview")
    tenant_link = page.locator("a[href^='/console/tenants/']").first
    tenant_link.click()
    page.wait_for_url("**/console/tenants/*")
    row = page.locator("tr", has_text="calendar_event_created")
    assert "failed" in row.inner_text()
    assert "HTTP 500" in row.inner_text()
    check_accessibility(page, "console-tenant-failing-webhook")
    stack.receiver.default = 200
    row.get_by_role("button", name="Retry").click()
    page.wait_for_selector("[role=status]")

    def delivered() -> bool:
        page.reload()
        return "delivered" in page.locator("tr", has_text="calendar_event_created").inner_text()

    wait_for(delivered)
    check_accessibility(page, "console-tenant-retried")
    statuses = [q.status for q in stack.receiver.requests]
    assert statuses == [500, 200]
    # The same delivery, sent again.
    ids = {httpx.Headers(q.headers)[DELIVERY_HEADER] for q in stack.receiver.requests}
    assert len(ids) == 1
    page.close()


def test_the_accessibility_check_can_fail(browser: Any) -> None:
    page = browser.new_page()
    page.set_content("<!doctype html><html><body><input type=text></body></html>")
    with pytest.raises(AssertionError, match="label"):
        check_accessibility(page, "axe-self-check")
    page.close()


def wait_for(condition: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)
