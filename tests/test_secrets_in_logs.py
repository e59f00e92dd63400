"""Secrets never appear in logs, errors or responses.

API keys, account passwords and tokens (sealed in the store) and webhook secrets go through
requests that succeed and requests that fail (a CalDAV server that is not there, wrong keys,
bad bodies); every log line (pytest's caplog at debug level and calgate's own JSON output)
and every answer is searched for them.
"""

from __future__ import annotations

import json
import logging
import socket
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from calgate.settings import Settings
from calgate.store import tables as t
from tests.conftest import Api
from tests.logkit import captured_logs, json_lines
from tests.serve import ids_from_banner, serve

PASSWORD = "pw-Zq8!unlikely-to-appear-by-chance"
REFRESH = "1//refresh-token-Xy7unlikely"
ACCESS = "ya29.access-token-unlikely-Qw3"


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path,
        sqlite_synchronous="NORMAL",
        allow_loopback_urls=True,
        provider_retries=0,
    )


@pytest.mark.anyio
async def test_secrets_stay_out_of_logs_errors_and_answers(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    answers: list[httpx.Response] = []
    dav_url = f"http://127.0.0.1:{closed_port()}"
    with captured_logs("json", level="debug") as out:
        dav = await api.runtime.accounts.create(
            api.a.id,
            "CALDAV",
            "Team DAV",
            email="team@example.org",
            params={"url": f"{dav_url}/dav/", "home": f"{dav_url}/dav/team/", "username": "team"},
            secrets={"password": PASSWORD, "refresh_token": REFRESH, "access_token": ACCESS},
        )
        for path in (
            "/api/v1/accounts",
            f"/api/v1/accounts/{dav.id}",
            f"/api/v1/accounts/{dav.id}/capabilities",
        ):
            answers.append(await api.call("GET", path))
        # Calendar calls reach the provider, which cannot connect: errors are answered and logged.
        answers.append(await api.call("GET", "/api/v1/calendars", account_id=dav.id))
        answers.append(
            await api.call(
                "POST",
                "/api/v1/calendars/anything/events",
                account_id=dav.id,
                json={"title": "x", "start": {"date": "2026-01-01"}, "end": {"date": "2026-01-02"}},
            )
        )
        # Connecting an account with a password: refused (nothing listens), password kept out.
        answers.append(
            await api.call(
                "POST",
                "/api/v1/accounts",
                json={
                    "provider": "CALDAV",
                    "url": f"http://127.0.0.1:{closed_port()}/",
                    "username": "someone",
                    "password": PASSWORD,
                },
            )
        )
        # A password in a body that fails validation is not echoed either.
        answers.append(
            await api.call(
                "POST",
                api.events_url(),
                json={"title": "x", "password": PASSWORD, "start": {}, "end": {}},
            )
        )
        # Wrong and right keys.
        answers.append(
            await api.client.get(api.events_url(), headers={"X-API-KEY": api.a.key + "x"})
        )
        answers.append(await api.call("GET", api.events_url()))
        # A webhook's signing secret is shown once, in the answer that creates it, and never again.
        hook = await api.call(
            "POST",
            "/api/v1/webhooks",
            json={"source": "calendar_event", "request_url": "https://hooks.example.org/x"},
        )
        assert hook.status_code == 201, hook.text
        webhook_secret = hook.json()["secret"]
        answers.append(await api.call("GET", f"/api/v1/webhooks/{hook.json()['webhook_id']}"))
        answers.append(await api.call("GET", "/api/v1/webhooks"))
        await api.create(
            {"title": "fires", "start": {"date": "2026-01-01"}, "end": {"date": "2026-01-02"}}
        )

    statuses = [r.status_code for r in answers]
    assert statuses[:3] == [200, 200, 200]
    assert statuses[3:8] == [503, 503, 503, 400, 401], [r.text for r in answers]
    assert statuses[8] == 200
    logged = out.getvalue() + "\n".join(
        f"{r.getMessage()} {r.exc_text or ''} {r.__dict__}" for r in caplog.records
    )
    assert len(json_lines(out)) >= len(answers)
    shown = "\n".join(f"{r.headers}\n{r.text}" for r in answers)
    for secret in (PASSWORD, REFRESH, ACCESS, api.a.key, api.b.key, webhook_secret):
        assert secret not in logged, f"a secret reached the logs: {secret[:6]}…"
        assert secret not in shown, f"a secret reached an answer: {secret[:6]}…"
    # The stored form is sealed too.
    row = await api.runtime.db.read(
        lambda c: c.execute(
            select(t.accounts.c.secrets, t.accounts.c.params).where(t.accounts.c.id == dav.id)
        ).one()
    )
    assert row.secrets and PASSWORD not in row.secrets and REFRESH not in row.secrets
    assert PASSWORD not in row.params


@pytest.mark.system
def test_calgate_serve_json_logs_carry_no_key(tmp_path: Path) -> None:
    """The real process in JSON log mode at debug level: every line is JSON, requests are logged
    with their request id, and the key and a connecting password never appear."""
    key = "cg_serve-json-logs-key-0123456789"
    env = {
        "CALGATE_API_KEY": key,
        "CALGATE_LOG_FORMAT": "json",
        "CALGATE_LOG_LEVEL": "debug",
        "CALGATE_WORKER_ENABLED": "false",
    }
    with serve(tmp_path, env) as served:
        account_id, calendar_id = ids_from_banner(served.text())
        headers = {"X-API-KEY": key, "X-Request-ID": "serve-req-1"}
        r = httpx.post(
            f"{served.base_url}/api/v1/calendars/{calendar_id}/events",
            params={"account_id": account_id},
            headers=headers,
            json={
                "title": "Logged",
                "start": {"date": "2026-01-01"},
                "end": {"date": "2026-01-02"},
            },
        )
        assert r.status_code == 200
        assert r.headers["x-request-id"] == "serve-req-1"
        refused = httpx.post(
            f"{served.base_url}/api/v1/accounts",
            headers={"X-API-KEY": key},
            json={
                "provider": "CALDAV",
                "url": f"http://127.0.0.1:{closed_port()}/",
                "username": "u",
                "password": PASSWORD,
            },
        )
        assert refused.status_code >= 400
        bad = httpx.get(f"{served.base_url}/api/v1/accounts", headers={"X-API-KEY": key + "zz"})
        assert bad.status_code == 401
        text = served.text()
    lines = [line for line in text.splitlines() if line.startswith("{")]
    records: list[dict[str, Any]] = [json.loads(line) for line in lines]
    access = [r for r in records if r["logger"] == "calgate.access"]
    assert any(
        r["request_id"] == "serve-req-1" and r["status"] == 200 and r["method"] == "POST"
        for r in access
    ), access
    assert all(
        r["tenant_id"] for r in access if r["route"].startswith("/api/") and r["status"] != 401
    )
    # Past the start banner (printed for a person), every line is a JSON object.
    after = text.split("calgate listening on", 1)[1].splitlines()[1:]
    assert after and all(line.startswith("{") for line in after if line), after
    assert key not in text.replace("$CALGATE_API_KEY", "")
    assert key + "zz" not in text
    assert PASSWORD not in text
