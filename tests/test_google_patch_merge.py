"""GOOGLE_OAUTH: a PATCH merges nested objects at Google (issue 12, item 2).

Switching between all-day and timed must name the other form ``null`` (Google answers
"Invalid start time." when both stay); replacing a conference must not leave the old
``conferenceId``, ``createRequest`` or link behind.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api
from tests.googlekit import G, read, url
from tests.oauth_env import (  # noqa: F401 - fixtures
    Fakes,
    connect,
    fakes_fixture,
    oauth_runtime,
    oauth_settings,
)

pytestmark = pytest.mark.anyio

TIMED = {
    "start": {"date_time": "2026-03-02T10:00:00", "time_zone": "Europe/Paris"},
    "end": {"date_time": "2026-03-02T11:00:00", "time_zone": "Europe/Paris"},
}
ALL_DAY = {"start": {"date": "2026-03-02"}, "end": {"date": "2026-03-03"}}
MEET = {"provider": "google_meet"}


async def create(api: Api, fakes: Fakes, account: str, **body: Any) -> dict[str, Any]:
    r = await api.call("POST", url(fakes), account_id=account, json={"title": "x", **body})
    assert r.status_code == 200, r.text
    event: dict[str, Any] = r.json()
    return event


async def patch(api: Api, fakes: Fakes, account: str, event_id: str, **body: Any) -> Any:
    r = await api.call("PATCH", url(fakes, event_id), account_id=account, json=body)
    assert r.status_code == 200, r.text
    return await read(api, fakes, account, event_id)


@pytest.mark.parametrize(("before", "after"), [(ALL_DAY, TIMED), (TIMED, ALL_DAY)])
async def test_switching_all_day_and_timed(
    api: Api, fakes: Fakes, before: dict[str, Any], after: dict[str, Any]
) -> None:
    account = await connect(api, fakes, G)
    made = await create(api, fakes, account, **before)
    event = await patch(api, fakes, account, made["event_id"], **after)
    assert (event["start"], event["end"]) == (
        after["start"]
        | ({"date_time": "2026-03-02T10:00:00+01:00"} if "date_time" in after["start"] else {}),
        after["end"]
        | ({"date_time": "2026-03-02T11:00:00+01:00"} if "date_time" in after["end"] else {}),
    )
    assert event["is_all_day"] is ("date" in after["start"])
    stored = fakes.google.stored()[0]
    assert ("date" in stored["start"]) != ("dateTime" in stored["start"])


async def test_a_meet_link_replacing_a_made_meet_leaves_nothing_of_it(
    api: Api, fakes: Fakes
) -> None:
    account = await connect(api, fakes, G)
    made = await create(api, fakes, account, conference=MEET, **TIMED)
    first = await read(api, fakes, account, made["event_id"])
    assert first["conference"]["conference_id"]
    link = {"provider": "google_meet", "url": "https://meet.google.com/abc-defg-hij"}
    event = await patch(api, fakes, account, made["event_id"], conference=link)
    assert event["conference"] == {**link, "conference_id": ""}
    data = fakes.google.stored()[0]["conferenceData"]
    assert "createRequest" not in data and "conferenceId" not in data


async def test_a_new_meet_replaces_the_old_one(api: Api, fakes: Fakes) -> None:
    account = await connect(api, fakes, G)
    made = await create(api, fakes, account, conference=MEET, **TIMED)
    old = await read(api, fakes, account, made["event_id"])
    event = await patch(api, fakes, account, made["event_id"], conference=MEET)
    assert event["conference"]["url"].startswith("https://meet.google.com/")
    assert event["conference"]["url"] != old["conference"]["url"]
    assert event["conference"]["conference_id"] != old["conference"]["conference_id"]


async def test_switching_between_meet_zoom_and_none(api: Api, fakes: Fakes) -> None:
    account = await connect(api, fakes, G)
    made = await create(api, fakes, account, body="Agenda", conference=MEET, **TIMED)
    zoom = {"provider": "zoom", "url": "https://zoom.example.org/j/9", "conference_id": "9"}
    event = await patch(api, fakes, account, made["event_id"], conference=zoom)
    assert (event["conference"], event["body"]) == (zoom, "Agenda")
    stored = fakes.google.stored()[0]
    assert "conferenceData" not in stored and "hangoutLink" not in stored
    assert stored["description"] == "Agenda\n\nZoom: https://zoom.example.org/j/9"

    event = await patch(api, fakes, account, made["event_id"], conference=MEET)
    assert event["conference"]["provider"] == "google_meet" and event["conference"]["url"]
    assert event["body"] == "Agenda"
    stored = fakes.google.stored()[0]
    assert stored["description"] == "Agenda"
    assert stored["extendedProperties"]["private"] == {}

    event = await patch(api, fakes, account, made["event_id"], conference=None)
    assert (event["conference"], event["body"]) == (None, "Agenda")
    assert "conferenceData" not in fakes.google.stored()[0]
