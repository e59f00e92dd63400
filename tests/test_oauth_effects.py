"""Changes made through calgate on Google and Outlook reach the outbox (webhooks) once each, and
only once the provider confirmed them."""

from __future__ import annotations

import pytest

from tests.conftest import Api
from tests.oauth_env import (  # noqa: F401 - fixtures
    Fakes,
    connect,
    fakes_fixture,
    oauth_runtime,
    oauth_settings,
    seed_calendar,
)

pytestmark = pytest.mark.anyio

BODY = {
    "title": "x",
    "attendees": [{"email": "ada@example.org"}],
    "start": {"date_time": "2026-03-01T10:00:00Z"},
    "end": {"date_time": "2026-03-01T11:00:00Z"},
}
EVENTS = ["calendar_event_created", "calendar_event_updated", "calendar_event_deleted"]


@pytest.mark.parametrize("provider", ["GOOGLE_OAUTH", "OUTLOOK"])
async def test_each_change_is_one_webhook_delivery(api: Api, fakes: Fakes, provider: str) -> None:
    account = await connect(api, fakes, provider)
    r = await api.call(
        "POST",
        "/api/v1/webhooks",
        json={
            "source": "calendar_event",
            "request_url": "https://hooks.example.org/calgate",
            "name": "hook",
            "events": EVENTS,
            "account_ids": [account],
        },
    )
    assert r.status_code == 201, r.text
    hook = r.json()["webhook_id"]
    url = f"/api/v1/calendars/{seed_calendar(fakes, provider)}/events"
    # A create the provider refuses records nothing.
    fakes.state(provider).faults.add("/", method="POST", status=403, reason="forbidden")
    r = await api.call("POST", url, account_id=account, json=BODY)
    assert r.status_code == 403, r.text
    event_id = (await api.call("POST", url, account_id=account, json=BODY)).json()["event_id"]
    r = await api.call("PATCH", f"{url}/{event_id}", account_id=account, json={"title": "y"})
    assert r.status_code == 200, r.text
    r = await api.call("DELETE", f"{url}/{event_id}", account_id=account)
    assert r.status_code == 200, r.text
    r = await api.call("GET", f"/api/v1/webhooks/{hook}/deliveries")
    assert r.status_code == 200, r.text
    assert [(d["event"], d["event_id"], d["account_id"]) for d in r.json()["items"]] == [
        (name, event_id, account) for name in reversed(EVENTS)
    ]
