"""What the push tests share: both provider test servers on loopback ports (sending their
notifications over HTTP), the real `calgate serve` with a public URL they reach, a webhook
receiver, and an account under sync whose channel is active."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from tests.conftest import BACKENDS, PG_URL, reset_postgres
from tests.fakes import google_push, google_sync, graph_delta, graph_push
from tests.oauth_env import Fakes, seed_calendar
from tests.receiver import Receiver
from tests.serve import Served, free_port, serve

KEY = "cg_push_key"
HEADERS = {"X-API-KEY": KEY}
ZONE = "Europe/Paris"


def env_of(fakes: Fakes, port: int, database_url: str, **extra: str) -> dict[str, str]:
    g, m = fakes.google.oauth, fakes.graph.oauth
    return {
        "CALGATE_API_KEY": KEY,
        "CALGATE_DATABASE_URL": database_url,
        "CALGATE_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "CALGATE_PUSH_ALLOW_HTTP": "true",
        "CALGATE_PUSH_CHECK_SECONDS": "0.5",
        "CALGATE_ALLOW_LOOPBACK_URLS": "true",
        "CALGATE_SYNC_INTERVAL_SECONDS": "60",  # the default: push, not polling, is tested
        "CALGATE_GOOGLE_API_URL": fakes.google_url,
        "CALGATE_GOOGLE_AUTH_URL": f"{fakes.google_url}/o/oauth2/v2/auth",
        "CALGATE_GOOGLE_TOKEN_URL": f"{fakes.google_url}/token",
        "CALGATE_GOOGLE_CLIENT_ID": g.client_id,
        "CALGATE_GOOGLE_CLIENT_SECRET": g.client_secret,
        "CALGATE_GRAPH_API_URL": fakes.graph_url,
        "CALGATE_MICROSOFT_LOGIN_URL": fakes.graph_url,
        "CALGATE_MICROSOFT_CLIENT_ID": m.client_id,
        "CALGATE_MICROSOFT_CLIENT_SECRET": m.client_secret,
        **extra,
    }


def connect_oauth(base: str, fakes: Fakes, provider: str) -> str:
    """Connect an account of the test server of ``provider`` through ``base``; its id."""
    token = fakes.state(provider).oauth.issue_refresh_token()
    body = {"provider": provider, "refresh_token": token}
    r = httpx.post(f"{base}/api/v1/accounts", headers=HEADERS, json=body, timeout=30)
    assert r.status_code == 201, r.text
    return str(r.json()["account_id"])


def wait_until(check: Callable[[], Any], within: float = 20.0, what: str = "") -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what or check}")


@dataclass
class Pushed:
    """One account of ``provider`` connected to a running `calgate serve`."""

    fakes: Fakes
    provider: str
    receiver: Receiver
    data: Path
    env: dict[str, str]
    port: int
    served: Served | None = None
    account_id: str = ""

    @property
    def base(self) -> str:
        assert self.served is not None
        return self.served.base_url

    @contextmanager
    def running(self) -> Iterator[Pushed]:
        with serve(self.data, self.env, self.port) as served:
            self.served = served
            try:
                yield self
            finally:
                self.served = None

    def connect(self, *, webhook: bool = True) -> None:
        self.account_id = connect_oauth(self.base, self.fakes, self.provider)
        if not webhook:
            return
        hook = {"source": "calendar_event", "request_url": self.receiver.url, "name": "push"}
        r = httpx.post(f"{self.base}/api/v1/webhooks", headers=HEADERS, json=hook, timeout=30)
        assert r.status_code == 201, r.text

    def calendar_state(self) -> dict[str, Any]:
        r = httpx.get(f"{self.base}/api/v1/accounts/{self.account_id}", headers=HEADERS)
        assert r.status_code == 200, r.text
        calendar = seed_calendar(self.fakes, self.provider)
        found = [s for s in r.json()["sync"]["calendars"] if s["calendar_id"] == calendar]
        return dict(found[0]) if found else {}

    def wait_active(self, *, other_than: str = "") -> dict[str, Any]:
        """The calendar synced (baseline done) and its channel active (a new one when
        ``other_than`` names the old)."""

        def ready() -> dict[str, Any] | None:
            state = self.calendar_state()
            push = state.get("push") or {}
            if state.get("status") == "ok" and push.get("status") == "active":
                ids = self.channel_ids()
                if ids and other_than not in ids:
                    return state
            return None

        found: dict[str, Any] = wait_until(ready, what="an active push channel")
        return found

    def channel_ids(self) -> list[str]:
        """The provider's live channels (Google) or subscriptions (Graph), oldest first."""
        if self.provider == "GOOGLE_OAUTH":
            return [w.id for w in google_push.live(self.fakes.google)]
        return [s.id for s in graph_push.live(self.fakes.graph)]

    def outside_create(self, title: str) -> str:
        """The user makes an event in Google Calendar / Outlook; its id."""
        if self.provider == "GOOGLE_OAUTH":
            body = {
                "summary": title,
                "start": {"dateTime": "2026-06-02T10:00:00+02:00", "timeZone": ZONE},
                "end": {"dateTime": "2026-06-02T11:00:00+02:00", "timeZone": ZONE},
            }
            g = self.fakes.google
            return str(google_sync.user_creates(g, g.email, body)["id"])
        body = {
            "subject": title,
            "start": {"dateTime": "2026-06-02T10:00:00.0000000", "timeZone": "UTC"},
            "end": {"dateTime": "2026-06-02T11:00:00.0000000", "timeZone": "UTC"},
        }
        m = self.fakes.graph
        return str(graph_delta.user_creates(m, m.default_calendar, body)["id"])

    def outside_rename(self, event_id: str, title: str) -> None:
        if self.provider == "GOOGLE_OAUTH":
            g = self.fakes.google
            google_sync.user_changes(g, g.email, event_id, {"summary": title})
        else:
            graph_delta.user_changes(self.fakes.graph, event_id, {"subject": title})

    def outside_delete(self, event_id: str) -> None:
        if self.provider == "GOOGLE_OAUTH":
            g = self.fakes.google
            google_sync.user_deletes(g, g.email, event_id)
        else:
            graph_delta.user_deletes(self.fakes.graph, event_id)

    def delivered(self, count: int, within: float = 10.0) -> list[dict[str, Any]]:
        """The deliveries once there are ``count``, after making sure no more arrive."""
        wait_until(lambda: len(self.receiver.accepted()) >= count, within, f"{count} deliveries")
        time.sleep(1.0)
        got = [r.json() for r in self.receiver.accepted()]
        assert len(got) == count, [(d.get("event"), d.get("id")) for d in got]
        return got

    def metric(self, name: str, **labels: str) -> float:
        text = httpx.get(f"{self.base}/metrics").text
        for line in text.splitlines():
            if line.startswith(f"{name}{{") and all(
                f'{k}="{v}"' in line.split("}")[0] for k, v in labels.items()
            ):
                return float(line.rsplit(" ", 1)[1])
        return 0.0


@pytest.fixture(name="push_database", params=BACKENDS)
def push_database_fixture(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The database of the `calgate serve` under test (each backend the suite runs)."""
    if request.param == "postgresql":
        anyio.run(reset_postgres, PG_URL)
        return PG_URL
    return f"sqlite+aiosqlite:///{tmp_path / 'calgate.db'}"


@contextmanager
def pushed(
    provider: str, receiver: Receiver, tmp_path: Path, database_url: str, **extra: str
) -> Iterator[Pushed]:
    """The test servers up (allowing an http push address), calgate's settings ready."""
    fakes = Fakes()
    with fakes.served():
        google_push.watches(fakes.google).allow_http = True
        graph_push.subscriptions(fakes.graph).allow_http = True
        port = free_port()
        env = env_of(fakes, port, database_url, **extra)
        yield Pushed(fakes, provider, receiver, tmp_path / "data", env, port)


@contextmanager
def watched(
    provider: str, receiver: Receiver, tmp_path: Path, database_url: str, **extra: str
) -> Iterator[tuple[Pushed, str]]:
    """`calgate serve` running with an account of ``provider`` connected, its calendar synced
    and watched: ``(pushed, the channel or subscription id)``."""
    with pushed(provider, receiver, tmp_path, database_url, **extra) as p, p.running():
        p.connect()
        p.wait_active()
        [channel_id] = p.channel_ids()
        yield p, channel_id
