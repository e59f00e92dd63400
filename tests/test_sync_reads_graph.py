"""Reads from the sync mirror on Outlook (the Graph test server): ``GET`` of a single event
answers from a current mirror with the JSON Graph's own read gives, calgate's extended
property included (Graph's delta rows lack it: sync reads such events whole); a change the
user makes in Outlook shows once sync has seen it; so does an exception by its occurrence id.
Lists, series masters and occurrences that only follow their series are read from Graph."""

from __future__ import annotations

from pathlib import Path

import pytest

from calgate.settings import Settings
from tests.conftest import Api
from tests.fakes import graph_delta
from tests.oauth_env import Fakes, connect, fakes_fixture, oauth_runtime
from tests.synckit import Synced, both, sync_settings
from tests.test_sync_graph import ZONE, timed, weekly

pytestmark = pytest.mark.anyio
__all__ = ["fakes_fixture", "oauth_runtime"]


@pytest.fixture
def settings(database_url: str, tmp_path: Path, fakes: Fakes) -> Settings:
    return fakes.settings(
        sync_settings(database_url, tmp_path, sync_enabled=False, sync_mirror_max_age_seconds=60.0)
    )


async def test_outlook_get_of_a_single_event_from_the_mirror(api: Api, fakes: Fakes) -> None:
    account_id = await connect(api, fakes, "OUTLOOK")
    calendar = fakes.graph.default_calendar
    synced = Synced(api, account_id, calendar)
    outside = graph_delta.user_creates(fakes.graph, calendar, timed("2027-01-12", 9, subject="A"))
    series = graph_delta.user_creates(
        fakes.graph,
        calendar,
        timed("2027-01-11", 10, subject="Weekly", recurrence=weekly("2027-01-11", 4)),
    )
    await synced.sync()  # the baseline reads the single events whole, from the calendar view
    body = {
        "title": "Through calgate",
        "start": {"date_time": "2027-01-13T10:00:00", "time_zone": ZONE},
        "end": {"date_time": "2027-01-13T11:00:00", "time_zone": ZONE},
        "visibility": "default",
    }
    r = await api.call(
        "POST", f"/api/v1/calendars/{calendar}/events", json=body, account_id=account_id
    )
    assert r.status_code == 200, r.text
    made = r.json()["event_id"]
    await synced.sync()  # a later round reads the changed one with a GET

    for event_id in (outside["id"], made, series["id"], f"{series['id']}_20270118T090000Z"):
        mirror, live = await both(api, synced, f"/{event_id}")
        assert mirror == live, event_id
    assert mirror[0] == 200
    mirror, live = await both(api, synced, "/nothing-here")
    assert mirror == live and mirror[0] == 404
    for params in [{}, {"start": "2027-01-01T00:00:00Z", "end": "2027-02-01T00:00:00Z"}]:
        mirror, live = await both(api, synced, "", **params)
        assert mirror == live, params
    mirror, _ = await both(api, synced, f"/{made}")
    assert (mirror[1]["title"], mirror[1]["visibility"]) == ("Through calgate", "default")

    # The mirror answers the GET: the user's change shows once sync has seen it; lists and
    # series masters are read from Graph at once.
    graph_delta.user_changes(fakes.graph, outside["id"], {"subject": "B"})
    graph_delta.user_changes(fakes.graph, made, {"subject": "C"})
    graph_delta.user_changes(fakes.graph, series["id"], {"subject": "Renamed"})
    assert (await synced.live(outside["id"]))["title"] == "A"
    assert (await synced.live(made))["title"] == "Through calgate"
    assert (await synced.live(series["id"]))["title"] == "Renamed"
    await synced.sync()
    assert (await synced.live(outside["id"]))["title"] == "B"
    mirror, live = await both(api, synced, f"/{made}")
    assert mirror == live and mirror[1]["title"] == "C"

    graph_delta.user_deletes(fakes.graph, outside["id"])
    await synced.sync()
    mirror, live = await both(api, synced, f"/{outside['id']}")
    assert mirror == live and mirror[0] == 404


async def test_outlook_get_of_an_exception_from_the_mirror(api: Api, fakes: Fakes) -> None:
    """An occurrence edited in Outlook (an exception) answers from the mirror by its occurrence
    id, moved a little; moved far (Graph looks for it within 31 days), from Graph."""
    account_id = await connect(api, fakes, "OUTLOOK")
    calendar = fakes.graph.default_calendar
    synced = Synced(api, account_id, calendar)
    series = graph_delta.user_creates(
        fakes.graph,
        calendar,
        timed("2027-01-11", 10, subject="Weekly", recurrence=weekly("2027-01-11", 6)),
    )
    second, third = (f"{series['id']}_{day}T090000Z" for day in ("20270118", "20270125"))
    graph_delta.user_changes(fakes.graph, second, {"subject": "Edited"} | timed("2027-01-19", 15))
    graph_delta.user_changes(fakes.graph, third, {"subject": "Far"} | timed("2027-03-10", 15))
    await synced.sync()
    for event_id in (second, third, f"{series['id']}_20270201T090000Z", f"{series['id']}_x"):
        mirror, live = await both(api, synced, f"/{event_id}")
        assert mirror == live, event_id
    mirror, _ = await both(api, synced, f"/{second}")
    assert (mirror[0], mirror[1]["title"], mirror[1]["master_event_id"]) == (
        200,
        "Edited",
        series["id"],
    )

    graph_delta.user_changes(fakes.graph, second, {"subject": "Again"})
    graph_delta.user_changes(fakes.graph, third, {"subject": "Far again"})
    assert (await synced.live(second))["title"] == "Edited"  # the mirror
    assert (await synced.live(third))["title"] == "Far again"  # Graph
    await synced.sync()
    assert (await synced.live(second))["title"] == "Again"
