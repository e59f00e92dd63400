"""A LOCAL read skips the calendar check for a calendar it knows (issue 14): a calendar deleted
by another process (its events with it) must still answer the calendar's 404, not the
event's, and a list of it a 404, not an empty page."""

from __future__ import annotations

from typing import Any

import pytest

from calgate.store import accounts as account_store
from tests.conftest import SEED_BODY, Api

pytestmark = pytest.mark.anyio


async def _gone_elsewhere(api: Api) -> None:
    """The calendar and its events deleted without this process's provider knowing."""
    calendar_id = api.a.calendar_id
    await api.runtime.db.write(lambda c: account_store.delete_calendar(c, calendar_id))


def _calendar_404(body: dict[str, Any]) -> bool:
    return body["status"] == 404 and body["detail"].startswith("calendar ")


async def test_a_read_of_a_calendar_deleted_elsewhere_is_the_calendars_404(api: Api) -> None:
    event_id = await api.create(SEED_BODY)
    await api.get(event_id)  # the calendar is known now
    listed = await api.call("GET", api.events_url())
    assert listed.status_code == 200 and listed.json()["data"]
    await _gone_elsewhere(api)
    got = await api.call("GET", f"{api.events_url()}/{event_id}")
    assert got.status_code == 404 and _calendar_404(got.json()), got.text
    listed = await api.call("GET", api.events_url())
    assert listed.status_code == 404 and _calendar_404(listed.json()), listed.text


async def test_another_accounts_calendar_is_checked_even_when_known(api: Api) -> None:
    event_id = await api.create(SEED_BODY)
    await api.get(event_id)
    got = await api.call(
        "GET", f"{api.events_url()}/{event_id}", tenant=api.b, account_id=api.b.account_id
    )
    assert got.status_code == 404 and _calendar_404(got.json()), got.text
    listed = await api.call("GET", api.events_url(), tenant=api.b, account_id=api.b.account_id)
    assert listed.status_code == 404 and _calendar_404(listed.json()), listed.text
