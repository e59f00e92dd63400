"""`calgate accounts connect`: an operator connects a CalDAV account without SQL or HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.radicale import Radicale, radicale_fixture

pytestmark = pytest.mark.system
__all__ = ["radicale_fixture"]


def run(data: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CALGATE_ALLOW_LOOPBACK_URLS": "true", "CALGATE_API_KEY": "cg_cli"}
    return subprocess.run(
        [sys.executable, "-m", "calgate", "--data-dir", str(data), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_connect_caldav_from_the_command_line(radicale: Radicale, tmp_path: Path) -> None:
    user = radicale.add_user("cli")
    radicale.make_calendar(user, "work", "Work")
    assert run(tmp_path, "tenants", "create", "ops").returncode == 0
    ok = run(
        tmp_path,
        "accounts",
        "connect",
        "CALDAV",
        "--url",
        radicale.url,
        "--username",
        user.name,
        "--name",
        "Team DAV",
        "--secret-stdin",
        stdin=user.password + "\n",
    )
    assert ok.returncode == 0, ok.stderr
    account_id = ok.stdout.split()[-1]
    listed = run(tmp_path, "accounts", "list")
    line = next(row for row in listed.stdout.splitlines() if account_id in row)
    assert "CALDAV" in line and "Team DAV" in line and "OK" in line
    cals = run(tmp_path, "calendars", "list", account_id)
    assert "Work" in cals.stdout
    assert user.password not in listed.stdout + cals.stdout + ok.stdout + ok.stderr


def test_connect_with_a_wrong_password_stores_nothing(radicale: Radicale, tmp_path: Path) -> None:
    user = radicale.add_user("cli")
    assert run(tmp_path, "tenants", "create", "ops").returncode == 0
    bad = run(
        tmp_path,
        "accounts",
        "connect",
        "CALDAV",
        "--url",
        radicale.url,
        "--username",
        user.name,
        "--secret-stdin",
        stdin="not-the-password\n",
    )
    assert bad.returncode == 1
    assert "errors/invalid_credentials" in bad.stderr
    assert "CALDAV" not in run(tmp_path, "accounts", "list").stdout
