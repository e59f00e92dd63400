"""Crash safety: SIGKILL `calgate serve` mid-load; every acknowledged create survives whole."""

from __future__ import annotations

from pathlib import Path

import anyio.to_thread
import pytest

from tests.conftest import PG_URL, reset_postgres
from tests.crashkit import CrashReport, crash_and_check

pytestmark = pytest.mark.system


def assert_no_loss(report: CrashReport) -> None:
    assert len(report.acknowledged) > 50, "the load produced too few creates to mean anything"
    assert report.missing == []
    assert report.found == len(report.acknowledged)
    assert report.complete == report.found
    assert report.broken == []
    # Creates in flight at the kill may have landed without their answer: never fewer.
    assert report.total_after >= len(report.acknowledged)


def test_sigkill_mid_load_sqlite(tmp_path: Path) -> None:
    assert_no_loss(crash_and_check(tmp_path, kill_after=2.0))


@pytest.mark.anyio
@pytest.mark.skipif(not PG_URL, reason="CALGATE_TEST_DATABASE_URL not set")
async def test_sigkill_mid_load_postgresql(tmp_path: Path) -> None:
    await reset_postgres(PG_URL)
    env = {"CALGATE_DATABASE_URL": PG_URL}
    report = await anyio.to_thread.run_sync(lambda: crash_and_check(tmp_path, env, 2.0))
    assert_no_loss(report)
