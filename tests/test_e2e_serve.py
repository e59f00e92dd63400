"""The real `calgate serve` process, driven over HTTP as a user would."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.serve import ids_from_banner, serve

pytestmark = pytest.mark.system

SEED = json.loads((Path(__file__).parent / "data" / "seed_body.json").read_text())


def test_first_start_seed_request_and_restart(tmp_path: Path) -> None:
    with serve(tmp_path) as served:
        banner = served.text()
        key = re.search(r"API key \(shown once, keep it\): (\S+)", banner)
        assert key, banner
        assert "curl --request POST" in banner
        account_id, calendar_id = ids_from_banner(banner)
        path = f"/api/v1/calendars/{calendar_id}/events"
        url = served.base_url + path
        headers = {"X-API-KEY": key.group(1), "accept": "application/json"}
        r = httpx.post(url, params={"account_id": account_id}, json=SEED, headers=headers)
        assert r.status_code == 200, r.text
        event_id = r.json()["event_id"]
        assert r.json() == {"object": "CalendarEventCreated", "event_id": event_id}
    with serve(tmp_path) as again:
        assert "API key" not in again.text()
        r = httpx.get(
            f"{again.base_url}{path}/{event_id}", params={"account_id": account_id}, headers=headers
        )
        assert r.status_code == 200
        event = r.json()
        assert event["title"] == SEED["title"]
        assert event["attendees"][0]["email"] == SEED["attendees"][0]["email"]
        assert event["start"] == {
            "date_time": "2026-01-20T14:30:00+01:00",
            "time_zone": "Europe/Paris",
        }


def test_api_key_from_environment_and_cli_management(tmp_path: Path) -> None:
    env = {"CALGATE_API_KEY": "cg_test_key_from_env"}
    with serve(tmp_path, env) as served:
        assert "CALGATE_API_KEY" in served.text()
        account_id, _ = ids_from_banner(served.text())
        r = httpx.get(
            f"{served.base_url}/api/v1/calendars",
            params={"account_id": account_id},
            headers={"X-API-KEY": "cg_test_key_from_env"},
        )
        assert r.status_code == 200
    cli = [sys.executable, "-m", "calgate", "--data-dir", str(tmp_path)]
    listed = subprocess.run([*cli, "keys", "list"], capture_output=True, text=True, check=True)
    key_id = listed.stdout.splitlines()[1].split()[0]
    created = subprocess.run(
        [*cli, "keys", "create", "--name", "ci"], capture_output=True, text=True, check=True
    )
    new_key = created.stdout.strip().splitlines()[-1].split()[-1]
    subprocess.run([*cli, "keys", "revoke", key_id], check=True, capture_output=True)
    accounts = subprocess.run(
        [*cli, "accounts", "list"], capture_output=True, text=True, check=True
    )
    assert account_id in accounts.stdout
    made = subprocess.run(
        [*cli, "calendars", "create", account_id, "Side", "--timezone", "Asia/Kolkata"],
        capture_output=True,
        text=True,
        check=True,
    )
    calendar_id = made.stdout.split()[-1]
    with serve(tmp_path, env) as served:
        old = httpx.get(
            f"{served.base_url}/api/v1/calendars",
            params={"account_id": account_id},
            headers={"X-API-KEY": "cg_test_key_from_env"},
        )
        assert old.status_code == 401
        r = httpx.get(
            f"{served.base_url}/api/v1/calendars/{calendar_id}",
            params={"account_id": account_id},
            headers={"X-API-KEY": new_key},
        )
        assert r.status_code == 200
        assert r.json()["timezone"] == "Asia/Kolkata"
