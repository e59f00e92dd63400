"""Issue 13, item 8, for calendar creates on Google and Outlook, whose calendar ids the provider
chooses (no client id, no transaction id): `calgate serve` is SIGKILLed after the provider made
the calendar and before calgate answered; the create retried with its Idempotency-Key answers
that calendar instead of making a second one. A calendar of the same name that was there
before the first attempt is not taken for it.

The test servers run on loopback ports; Google's create is held at its second call (the
colour, ``calendarList.patch``, never made: the retry sets it), Graph's at its answer
(``answer_delay``)."""

from __future__ import annotations

import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import anyio.to_thread
import httpx
import pytest

from tests.conftest import PG_URL, reset_postgres
from tests.oauth_env import Fakes
from tests.pushkit import HEADERS, connect_oauth, env_of, wait_until
from tests.serve import free_port, serve

pytestmark = pytest.mark.system

PROVIDERS = ["GOOGLE_OAUTH", "OUTLOOK"]
NAME = "Team"
RETRY_WITHIN = 30.0
COLOR = "#0B8043"


def named(fakes: Fakes, provider: str) -> list[str]:
    """The ids of the test server's calendars called NAME."""
    state = fakes.state(provider)
    field = "summary" if provider == "GOOGLE_OAUTH" else "name"
    return [c["id"] for c in list(state.calendars.values()) if c.get(field) == NAME]


def hold(fakes: Fakes, provider: str) -> None:
    """The next calendar create is made at the provider, and calgate waits for its end."""
    if provider == "GOOGLE_OAUTH":  # inserted; its colour, set next, never is (a 503 after)
        fakes.google.faults.add(
            "/calendar/v3/users/me/calendarList/", method="PATCH", status=503, delay=60
        )
    else:
        fakes.graph.faults.add("/v1.0/me/calendars", method="POST", answer_delay=60)


def body(provider: str, account: str) -> dict[str, Any]:
    found: dict[str, Any] = {"account_id": account, "name": NAME}
    if provider == "GOOGLE_OAUTH":
        found["background_color"] = COLOR
    return found


def create(base: str, provider: str, account: str, key: str | None) -> httpx.Response:
    headers = HEADERS if key is None else {**HEADERS, "Idempotency-Key": key}
    return httpx.post(
        f"{base}/api/v1/calendars", json=body(provider, account), headers=headers, timeout=90
    )


def crash_and_retry(tmp_path: Path, provider: str, database_url: str) -> None:
    with Fakes().served() as fakes:
        port = free_port()
        env = env_of(fakes, port, database_url, CALGATE_IDEMPOTENCY_LEASE_SECONDS="1")
        with serve(tmp_path, env, port) as served:
            account = connect_oauth(served.base_url, fakes, provider)
            before = create(served.base_url, provider, account, None)
            assert before.status_code == 201, before.text
            hold(fakes, provider)
            with ThreadPoolExecutor(1) as pool:
                first = pool.submit(create, served.base_url, provider, account, "k-crash")
                wait_until(lambda: len(named(fakes, provider)) == 2, what="the provider's create")
                os.kill(served.process.pid, signal.SIGKILL)
                served.process.wait(timeout=10)
                with pytest.raises(httpx.TransportError):
                    first.result(timeout=30)
            fakes.state(provider).faults.release()
        with serve(tmp_path, env, port) as again:
            started = time.monotonic()
            while True:  # until the dead attempt's lease lapses
                r = create(again.base_url, provider, account, "k-crash")
                if r.status_code != 409 or time.monotonic() - started > RETRY_WITHIN:
                    break
                time.sleep(float(r.headers.get("retry-after", "1")))
        assert r.status_code == 201, r.text
        made = named(fakes, provider)
        assert len(made) == 2, f"{len(made) - 2} calendar(s) too many after the retry"
        answered = r.json()["calendar_id"]
        assert answered in made
        assert answered != before.json()["calendar_id"]
        if provider == "GOOGLE_OAUTH":  # what the dead attempt had not done yet is done
            colors = fakes.google.calendars[answered].get("_colors", {})
            assert colors.get("backgroundColor", "").upper() == COLOR


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_calendar_create_retried_after_a_crash_finds_it_sqlite(
    tmp_path: Path, provider: str
) -> None:
    crash_and_retry(tmp_path, provider, f"sqlite+aiosqlite:///{tmp_path / 'calgate.db'}")


@pytest.mark.anyio
@pytest.mark.skipif(not PG_URL, reason="CALGATE_TEST_DATABASE_URL not set")
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_calendar_create_retried_after_a_crash_finds_it_postgresql(
    tmp_path: Path, provider: str
) -> None:
    await reset_postgres(PG_URL)
    await anyio.to_thread.run_sync(lambda: crash_and_retry(tmp_path, provider, PG_URL))
