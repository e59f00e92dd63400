"""Provider sync on Google: changes the user makes in Google Calendar (the test server's own
"outside" API) reach a real webhook receiver exactly once, through events.list with
nextSyncToken/syncToken; calgate's own changes are not reported again; an expired sync token
(410) makes a full resync that reconciles deletions."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import anyio
import pytest

from calgate.outbox.worker import Worker
from calgate.settings import Settings
from tests.conftest import Api
from tests.fakes import google_sync
from tests.oauth_env import Fakes, connect, fakes_fixture, oauth_runtime
from tests.receiver import Receiver
from tests.synckit import (
    Synced,
    receiver_fixture,
    same_as_live,
    settle,
    sync_settings,
    webhook,
    worker_fixture,
)

pytestmark = pytest.mark.anyio
__all__ = ["fakes_fixture", "oauth_runtime", "receiver_fixture", "worker_fixture"]
ZONE = "Europe/Paris"


def timed(day: str, hour: int, **extra: Any) -> dict[str, Any]:
    return {
        "start": {"dateTime": f"{day}T{hour:02d}:00:00+02:00", "timeZone": ZONE},
        "end": {"dateTime": f"{day}T{hour + 1:02d}:00:00+02:00", "timeZone": ZONE},
        **extra,
    }


@pytest.fixture
def settings(database_url: str, tmp_path: Path, fakes: Fakes) -> Settings:
    return fakes.settings(sync_settings(database_url, tmp_path))


class Google(Synced):
    def __init__(self, api: Api, fakes: Fakes, account_id: str) -> None:
        super().__init__(api, account_id, fakes.google.email)
        self.state = fakes.google
        self.calendar = self.calendar_id


@pytest.fixture
async def google(api: Api, fakes: Fakes, receiver: Receiver, worker: Worker) -> Google:
    account_id = await connect(api, fakes, "GOOGLE_OAUTH")
    await webhook(api, receiver)
    google_sync.user_creates(fakes.google, fakes.google.email, timed("2026-06-01", 9))
    g = Google(api, fakes, account_id)
    await g.sync()  # the baseline: nothing reported
    return g


async def test_user_changes_in_google_reach_the_webhook_once(
    google: Google, receiver: Receiver
) -> None:
    await google.sync()
    assert receiver.accepted() == []
    made = google_sync.user_creates(
        google.state, google.calendar, timed("2026-06-02", 10, summary="From Google")
    )
    await google.sync()
    [(kind, event_id, body)] = await settle(receiver, 1)
    assert (kind, event_id, body["title"]) == ("calendar_event_created", made["id"], "From Google")
    assert same_as_live(body, await google.live(made["id"]))

    google_sync.user_changes(google.state, google.calendar, made["id"], {"summary": "Renamed"})
    await google.sync()
    await google.sync()
    assert (await settle(receiver, 2))[1][:2] == ("calendar_event_updated", made["id"])
    google_sync.user_deletes(google.state, google.calendar, made["id"])
    await google.sync()
    kind, event_id, body = (await settle(receiver, 3))[2]
    assert (kind, event_id, body["is_cancelled"]) == ("calendar_event_deleted", made["id"], True)

    series = google_sync.user_creates(
        google.state,
        google.calendar,
        timed("2026-06-08", 10, summary="Weekly", recurrence=["RRULE:FREQ=WEEKLY;COUNT=4"]),
    )
    await google.sync()
    assert (await settle(receiver, 4))[3][:2] == ("calendar_event_created", series["id"])
    second = f"{series['id']}_20260615T080000Z"
    google_sync.user_changes(google.state, google.calendar, second, {"summary": "Moved once"})
    await google.sync()
    kind, event_id, body = (await settle(receiver, 5))[4]
    assert (kind, event_id, body["master_event_id"], body["title"]) == (
        "calendar_event_updated",
        second,
        series["id"],
        "Moved once",
    )
    third = f"{series['id']}_20260622T080000Z"
    google_sync.user_deletes(google.state, google.calendar, third)
    await google.sync()
    kind, event_id, body = (await settle(receiver, 6))[5]
    assert (kind, event_id, body["master_event_id"]) == (
        "calendar_event_deleted",
        third,
        series["id"],
    )
    state = await google.sync_state()
    assert (state["status"], state["mode"], state["changes_seen"]) == ("ok", "sync-token", 6)


async def test_changes_made_through_calgate_are_reported_once(
    google: Google, receiver: Receiver
) -> None:
    url = f"/api/v1/calendars/{google.calendar}/events"
    account = google.account_id
    body = {
        "title": "Through calgate",
        "start": {"date_time": "2026-07-01T10:00:00", "time_zone": ZONE},
        "end": {"date_time": "2026-07-01T11:00:00", "time_zone": ZONE},
        "recurrence": ["RRULE:FREQ=DAILY;COUNT=3"],
    }
    r = await google.api.call("POST", url, json=body, account_id=account)
    assert r.status_code == 200, r.text
    event_id = r.json()["event_id"]
    await google.sync()
    r = await google.api.call("PATCH", f"{url}/{event_id}", json={"title": "B"}, account_id=account)
    assert r.status_code == 200, r.text
    await google.sync()
    occurrence = f"{event_id}_20260702T080000Z"
    r = await google.api.call("DELETE", f"{url}/{occurrence}", account_id=account)
    assert r.status_code == 200, r.text
    await google.sync()
    r = await google.api.call("DELETE", f"{url}/{event_id}", account_id=account)
    assert r.status_code == 200, r.text
    await google.sync()
    await google.sync()
    assert [(k, i) for k, i, _ in await settle(receiver, 4)] == [
        ("calendar_event_created", event_id),
        ("calendar_event_updated", event_id),
        ("calendar_event_deleted", occurrence),
        ("calendar_event_deleted", event_id),
    ]


async def test_expired_sync_token_makes_a_full_resync(google: Google, receiver: Receiver) -> None:
    kept = google_sync.user_creates(google.state, google.calendar, timed("2026-06-03", 9))
    doomed = google_sync.user_creates(google.state, google.calendar, timed("2026-06-04", 9))
    await google.sync()
    await settle(receiver, 2)
    google_sync.user_deletes(google.state, google.calendar, doomed["id"])
    google_sync.user_changes(google.state, google.calendar, kept["id"], {"summary": "Kept"})
    google_sync.expire_sync_tokens(google.state)
    await google.sync()
    found = sorted((k, i) for k, i, _ in (await settle(receiver, 4))[2:])
    assert found == sorted(
        [("calendar_event_deleted", doomed["id"]), ("calendar_event_updated", kept["id"])]
    )
    state = await google.sync_state()
    assert (state["full_resyncs"], state["status"]) == (1, "ok")
    listings = google.state.requests.find("GET", "/calendar/v3/calendars/")
    assert [r.status for r in listings if "syncToken" in r.query][-1] == 410


async def test_rate_limits_are_respected(google: Google, receiver: Receiver) -> None:
    """403 rateLimitExceeded is retried within the run; a 429 whose Retry-After is past the
    run's deadline fails the run, and the calendar is not polled again before it."""
    events = f"/calendar/v3/calendars/{google.calendar}/events"
    made = google_sync.user_creates(google.state, google.calendar, timed("2026-06-05", 9))
    google.state.faults.add(events, method="GET", status=403, reason="rateLimitExceeded")
    await google.sync()
    [(kind, event_id, _)] = await settle(receiver, 1)
    assert (kind, event_id) == ("calendar_event_created", made["id"])

    google.state.faults.add(
        events, method="GET", status=429, headers={"Retry-After": "120"}, times=None
    )
    [(_, result)] = await google.scheduler.run_account(google.account_id)
    assert result is None
    state = await google.sync_state()
    assert state["status"] == "failing"
    assert state["last_error"].startswith("errors/too_many_requests")
    wait = dt.datetime.fromisoformat(state["next_run_at"]) - dt.datetime.now(dt.UTC)
    assert 100 < wait.total_seconds() <= 120
    assert [r.status for r in google.state.requests.find("GET", events)][-1] == 429
    google.state.faults.clear()
    before = len(google.state.requests.find("GET", events))
    await google.scheduler.tick()  # not due: nothing claimed, nothing sent
    await anyio.sleep(0.3)
    assert len(google.state.requests.find("GET", events)) == before
