"""OUTLOOK: deleting a meeting the account organizes sends its attendees a cancellation
(issue 11, item 5). Graph documents it for ``DELETE``: "deleting the event on the organizer's
calendar sends a cancellation message to the meeting attendees" (``/cancel`` differs only in
carrying a custom message, which Unipile's delete has none of). The test server records the
cancellations a deletion sends."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api
from tests.oauth_env import (  # noqa: F401 - fixtures
    Fakes,
    connect,
    fakes_fixture,
    oauth_runtime,
    oauth_settings,
)

pytestmark = pytest.mark.anyio

MEETING: dict[str, Any] = {
    "title": "Review",
    "start": {"date_time": "2026-02-02T09:00:00", "time_zone": "UTC"},
    "end": {"date_time": "2026-02-02T10:00:00", "time_zone": "UTC"},
}


async def test_deleting_a_meeting_cancels_it_for_the_attendees(api: Api, fakes: Fakes) -> None:
    account = await connect(api, fakes, "OUTLOOK")
    url = f"/api/v1/calendars/{fakes.graph.default_calendar}/events"
    body = {**MEETING, "attendees": [{"email": "ada@example.org"}]}
    r = await api.call("POST", url, account_id=account, json=body)
    assert r.status_code == 200, r.text
    meeting = r.json()["event_id"]
    r = await api.call("POST", url, account_id=account, json=MEETING)
    alone = r.json()["event_id"]
    for event_id in (meeting, alone):
        r = await api.call("DELETE", f"{url}/{event_id}", account_id=account)
        assert r.status_code == 200, r.text
    assert [guests for _, guests in fakes.graph.cancellations] == [["ada@example.org"]]
    deleted = [r for r in fakes.graph.requests if r.method == "DELETE"]
    assert len(deleted) == 2, deleted
