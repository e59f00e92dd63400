"""A conference without a url on a CalDAV account gets a link from calgate's meeting service,
written to the server as an RFC 7986 CONFERENCE and read back."""

from __future__ import annotations

import re

import pytest

from calgate.settings import Settings
from tests.conftest import Api
from tests.contract.suite import Target, timed
from tests.radicale import Radicale, radicale_fixture

pytestmark = pytest.mark.anyio
__all__ = ["radicale_fixture"]
LINK = re.compile(r"^https://meet\.example\.org/(calgate-[A-Za-z0-9_-]{20,})$")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "allow_loopback_urls": True,
            "meeting_url_template": "https://meet.example.org/{room}",
        }
    )


async def test_caldav_event_gets_a_meeting_link(api: Api, radicale: Radicale) -> None:
    user = radicale.add_user()
    target = await Target.on_radicale(api, radicale, user)
    event_id = await target.create(
        {
            "title": "call",
            "conference": {"provider": "unknown"},
            **timed("2026-03-02T10:00:00", "2026-03-02T11:00:00"),
        }
    )
    conference = (await target.get(event_id))["conference"]
    match = LINK.match(conference["url"])
    assert match, conference
    assert conference["conference_id"] == match.group(1)
    raw = radicale.raw(user, f"/{user.name}/work/{event_id}.ics").replace("\r\n ", "")
    assert any(
        line.startswith("CONFERENCE;") and line.endswith(f":{conference['url']}")
        for line in raw.split("\r\n")
    )
