"""The Google test server behaves as the Calendar v3 discovery document says, where the
kinder behaviour would hide calgate's mistakes (issue 12): bare cancelled items in lists,
PATCH merging nested objects, conference solution types, pending Meet requests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.fakes import GoogleState, google_app

pytestmark = pytest.mark.anyio

EVENTS = "/calendar/v3/calendars/primary/events"
WRITE = {"conferenceDataVersion": "1"}


def event(**extra: Any) -> dict[str, Any]:
    return {
        "summary": "Review",
        "start": {"dateTime": "2026-03-02T10:00:00Z", "timeZone": "UTC"},
        "end": {"dateTime": "2026-03-02T11:00:00Z", "timeZone": "UTC"},
        **extra,
    }


@pytest.fixture
def state() -> GoogleState:
    return GoogleState()


@pytest.fixture
async def google(state: GoogleState) -> AsyncIterator[httpx.AsyncClient]:
    token = state.oauth.issue_access_token()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=google_app(state)),
        base_url="http://google.test",
        headers={"Authorization": f"Bearer {token}"},
    ) as client:
        yield client


async def test_series_level_lists_show_cancelled_exceptions_bare(
    google: httpx.AsyncClient, state: GoogleState
) -> None:
    series = event(id="series01", recurrence=["RRULE:FREQ=DAILY;COUNT=3"])
    assert (await google.post(EVENTS, json=series)).status_code == 200
    single = (await google.post(EVENTS, json=event(id="single01"))).json()
    gone = await google.delete(f"{EVENTS}/series01_20260303T100000Z")
    assert gone.status_code == 204
    assert (await google.delete(f"{EVENTS}/single01")).status_code == 204

    items = (await google.get(EVENTS)).json()["items"]
    assert [i["id"] for i in items] == ["series01", "series01_20260303T100000Z"]
    assert {k: v for k, v in items[1].items() if k != "etag"} == {
        "kind": "calendar#event",
        "id": "series01_20260303T100000Z",
        "status": "cancelled",
        "recurringEventId": "series01",
        "originalStartTime": {"dateTime": "2026-03-03T10:00:00Z", "timeZone": "UTC"},
    }
    # Expanded: no cancelled occurrence unless showDeleted.
    expanded = (await google.get(EVENTS, params={"singleEvents": "true"})).json()["items"]
    assert [i["id"] for i in expanded] == ["series01_20260302T100000Z", "series01_20260304T100000Z"]
    # updatedMin: deleted entries always, with only their id.
    since = await google.get(EVENTS, params={"updatedMin": single["created"]})
    bare = [i for i in since.json()["items"] if i["id"] == "single01"]
    assert [set(i) for i in bare] == [{"kind", "etag", "id", "status"}]
    # get still answers the deleted event (status cancelled).
    assert (await google.get(f"{EVENTS}/single01")).json()["status"] == "cancelled"


async def test_patch_merges_start_so_switching_forms_needs_nulls(
    google: httpx.AsyncClient,
) -> None:
    day = {"start": {"date": "2026-03-02"}, "end": {"date": "2026-03-03"}}
    assert (await google.post(EVENTS, json=event(id="date0001", **day))).status_code == 200
    timed = {
        "start": {"dateTime": "2026-03-02T10:00:00Z", "timeZone": "UTC"},
        "end": {"dateTime": "2026-03-02T11:00:00Z", "timeZone": "UTC"},
    }
    refused = await google.patch(f"{EVENTS}/date0001", json=timed)
    assert refused.status_code == 400
    assert refused.json()["error"]["message"] == "Invalid start time."
    nulled = {k: {**v, "date": None} for k, v in timed.items()}
    done = await google.patch(f"{EVENTS}/date0001", json=nulled)
    assert done.status_code == 200, done.text
    assert done.json()["start"] == {"dateTime": "2026-03-02T10:00:00Z", "timeZone": "UTC"}


async def test_conference_data_merges_and_add_on_is_refused(
    google: httpx.AsyncClient, state: GoogleState
) -> None:
    create = {
        "createRequest": {"requestId": "r1", "conferenceSolutionKey": {"type": "hangoutsMeet"}}
    }
    made = await google.post(EVENTS, params=WRITE, json=event(id="meet0001", conferenceData=create))
    assert made.json()["conferenceData"]["createRequest"]["status"] == {"statusCode": "success"}
    copy = {
        "conferenceSolution": {"key": {"type": "hangoutsMeet"}, "name": "Google Meet"},
        "entryPoints": [{"entryPointType": "video", "uri": "https://meet.google.com/abc-defg-hij"}],
    }
    merged = await google.patch(f"{EVENTS}/meet0001", params=WRITE, json={"conferenceData": copy})
    kept = merged.json()["conferenceData"]
    assert kept["conferenceId"] == made.json()["conferenceData"]["conferenceId"]  # lingers
    assert kept["createRequest"]["requestId"] == "r1"
    zoom = {
        "conferenceSolution": {"key": {"type": "addOn"}, "name": "Zoom"},
        "entryPoints": [{"entryPointType": "video", "uri": "https://zoom.example.org/j/1"}],
    }
    refused = await google.post(EVENTS, params=WRITE, json=event(conferenceData=zoom))
    assert refused.status_code == 400
    assert refused.json()["error"]["message"] == "Invalid conference data."
    listed = (await google.get("/calendar/v3/users/me/calendarList/primary")).json()
    assert listed["conferenceProperties"] == {"allowedConferenceSolutionTypes": ["hangoutsMeet"]}


async def test_meet_requests_can_stay_pending(
    google: httpx.AsyncClient, state: GoogleState
) -> None:
    state.meet_pending_reads = 2
    create = {
        "createRequest": {"requestId": "r1", "conferenceSolutionKey": {"type": "hangoutsMeet"}}
    }
    made = await google.post(EVENTS, params=WRITE, json=event(id="meet0001", conferenceData=create))
    data = made.json()["conferenceData"]
    assert data["createRequest"]["status"] == {"statusCode": "pending"}
    assert "entryPoints" not in data and "hangoutLink" not in made.json()
    first = (await google.get(f"{EVENTS}/meet0001")).json()
    assert first["conferenceData"]["createRequest"]["status"]["statusCode"] == "pending"
    second = (await google.get(f"{EVENTS}/meet0001")).json()
    assert second["conferenceData"]["createRequest"]["status"]["statusCode"] == "success"
    assert second["hangoutLink"] == second["conferenceData"]["entryPoints"][0]["uri"]
