"""The CLI finds its server's data wherever it is run from (one rule for `serve` and every other
command), never creates an empty database silently, and takes its options where users type them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import click
import httpx
import pytest
from click.testing import CliRunner, Result

from calgate.cli.main import main
from tests.serve import free_port


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A per-user data folder of its own (XDG_DATA_HOME), and no CALGATE_DATA_DIR."""
    return tmp_path / "xdg"


def cli(home: Path, cwd: Path, *args: str, data_dir: Path | None = None, stdin: str = "") -> Result:
    env = {"XDG_DATA_HOME": str(home), "CALGATE_DATA_DIR": str(data_dir) if data_dir else None}
    cwd.mkdir(parents=True, exist_ok=True)
    before = Path.cwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(main, list(args), env=env, input=stdin)
    finally:
        os.chdir(before)


def test_a_command_run_elsewhere_finds_the_same_database(home: Path, tmp_path: Path) -> None:
    created = cli(home, tmp_path / "a", "tenants", "create", "Acme")
    assert created.exit_code == 0, created.output
    assert f"creating a new database at {home / 'calgate' / 'calgate.db'}" in created.output
    listed = cli(home, tmp_path / "b" / "elsewhere", "tenants", "list")
    assert listed.exit_code == 0, listed.output
    assert "Acme" in listed.output
    assert not (tmp_path / "b" / "elsewhere" / "calgate-data").exists()


def test_no_database_is_refused_with_where_it_looked(home: Path, tmp_path: Path) -> None:
    result = cli(home, tmp_path / "work", "keys", "list")
    assert result.exit_code == 1
    db = home / "calgate" / "calgate.db"
    assert f"no calgate database at {db}" in result.output
    assert "per-user default" in result.output and "--data-dir" in result.output
    assert not db.exists()
    assert list((tmp_path / "work").iterdir()) == []


def test_a_legacy_data_folder_in_the_working_directory_is_pointed_at(
    home: Path, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    assert cli(home, work, "migrate", "--data-dir", "calgate-data").exit_code == 0
    result = cli(home, work, "accounts", "list")
    assert result.exit_code == 1
    assert "there is one in ./calgate-data: --data-dir calgate-data" in result.output


def test_info_prints_the_data_directory_and_why(home: Path, tmp_path: Path) -> None:
    default = cli(home, tmp_path, "info")
    assert default.exit_code == 0, default.output
    assert f"data directory: {home / 'calgate'} (the per-user default" in default.output
    assert "not created yet" in default.output
    from_env = cli(home, tmp_path, "info", data_dir=tmp_path / "env")
    assert f"data directory: {tmp_path / 'env'} (given by CALGATE_DATA_DIR)" in from_env.output
    flag = cli(home, tmp_path, "info", "--data-dir", str(tmp_path / "flag"), data_dir=tmp_path)
    assert f"data directory: {tmp_path / 'flag'} (given by --data-dir)" in flag.output


def test_settings_options_are_taken_before_or_after_the_command(home: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert cli(home, tmp_path, "migrate", "--data-dir", str(data)).exit_code == 0
    assert (data / "calgate.db").exists()
    for args in (
        ["--data-dir", str(data), "keys", "list"],
        ["keys", "list", "--data-dir", str(data)],
        ["calendars", "list", "nope", "--data-dir", str(data)],
    ):
        result = cli(home, tmp_path, *args)
        assert "no calgate database" not in result.output, args
    assert not (home / "calgate").exists()


def test_one_tenant_is_the_default_and_several_are_named(home: Path, tmp_path: Path) -> None:
    assert cli(home, tmp_path, "tenants", "create", "Acme").exit_code == 0
    alone = cli(home, tmp_path, "keys", "create", "--name", "ci")
    assert alone.exit_code == 0, alone.output
    assert "API key (shown once)" in alone.output
    assert cli(home, tmp_path, "tenants", "create", "Beta").exit_code == 0
    ambiguous = cli(home, tmp_path, "accounts", "create-local", "Team")
    assert ambiguous.exit_code == 1
    assert "there are 2 tenants: give --tenant" in ambiguous.output
    assert "(Acme)" in ambiguous.output and "(Beta)" in ambiguous.output
    by_name = cli(home, tmp_path, "accounts", "create-local", "Team", "--tenant", "Beta")
    assert by_name.exit_code == 0, by_name.output
    listed = cli(home, tmp_path, "accounts", "list")
    assert "Team" in listed.output


def test_connect_asks_for_the_tenant_before_the_password(home: Path, tmp_path: Path) -> None:
    for name in ("Acme", "Beta"):
        assert cli(home, tmp_path, "tenants", "create", name).exit_code == 0
    result = cli(
        home, tmp_path, "accounts", "connect", "CALDAV", "--url", "https://dav.example.org/",
        "--username", "ada", stdin="secret\n",
    )  # fmt: skip
    assert result.exit_code == 1
    assert "give --tenant" in result.output
    assert "password" not in result.output.lower()


def _help_texts(group: click.Group, path: str = "calgate") -> list[tuple[str, str]]:
    found = []
    for name, command in group.commands.items():
        found.append((f"{path} {name}", (command.help or command.short_help or "").strip()))
        if isinstance(command, click.Group):
            found += _help_texts(command, f"{path} {name}")
    return found


def test_every_command_has_help() -> None:
    texts = _help_texts(main)
    assert len(texts) > 20
    assert [name for name, text in texts if not text] == []
    for name, _ in texts:
        shown = CliRunner().invoke(main, [*name.split()[1:], "--help"])
        assert shown.exit_code == 0, name
        assert "--data-dir" in shown.output or name.count(" ") == 1, name


def test_serve_takes_data_dir_after_the_command(tmp_path: Path) -> None:
    data, port = tmp_path / "served", free_port()
    env = {k: v for k, v in os.environ.items() if k != "CALGATE_DATA_DIR"}
    env["XDG_DATA_HOME"] = str(tmp_path / "xdg")
    proc = subprocess.Popen(
        [sys.executable, "-m", "calgate", "serve", "--data-dir", str(data), "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        assert proc.poll() is None, proc.communicate()[0]
        assert (data / "calgate.db").exists()
        assert not (tmp_path / "xdg").exists()
    finally:
        proc.terminate()
        output = proc.communicate(timeout=20)[0]
    assert f"calgate data: {data} (given by --data-dir)" in output
    # The first start prints the variables the README's examples use, ready to paste.
    exported = re.search(r"export KEY='(cg_\S+)' ACC='([0-9a-f]+)' CAL='([0-9a-f]+)'", output)
    assert exported, output
    assert f"X-API-KEY: {exported[1]}" in output
    assert f"/calendars/{exported[3]}/events?account_id={exported[2]}" in output


def test_a_bad_setting_is_named_not_a_traceback(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A setting out of its range, from the environment or from a config file, stops every
    command with a line naming it, what was given and what it takes."""
    monkeypatch.setenv("CALGATE_RECURRENCE_PRIORITY", "bogus")
    # --config names the file in CALGATE_CONFIG for the rest of the process: put it back after
    monkeypatch.setenv("CALGATE_CONFIG", os.environ.get("CALGATE_CONFIG", ""))
    result = cli(home, tmp_path, "tenants", "list")
    monkeypatch.delenv("CALGATE_RECURRENCE_PRIORITY")
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)  # not the settings' ValidationError
    assert "CALGATE_RECURRENCE_PRIORITY" in result.output
    assert "'bogus'" in result.output and "'idle' or 'nice'" in result.output
    config = tmp_path / "calgate.toml"
    config.write_text("recurrence_processes = -1\nrecurrence_threads = 0\n")
    result = cli(home, tmp_path, "--config", str(config), "tenants", "list")
    assert result.exit_code == 1, result.output
    assert "CALGATE_RECURRENCE_PROCESSES" in result.output
    assert "CALGATE_RECURRENCE_THREADS" in result.output
    assert "greater than or equal to 0" in result.output
