"""GOOGLE_OAUTH: deleting a meeting tells the guests (issue 11, item 5). calgate deleted with
``sendUpdates=none`` always, so guests kept a meeting that was gone. Google puts an event on
its guests' calendars even when no mail went out (``sendUpdates=none`` at creation), so
``events.delete`` now carries ``sendUpdates=all`` whenever the account organizes an event with
guests; an invitation the account merely received is removed quietly."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.conftest import Api
from tests.googlekit import G, url
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
    "attendees": [{"email": "ada@example.org"}],
}


async def create(api: Api, fakes: Fakes, account: str, **extra: Any) -> str:
    r = await api.call("POST", url(fakes), account_id=account, json={**MEETING, **extra})
    assert r.status_code == 200, r.text
    event_id: str = r.json()["event_id"]
    return event_id


async def deleted_with(api: Api, fakes: Fakes, account: str, event_id: str) -> str | None:
    r = await api.call("DELETE", url(fakes, event_id), account_id=account)
    assert r.status_code == 200, r.text
    (note,) = [n for n in fakes.google.send_updates if n.method == "DELETE"][-1:]
    assert note.event_id == event_id
    return note.value


def made_in_google(fakes: Fakes, like: str, new_id: str, **changes: Any) -> str:
    """A copy of a stored event, as if made in Google Calendar (calgate never saw it)."""
    events = fakes.google.events[fakes.google.email]
    copied = copy.deepcopy(events[like]) | {"id": new_id, "iCalUID": f"{new_id}@google.com"}
    events[new_id] = copied | changes
    return new_id


async def test_invited_guests_are_told(api: Api, fakes: Fakes) -> None:
    account = await connect(api, fakes, G)
    event_id = await create(api, fakes, account, notify=True)
    assert await deleted_with(api, fakes, account, event_id) == "all"


async def test_guests_not_mailed_still_hold_the_event_and_are_told(api: Api, fakes: Fakes) -> None:
    account = await connect(api, fakes, G)
    event_id = await create(api, fakes, account, notify=False)
    assert await deleted_with(api, fakes, account, event_id) == "all"
    alone = await create(api, fakes, account, attendees=[], notify=True)
    assert await deleted_with(api, fakes, account, alone) == "none"


async def test_an_occurrence_of_an_invited_series_is_cancelled_for_the_guests(
    api: Api, fakes: Fakes
) -> None:
    account = await connect(api, fakes, G)
    series = await create(api, fakes, account, notify=True, recurrence=["RRULE:FREQ=DAILY;COUNT=3"])
    occurrence = f"{series}_20260203T090000Z"
    assert await deleted_with(api, fakes, account, occurrence) == "all"


async def test_meetings_made_in_google_calendar(api: Api, fakes: Fakes) -> None:
    account = await connect(api, fakes, G)
    model = await create(api, fakes, account, notify=False)
    mine = made_in_google(fakes, model, "ownmeeting01")
    assert await deleted_with(api, fakes, account, mine) == "all"
    # An invitation the account received: deleting it tells nobody.
    theirs = made_in_google(fakes, model, "theirmeeting1", organizer={"email": "boss@example.org"})
    assert await deleted_with(api, fakes, account, theirs) == "none"
