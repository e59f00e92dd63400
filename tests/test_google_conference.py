"""GOOGLE_OAUTH conferences (issue 12, items 3 and 4).

A Zoom, Teams or other link cannot be Google ``conferenceData`` for an ordinary OAuth client
(``addOn`` is for Workspace add-ons; the calendar allows ``hangoutsMeet`` only): calgate
writes it as the description's last line plus private extended properties and reads it back
as ``conference``. A Meet Google is still making (``pending``) is read again within the
deadline, and a later read fills its URL.
"""

from __future__ import annotations

import time

import pytest

from calgate.settings import Settings
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
    "start": {"date_time": "2026-03-02T10:00:00Z", "time_zone": "UTC"},
    "end": {"date_time": "2026-03-02T11:00:00Z", "time_zone": "UTC"},
}


@pytest.mark.parametrize(
    ("provider", "line"),
    [("zoom", "Zoom: "), ("teams", "Microsoft Teams: "), ("unknown", "Meeting: ")],
)
async def test_third_party_links_are_no_conference_data(
    api: Api, fakes: Fakes, provider: str, line: str
) -> None:
    account = await connect(api, fakes, G)
    conference = {"provider": provider, "url": "https://meet.example.org/r/42", "conference_id": ""}
    body = {"title": "Call", "body": "Agenda", "conference": conference, **TIMED}
    r = await api.call("POST", url(fakes), account_id=account, json=body)
    assert r.status_code == 200, r.text
    stored = fakes.google.stored()[0]
    assert "conferenceData" not in stored
    assert stored["description"] == f"Agenda\n\n{line}https://meet.example.org/r/42"
    event = await read(api, fakes, account, r.json()["event_id"])
    assert (event["conference"], event["body"]) == (conference, "Agenda")

    # A new body keeps the link line; a body filter sees the body only.
    r = await api.call(
        "PATCH", url(fakes, event["id"]), account_id=account, json={"body": "New agenda"}
    )
    assert r.status_code == 200, r.text
    assert fakes.google.stored()[0]["description"].endswith(line + conference["url"])
    found = await api.call(
        "GET",
        url(fakes),
        account_id=account,
        params={"start": "2026-03-01T00:00:00Z", "end": "2026-03-03T00:00:00Z"},
    )
    assert [(e["body"], e["conference"]) for e in found.json()["data"]] == [
        ("New agenda", conference)
    ]


async def test_an_add_on_conference_made_in_google_still_reads(api: Api, fakes: Fakes) -> None:
    account = await connect(api, fakes, G)
    r = await api.call("POST", url(fakes), account_id=account, json={"title": "x", **TIMED})
    stored = fakes.google.stored()[0]
    # The Zoom add-on for Google Workspace wrote its conference on the event.
    stored["conferenceData"] = {
        "conferenceSolution": {"key": {"type": "addOn"}, "name": "Zoom Meeting"},
        "entryPoints": [{"entryPointType": "video", "uri": "https://zoom.example.org/j/7"}],
        "conferenceId": "7",
    }
    event = await read(api, fakes, account, r.json()["event_id"])
    assert event["conference"] == {
        "provider": "zoom",
        "url": "https://zoom.example.org/j/7",
        "conference_id": "7",
    }


async def test_a_pending_meet_is_read_again_until_made(api: Api, fakes: Fakes) -> None:
    account = await connect(api, fakes, G)
    fakes.google.meet_pending_reads = 3
    body = {"title": "Call", "conference": {"provider": "google_meet"}, **TIMED}
    r = await api.call("POST", url(fakes), account_id=account, json=body)
    assert r.status_code == 200, r.text
    # Read again until Google made it: the third read had it.
    reads = fakes.google.requests.find("GET", f"/calendar/v3/calendars/{fakes.google.email}/")
    assert len(reads) == 3
    assert fakes.google.pending == {}
    stored = fakes.google.stored()[0]
    made = (await read(api, fakes, account, r.json()["event_id"]))["conference"]
    assert made == {
        "provider": "google_meet",
        "url": stored["hangoutLink"],
        "conference_id": stored["conferenceData"]["conferenceId"],
    }


class TestMeetStillPending:
    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return settings.model_copy(update={"provider_timeout_seconds": 2.0})

    async def test_the_answer_comes_in_time_and_a_later_read_has_the_url(
        self, api: Api, fakes: Fakes
    ) -> None:
        account = await connect(api, fakes, G)
        fakes.google.meet_pending_reads = 1000
        body = {"title": "Call", "conference": {"provider": "google_meet"}, **TIMED}
        began = time.monotonic()
        r = await api.call("POST", url(fakes), account_id=account, json=body)
        assert r.status_code == 200, r.text
        assert time.monotonic() - began < 1.9  # polled within half the deadline
        assert fakes.google.requests.find("GET", f"/calendar/v3/calendars/{fakes.google.email}/")
        event_id = r.json()["event_id"]
        # Still pending: an honest empty URL, never an error.
        event = await read(api, fakes, account, event_id)
        assert event["conference"] == {"provider": "google_meet", "url": "", "conference_id": ""}

        fakes.google.complete_meet(fakes.google.email, event_id)
        event = await read(api, fakes, account, event_id)
        assert event["conference"]["url"] == fakes.google.stored()[0]["hangoutLink"]
        assert event["conference"]["conference_id"]
