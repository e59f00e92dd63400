"""An event's `version` is a string, like a calendar's (one type for both): an opaque token that
changes with every change. `If-Match` takes it as sent, quoted or not, so that clients that sent
the old integer keep working."""

from __future__ import annotations

import pytest

from tests.conftest import SEED_BODY, Api

pytestmark = pytest.mark.anyio


async def test_event_and_calendar_versions_are_strings(api: Api) -> None:
    event_id = await api.create(SEED_BODY)
    event = await api.get(event_id)
    assert event["version"] == "1"
    listed = await api.call("GET", api.events_url())
    assert [e["version"] for e in listed.json()["data"]] == ["1"]
    calendar = await api.call("GET", f"/api/v1/calendars/{api.a.calendar_id}")
    assert isinstance(calendar.json()["version"], str)


@pytest.mark.parametrize("form", ["{v}", '"{v}"', 'W/"{v}"'])
async def test_if_match_takes_the_version_quoted_or_not(api: Api, form: str) -> None:
    event_id = await api.create(SEED_BODY)
    url = f"{api.events_url()}/{event_id}"
    version = (await api.get(event_id))["version"]
    ok = await api.call(
        "PATCH", url, json={"location": "Room 9"}, headers={"If-Match": form.format(v=version)}
    )
    assert ok.status_code == 200, ok.text
    assert (await api.get(event_id))["version"] == str(int(version) + 1)
    stale = await api.call(
        "PATCH", url, json={"location": "Room 1"}, headers={"If-Match": form.format(v=version)}
    )
    assert stale.status_code == 409, stale.text


async def test_a_version_that_is_not_one_is_a_400(api: Api) -> None:
    event_id = await api.create(SEED_BODY)
    r = await api.call(
        "PATCH",
        f"{api.events_url()}/{event_id}",
        json={"location": "x"},
        headers={"If-Match": "yesterday"},
    )
    assert r.status_code == 400
    assert r.json()["detail"].startswith("If-Match")
