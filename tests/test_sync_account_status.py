"""A password changed at the CalDAV server: sync meets 401, the account goes to CREDENTIALS,
an `account_status` webhook (Unipile's `{"AccountStatus": …}`) is delivered once, sync stops;
once the account is usable again, sync resumes from its cursor (no full resync)."""

from __future__ import annotations

from pathlib import Path

import pytest

from calgate.outbox.worker import Worker
from calgate.settings import Settings
from tests.conftest import Api
from tests.radicale import Radicale, radicale_fixture
from tests.receiver import Receiver
from tests.synckit import receiver_fixture, sync_settings, worker_fixture
from tests.test_sync_caldav import connect, ics

pytestmark = pytest.mark.anyio
__all__ = ["radicale_fixture", "receiver_fixture", "worker_fixture"]


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return sync_settings(database_url, tmp_path, cache_seconds=0.0)


def set_password(radicale: Radicale, name: str, password: str) -> None:
    lines = radicale.users_file.read_text().splitlines()
    kept = [line for line in lines if not line.startswith(f"{name}:")]
    radicale.users_file.write_text("\n".join([*kept, f"{name}:{password}"]) + "\n")


async def test_refused_password_reports_the_account_status_and_stops_sync(
    api: Api, radicale: Radicale, receiver: Receiver, worker: Worker
) -> None:
    account_id, dav = await connect(api, radicale)
    for body in (
        {"source": "account_status", "request_url": receiver.url, "name": "status"},
        {"source": "calendar_event", "request_url": receiver.url, "name": "events"},
    ):
        r = await api.call("POST", "/api/v1/webhooks", json=body)
        assert r.status_code == 201, r.text
    bad = await api.call(
        "POST",
        "/api/v1/webhooks",
        json={"source": "account_status", "request_url": receiver.url, "events": ["x"]},
    )
    assert bad.status_code == 400
    assert "events: account_status webhooks take no events" in bad.json()["detail"]
    scheduler = api.runtime.scheduler()
    assert [r is not None for _, r in await scheduler.run_account(account_id)] == [True]

    set_password(radicale, dav.user.name, "changed-elsewhere")
    assert await scheduler.run_account(account_id) == []  # refused: nothing synced
    [delivery] = await receiver.wait_for(1)
    body = delivery.json()
    assert body["AccountStatus"] == {
        "account_id": account_id,
        "account_type": "CALDAV",
        "message": "CREDENTIALS",
    }
    assert body["event"] == "account_status"
    account = (await api.call("GET", f"/api/v1/accounts/{account_id}")).json()
    assert account["sources"][0]["status"] == "CREDENTIALS"
    assert await scheduler.run_account(account_id) == []  # not synced while CREDENTIALS
    assert len(receiver.accepted()) == 1  # the status is reported once

    # The user gives calgate the new password (connected again): sync resumes.
    set_password(radicale, dav.user.name, dav.user.password)
    record = await api.runtime.accounts.record(api.a.id, account_id)
    await api.runtime.accounts.set_status(record, "OK")
    dav.put("after", ics("after@other", "After the reconnect"))
    [(_, result)] = await scheduler.run_account(account_id)
    assert result is not None and not result.full_resync and result.changes == 1
    got = await receiver.wait_for(3)
    assert [d.json().get("AccountStatus", {}).get("message") for d in got[1:]].count("OK") == 1
    assert [(d.json()["event"], d.json().get("id")) for d in got if "id" in d.json()] == [
        ("calendar_event_created", "after")
    ]
