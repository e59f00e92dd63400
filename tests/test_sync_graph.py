"""Provider sync on Outlook: changes the user makes in Outlook (the Graph test server's own
"outside" API) reach a real webhook receiver exactly once, through calendarView/delta
(@odata.nextLink, @odata.deltaLink, @removed); calgate's own changes are not reported again;
a refused delta token (410) makes a full resync that reconciles deletions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from calgate.outbox.worker import Worker
from calgate.settings import Settings
from tests.conftest import Api
from tests.fakes import graph_delta
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
    """An event as Outlook stores it (local wall times and their zone)."""
    return {
        "start": {"dateTime": f"{day}T{hour:02d}:00:00", "timeZone": ZONE},
        "end": {"dateTime": f"{day}T{hour + 1:02d}:00:00", "timeZone": ZONE},
        **extra,
    }


def weekly(day: str, count: int) -> dict[str, Any]:
    return {
        "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"]},
        "range": {"type": "numbered", "startDate": day, "numberOfOccurrences": count},
    }


@pytest.fixture
def settings(database_url: str, tmp_path: Path, fakes: Fakes) -> Settings:
    return fakes.settings(sync_settings(database_url, tmp_path))


class Outlook(Synced):
    def __init__(self, api: Api, fakes: Fakes, account_id: str) -> None:
        super().__init__(api, account_id, fakes.graph.default_calendar)
        self.state = fakes.graph
        self.calendar = self.calendar_id


@pytest.fixture
async def outlook(api: Api, fakes: Fakes, receiver: Receiver, worker: Worker) -> Outlook:
    account_id = await connect(api, fakes, "OUTLOOK")
    await webhook(api, receiver)
    graph_delta.user_creates(fakes.graph, fakes.graph.default_calendar, timed("2026-06-01", 9))
    o = Outlook(api, fakes, account_id)
    await o.sync()  # the baseline: nothing reported
    return o


async def test_user_changes_in_outlook_reach_the_webhook_once(
    outlook: Outlook, receiver: Receiver
) -> None:
    await outlook.sync()
    assert receiver.accepted() == []
    made = graph_delta.user_creates(
        outlook.state, outlook.calendar, timed("2026-06-02", 10, subject="From Outlook")
    )
    await outlook.sync()
    [(kind, event_id, body)] = await settle(receiver, 1)
    assert (kind, event_id, body["title"]) == ("calendar_event_created", made["id"], "From Outlook")
    assert same_as_live(body, await outlook.live(made["id"]))

    graph_delta.user_changes(outlook.state, made["id"], {"subject": "Renamed"})
    await outlook.sync()
    await outlook.sync()
    assert (await settle(receiver, 2))[1][:2] == ("calendar_event_updated", made["id"])
    graph_delta.user_deletes(outlook.state, made["id"])
    await outlook.sync()
    kind, event_id, body = (await settle(receiver, 3))[2]
    assert (kind, event_id, body["is_cancelled"]) == ("calendar_event_deleted", made["id"], True)

    series = graph_delta.user_creates(
        outlook.state,
        outlook.calendar,
        timed("2026-06-08", 10, subject="Weekly", recurrence=weekly("2026-06-08", 4)),
    )
    await outlook.sync()
    assert (await settle(receiver, 4))[3][:2] == ("calendar_event_created", series["id"])
    second = f"{series['id']}_20260615T080000Z"
    graph_delta.user_changes(outlook.state, second, {"subject": "Moved once"})
    await outlook.sync()
    kind, event_id, body = (await settle(receiver, 5))[4]
    assert (kind, event_id, body["master_event_id"], body["title"]) == (
        "calendar_event_updated",
        second,
        series["id"],
        "Moved once",
    )
    third = f"{series['id']}_20260622T080000Z"
    graph_delta.user_deletes(outlook.state, third)
    await outlook.sync()
    kind, event_id, body = (await settle(receiver, 6))[5]
    assert (kind, event_id, body["master_event_id"]) == (
        "calendar_event_deleted",
        third,
        series["id"],
    )
    graph_delta.user_changes(outlook.state, series["id"], {"subject": "Weekly, renamed"})
    await outlook.sync()
    kind, event_id, body = (await settle(receiver, 7))[6]
    assert (kind, event_id, body["title"]) == (
        "calendar_event_updated",
        series["id"],
        "Weekly, renamed",
    )
    graph_delta.user_deletes(outlook.state, series["id"])
    await outlook.sync()
    kind, event_id, _ = (await settle(receiver, 8))[7]
    assert (kind, event_id) == ("calendar_event_deleted", series["id"])
    state = await outlook.sync_state()
    assert (state["status"], state["mode"], state["changes_seen"]) == ("ok", "delta", 8)


async def test_changes_made_through_calgate_are_reported_once(
    outlook: Outlook, receiver: Receiver
) -> None:
    url = f"/api/v1/calendars/{outlook.calendar}/events"
    account = outlook.account_id
    body = {
        "title": "Through calgate",
        "start": {"date_time": "2026-07-01T10:00:00", "time_zone": ZONE},
        "end": {"date_time": "2026-07-01T11:00:00", "time_zone": ZONE},
    }
    r = await outlook.api.call("POST", url, json=body, account_id=account)
    assert r.status_code == 200, r.text
    event_id = r.json()["event_id"]
    await outlook.sync()
    r = await outlook.api.call(
        "PATCH", f"{url}/{event_id}", json={"title": "B"}, account_id=account
    )
    assert r.status_code == 200, r.text
    await outlook.sync()
    r = await outlook.api.call("DELETE", f"{url}/{event_id}", account_id=account)
    assert r.status_code == 200, r.text
    await outlook.sync()
    await outlook.sync()
    assert [(k, i) for k, i, _ in await settle(receiver, 3)] == [
        ("calendar_event_created", event_id),
        ("calendar_event_updated", event_id),
        ("calendar_event_deleted", event_id),
    ]


async def test_refused_delta_token_makes_a_full_resync(
    outlook: Outlook, receiver: Receiver
) -> None:
    kept = graph_delta.user_creates(outlook.state, outlook.calendar, timed("2026-06-03", 9))
    doomed = graph_delta.user_creates(outlook.state, outlook.calendar, timed("2026-06-04", 9))
    await outlook.sync()
    await settle(receiver, 2)
    graph_delta.user_deletes(outlook.state, doomed["id"])
    graph_delta.user_changes(outlook.state, kept["id"], {"subject": "Kept"})
    graph_delta.expire_delta_tokens(outlook.state)
    await outlook.sync()
    found = sorted((k, i) for k, i, _ in (await settle(receiver, 4))[2:])
    assert found == sorted(
        [("calendar_event_deleted", doomed["id"]), ("calendar_event_updated", kept["id"])]
    )
    state = await outlook.sync_state()
    assert (state["full_resyncs"], state["status"]) == (1, "ok")
    deltas = outlook.state.requests.find("GET")
    assert [r.status for r in deltas if "$deltatoken" in r.query][-1] == 410


async def test_outside_change_of_an_event_calgate_made_carries_calgate_s_property(
    outlook: Outlook, receiver: Receiver
) -> None:
    """Graph's delta rows lack the extended property calgate keeps on the events it writes;
    the webhook of an outside change carries the event as a live read shows it."""
    url = f"/api/v1/calendars/{outlook.calendar}/events"
    body = {
        "title": "Through calgate",
        "start": {"date_time": "2026-07-01T10:00:00", "time_zone": ZONE},
        "end": {"date_time": "2026-07-01T11:00:00", "time_zone": ZONE},
        "visibility": "default",
    }
    r = await outlook.api.call("POST", url, json=body, account_id=outlook.account_id)
    assert r.status_code == 200, r.text
    event_id = r.json()["event_id"]
    await outlook.sync()
    graph_delta.user_changes(outlook.state, event_id, {"subject": "Renamed in Outlook"})
    await outlook.sync()
    [_, (kind, delivered_id, delivered)] = await settle(receiver, 2)
    assert (kind, delivered_id, delivered["title"]) == (
        "calendar_event_updated",
        event_id,
        "Renamed in Outlook",
    )
    assert delivered["visibility"] == "default"
    assert same_as_live(delivered, await outlook.live(event_id))
