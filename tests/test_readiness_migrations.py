"""/readyz's migration check (regression): revisions applied because another one depends on
them (0002_outbox for 0012_delivery, 0003_idempotency for 0007_idempotency_tx) are not named
in the version table, and the check took them for pending: /readyz answered 503 forever."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from calgate.runtime import Runtime
from tests.conftest import Api

pytestmark = pytest.mark.anyio


async def test_ready_after_migrating(api: Api) -> None:
    r = await api.client.get("/readyz")
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "ok"}


async def test_a_missing_migration_is_still_seen(runtime: Runtime) -> None:
    assert await runtime.db.migrations_current()
    await runtime.db.write(
        lambda c: c.execute(text("DELETE FROM alembic_version WHERE version_num = '0012_delivery'"))
    )
    assert not await runtime.db.migrations_current()
