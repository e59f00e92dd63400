"""The data directory and the SQLite files are private to calgate's user (issue 13, item 18):
under umask 022 the directory is 0700 and calgate.db, -wal and -shm are 0600, like secret.key,
and files an older calgate left readable are tightened at start."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from calgate.runtime import Runtime
from calgate.settings import Settings
from calgate.store import keys

pytestmark = pytest.mark.anyio


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def modes(folder: Path) -> dict[str, int]:
    return {p.name: mode(p) for p in folder.iterdir()}


def loosen(folder: Path) -> None:
    for path in folder.iterdir():
        if path.name.startswith("calgate.db"):
            path.chmod(0o644)


async def start(data_dir: Path) -> None:
    runtime = Runtime.build(Settings(data_dir=data_dir))
    await runtime.start()
    try:
        await runtime.db.write(lambda c: keys.create_tenant(c, "t"))  # the WAL holds a write
        assert modes(data_dir) == {
            "calgate.db": 0o600,
            "calgate.db-wal": 0o600,
            "calgate.db-shm": 0o600,
            "secret.key": 0o600,
        }
    finally:
        await runtime.aclose()


async def test_new_data_dir_and_database_are_private(tmp_path: Path, umask_022: None) -> None:
    data_dir = tmp_path / "data"
    await start(data_dir)
    assert mode(data_dir) == 0o700


async def test_files_left_readable_are_tightened(tmp_path: Path, umask_022: None) -> None:
    data_dir = tmp_path / "data"
    await start(data_dir)
    loosen(data_dir)
    assert modes(data_dir)["calgate.db"] == 0o644
    await start(data_dir)


async def test_postgres_deployment_key_dir_is_private(tmp_path: Path, umask_022: None) -> None:
    from calgate.secrets import SecretBox

    data_dir = tmp_path / "keys"
    SecretBox.from_settings(None, data_dir)
    assert mode(data_dir) == 0o700
    assert mode(data_dir / "secret.key") == 0o600


async def test_an_open_existing_folder_is_reported(
    tmp_path: Path, umask_022: None, caplog: pytest.LogCaptureFixture
) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o755)
    with caplog.at_level("WARNING", logger="calgate.store"):
        await start(data_dir)
    assert mode(data_dir) == 0o755  # left as the operator made it, but reported
    assert f"the database folder {data_dir} is open to other users (mode 755)" in caplog.text
