"""Issue 13, item 8, on CalDAV (real Radicale): a create under an Idempotency-Key whose process
died after the server stored the event, retried with its key, finds that resource (the resource
name and UID come from the event id, derived from the key) instead of writing a second one."""

from __future__ import annotations

import pytest

from tests.radicale import radicale_fixture  # noqa: F401 - fixture
from tests.test_caldav_events import Account, settings  # noqa: F401 - fixture
from tests.test_caldav_events import account as account  # the fixture
from tests.test_idempotency_remote import abandon

pytestmark = pytest.mark.anyio

BODY = {
    "title": "once",
    "start": {"date_time": "2026-03-01T10:00:00Z"},
    "end": {"date_time": "2026-03-01T11:00:00Z"},
}


async def test_a_create_retried_after_a_crash_finds_the_resource(account: Account) -> None:
    target = account.target
    key = {"Idempotency-Key": "k-crash"}
    first = await target.api.call(
        "POST", target.events(), account_id=target.account_id, json=BODY, headers=key
    )
    assert first.status_code == 200, first.text
    await abandon(target.api, "k-crash")
    again = await target.api.call(
        "POST", target.events(), account_id=target.account_id, json=BODY, headers=key
    )
    assert again.status_code == 200, again.text
    assert again.json()["event_id"] == first.json()["event_id"]
    assert len(account.names()) == 1
