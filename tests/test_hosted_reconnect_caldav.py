"""Hosted auth's ``type: "reconnect"`` for the password kinds (CALDAV, ICLOUD), with `calgate
serve` and Radicale as a deployment runs them: the link opens calgate's page on that account's
form (server and username filled in, never a password); the new password, checked with the
server, must reach the same account (another username: 403 ``account_mismatch``). The account
keeps its id, calendars and webhooks, its status goes back to OK (an ``account_status``
webhook), ``notify_url`` hears ``RECONNECTED`` and sync resumes. A wrong password shows the
form again and changes nothing; another tenant's account is not found."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.pagekit import Page, parse
from tests.pushkit import push_database_fixture
from tests.radicale import Radicale, User, radicale_fixture
from tests.receiver import Receiver, running_receiver
from tests.serve import free_port, serve
from tests.synckit import receiver_fixture
from tests.test_sync_account_status import set_password
from tests.test_sync_caldav import Dav, ics

pytestmark = pytest.mark.system
__all__ = ["push_database_fixture", "radicale_fixture", "receiver_fixture"]
KEY = "cg_reconnect_key_0123456789"
KINDS = ["CALDAV", "ICLOUD"]


@dataclass
class Stack:
    base: str
    env: dict[str, str]
    radicale: Radicale
    receiver: Receiver
    browser: httpx.Client  # the end user's: keeps the page's CSRF cookie

    def api(self, method: str, path: str, key: str = KEY, **kwargs: Any) -> httpx.Response:
        headers = {"X-API-KEY": key}
        return httpx.request(method, self.base + path, headers=headers, timeout=30, **kwargs)

    def status(self, account_id: str) -> str:
        r = self.api("GET", f"/api/v1/accounts/{account_id}")
        assert r.status_code == 200, r.text
        status: str = r.json()["sources"][0]["status"]
        return status

    def calendars(self, account_id: str) -> list[str]:
        r = self.api("GET", "/api/v1/calendars", params={"account_id": account_id})
        assert r.status_code == 200, r.text
        return [c["id"] for c in r.json()["data"]]

    def accounts(self, kind: str) -> list[str]:
        items = self.api("GET", "/api/v1/accounts").json()["items"]
        return [a["id"] for a in items if a["type"] == kind]

    def link(self, account_id: str, **body: Any) -> str:
        body = {"type": "reconnect", "reconnect_account": account_id, **body}
        r = self.api("POST", "/api/v1/hosted/accounts/link", json=body)
        assert r.status_code == 200, r.text
        url: str = r.json()["url"]
        assert url.startswith(f"{self.base}/hosted/accounts/"), url
        return url

    def form(self, url: str) -> Page:
        r = self.browser.get(url)
        assert r.status_code == 200, r.text
        return parse(r)

    def submit(self, page: Page, **fields: str) -> httpx.Response:
        [action] = page.forms
        return self.browser.post(self.base + action, data={"csrf": page.inputs["csrf"], **fields})


@pytest.fixture
def stack(
    radicale: Radicale, receiver: Receiver, tmp_path: Path, push_database: str
) -> Iterator[Stack]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        "CALGATE_API_KEY": KEY,
        "CALGATE_DATABASE_URL": push_database,
        "CALGATE_PUBLIC_URL": base,
        "CALGATE_ICLOUD_URL": radicale.url + "/",
        "CALGATE_ALLOW_LOOPBACK_URLS": "true",
        "CALGATE_WORKER_POLL_SECONDS": "0.1",
        "CALGATE_SYNC_INTERVAL_SECONDS": "0.5",
        "CALGATE_CACHE_SECONDS": "0",
    }
    with serve(tmp_path / "data", env, port), httpx.Client(timeout=30) as browser:
        env["CALGATE_DATA_DIR"] = str(tmp_path / "data")
        yield Stack(base, env, radicale, receiver, browser)


def wait_for(what: Callable[[], bool], within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while not what():
        assert time.monotonic() < deadline, "never happened"
        time.sleep(0.05)


def hooks_of(receiver: Receiver, key: str) -> list[dict[str, Any]]:
    return [r.json() for r in receiver.accepted() if key in r.json()]


def connected(stack: Stack, kind: str) -> tuple[str, Dav]:
    """A ``kind`` account on Radicale, with webhooks for its status and its events, synced."""
    user = stack.radicale.add_user("re")
    dav = Dav(stack.radicale, user, stack.radicale.make_calendar(user, "work", "Work"))
    body = {"provider": kind, "username": user.name, "password": user.password}
    if kind == "CALDAV":
        body["url"] = stack.radicale.url + "/"
    r = stack.api("POST", "/api/v1/accounts", json=body)
    assert r.status_code == 201, r.text
    account_id: str = r.json()["account_id"]
    for source in ("account_status", "calendar_event"):
        hook = {"source": source, "request_url": stack.receiver.url, "name": source}
        r = stack.api("POST", "/api/v1/webhooks", json=hook)
        assert r.status_code == 201, r.text

    def synced() -> bool:
        states = stack.api("GET", f"/api/v1/accounts/{account_id}").json()["sync"]["calendars"]
        return bool(states) and all(s["status"] == "ok" for s in states)

    wait_for(synced)
    return account_id, dav


def refused(stack: Stack, account_id: str, user: User) -> None:
    """The password changes at the server: sync meets 401, the account goes to CREDENTIALS."""
    user.password = f"pw-new-{os.urandom(4).hex()}"
    set_password(stack.radicale, user.name, user.password)
    wait_for(lambda: stack.status(account_id) == "CREDENTIALS")
    wait_for(lambda: len(hooks_of(stack.receiver, "AccountStatus")) == 1)


@pytest.mark.parametrize("kind", KINDS)
def test_reconnect_keeps_the_account_its_calendars_and_webhooks(stack: Stack, kind: str) -> None:
    account_id, dav = connected(stack, kind)
    calendars = stack.calendars(account_id)
    webhooks = stack.api("GET", "/api/v1/webhooks").json()
    refused(stack, account_id, dav.user)

    with running_receiver() as notified:
        url = stack.link(account_id, providers="*", name="crm-user-7", notify_url=notified.url)
        page = stack.form(url)
        assert page.inputs["username"] == dav.user.name
        assert page.inputs["password"] == ""
        assert ("url" in page.inputs) == (kind == "CALDAV")
        if kind == "CALDAV":
            assert page.inputs["url"] == stack.radicale.url + "/"

        # A wrong password: the form again, saying so, and nothing changed.
        wrong = "wrong-" + dav.user.password
        r = stack.submit(page, **{**page.inputs, "password": wrong})
        assert r.status_code == 401, r.text
        assert 'role="alert"' in r.text and wrong not in r.text
        page = parse(r)
        assert (page.inputs["username"], page.inputs["password"]) == (dav.user.name, "")
        assert stack.status(account_id) == "CREDENTIALS"

        r = stack.submit(page, **{**page.inputs, "password": dav.user.password})
        assert r.status_code == 201, r.text
        assert "reconnected" in r.text and dav.user.password not in r.text
        assert [q.json() for q in notified.requests] == [
            {"status": "RECONNECTED", "account_id": account_id, "name": "crm-user-7"}
        ]

    assert stack.status(account_id) == "OK"
    assert stack.accounts(kind) == [account_id]
    assert stack.calendars(account_id) == calendars
    assert stack.api("GET", "/api/v1/webhooks").json() == webhooks
    wait_for(lambda: len(hooks_of(stack.receiver, "AccountStatus")) == 2)
    said = [h["AccountStatus"]["message"] for h in hooks_of(stack.receiver, "AccountStatus")]
    assert said == ["CREDENTIALS", "OK"]

    # Sync resumes: an event made on the server afterwards reaches the webhook.
    dav.put("after", ics("after@other", "After the reconnect"))

    def arrived() -> bool:
        events = [(h["event"], h.get("id")) for h in hooks_of(stack.receiver, "event")]
        return ("calendar_event_created", "after") in events

    wait_for(arrived)


def test_another_username_or_server_is_an_account_mismatch(stack: Stack) -> None:
    account_id, dav = connected(stack, "CALDAV")
    refused(stack, account_id, dav.user)
    other = stack.radicale.add_user("mallory")
    stack.radicale.make_calendar(other, "work", "Work")
    page = stack.form(stack.link(account_id))
    fields = {"url": stack.radicale.url + "/", "username": other.name}
    r = stack.submit(page, **fields, password=other.password)
    assert r.status_code == 403, r.text
    assert "Account mismatch" in r.text and dav.user.name in r.text
    assert other.password not in r.text
    # The account's username on another server: refused before the password goes there.
    elsewhere = stack.radicale.url.replace("127.0.0.1", "localhost") + "/"
    fields = {"url": elsewhere, "username": dav.user.name}
    r = stack.submit(parse(r), **fields, password=dav.user.password)
    assert r.status_code == 403, r.text
    assert "Account mismatch" in r.text and "localhost" in r.text
    assert stack.status(account_id) == "CREDENTIALS"
    assert stack.accounts("CALDAV") == [account_id]


def test_another_tenants_account_is_not_found(stack: Stack) -> None:
    account_id, _ = connected(stack, "CALDAV")
    made = subprocess.run(
        [sys.executable, "-m", "calgate", "tenants", "create", "other"],
        env={**os.environ, **stack.env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert made.returncode == 0, made.stderr
    other_key = made.stdout.split("API key (shown once): ")[1].strip()
    body = {"type": "reconnect", "reconnect_account": account_id}
    r = stack.api("POST", "/api/v1/hosted/accounts/link", key=other_key, json=body)
    assert r.status_code == 404, r.text
    assert account_id in r.json()["detail"]
