"""Conferencing on LOCAL accounts: a given link is kept; without one, calgate's meeting service
(`meeting_url_template`) makes a link with an unguessable room; without a template, 501."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from calgate.meetings import MeetingLinks
from calgate.runtime import Runtime
from calgate.settings import Settings
from tests.conftest import Api
from tests.smtp import SmtpSink, mail_settings, running_smtp
from tests.test_invitations import BODY, deliver

pytestmark = pytest.mark.anyio

TEMPLATE = "https://meet.example.org/{room}#config.startWithVideoMuted=true"
LINK = re.compile(r"^https://meet\.example\.org/(calgate-[A-Za-z0-9_-]{22})#config\.startWith")


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    with running_smtp() as sink:
        yield sink


@pytest.fixture
def settings(database_url: str, tmp_path: Path, smtp: SmtpSink) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path,
        sqlite_synchronous="NORMAL",
        meeting_url_template=TEMPLATE,
        **mail_settings(smtp),
    )


EVENT: dict[str, Any] = {
    "title": "Call",
    "start": {"date_time": "2026-02-02T09:00:00Z"},
    "end": {"date_time": "2026-02-02T09:30:00Z"},
}


async def test_given_url_is_stored_and_returned(api: Api) -> None:
    conference = {"provider": "zoom", "url": "https://zoom.example.org/j/42", "conference_id": "42"}
    event_id = await api.create({**EVENT, "conference": conference})
    assert (await api.get(event_id))["conference"] == conference


async def test_meeting_service_makes_an_unguessable_link(api: Api) -> None:
    first = await api.create({**EVENT, "conference": {"provider": "unknown"}})
    second = await api.create({**EVENT, "conference": {"provider": "unknown"}})
    a = (await api.get(first))["conference"]
    b = (await api.get(second))["conference"]
    match_a, match_b = LINK.match(a["url"]), LINK.match(b["url"])
    assert match_a and match_b, (a, b)
    assert a["provider"] == "unknown"
    assert a["conference_id"] == match_a.group(1)
    assert match_a.group(1) != match_b.group(1)


async def test_patch_without_url_makes_a_new_link(api: Api) -> None:
    event_id = await api.create(EVENT)
    assert (await api.get(event_id))["conference"] is None
    r = await api.call(
        "PATCH", f"{api.events_url()}/{event_id}", json={"conference": {"provider": "unknown"}}
    )
    assert r.status_code == 200, r.text
    assert LINK.match((await api.get(event_id))["conference"]["url"])


async def test_kinds_local_cannot_create_are_501_naming_them(api: Api) -> None:
    for kind in ("google_meet", "teams", "zoom"):
        r = await api.call(
            "POST", api.events_url(), json={**EVENT, "conference": {"provider": kind}}
        )
        assert r.status_code == 501, r.text
        assert r.json()["type"] == "errors/feature_not_implemented"
        assert f"cannot create a {kind} meeting" in r.json()["detail"]


async def test_capabilities_show_the_meeting_service(api: Api) -> None:
    r = await api.call("GET", f"/api/v1/accounts/{api.a.account_id}/capabilities")
    assert r.status_code == 200
    assert r.json()["conference_links"] == ["unknown"]
    assert r.json()["conference_create"] == []


async def test_invitation_carries_the_link(api: Api, smtp: SmtpSink) -> None:
    event_id = await api.create(
        {
            **EVENT,
            "conference": {"provider": "unknown"},
            "attendees": BODY["attendees"][:1],
            "notify": True,
        }
    )
    url = (await api.get(event_id))["conference"]["url"]
    await deliver(api)
    [mail] = await smtp.wait_for(1)
    assert f"Join: {url}" in mail.text()
    conference = mail.vevent()["CONFERENCE"]
    assert str(conference) == url
    assert conference.params["FEATURE"] == "VIDEO"


def test_template_is_checked() -> None:
    with pytest.raises(ValueError, match=r"must contain \{room\}"):
        MeetingLinks("https://meet.example.org/fixed")
    with pytest.raises(ValueError, match="http"):
        MeetingLinks("ftp://meet.example.org/{room}")
    with pytest.raises(ValueError, match="space or control"):
        MeetingLinks("https://meet.example.org/{room}\r\nX: y")
    rooms = {MeetingLinks("https://m.example.org/{room}").create("unknown").url for _ in range(50)}
    assert len(rooms) == 50


class TestWithoutTemplate:
    @pytest.fixture
    def settings(self, database_url: str, tmp_path: Path) -> Settings:
        return Settings(database_url=database_url, data_dir=tmp_path, sqlite_synchronous="NORMAL")

    async def test_no_template_is_501_naming_the_setting(self, api: Api) -> None:
        r = await api.call(
            "POST", api.events_url(), json={**EVENT, "conference": {"provider": "unknown"}}
        )
        assert r.status_code == 501, r.text
        body = r.json()
        assert body["type"] == "errors/feature_not_implemented"
        assert "meeting_url_template" in body["detail"]
        assert "CALGATE_MEETING_URL_TEMPLATE" in body["detail"]


def test_bad_template_stops_start_up(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="meeting_url_template"):
        Runtime.build(Settings(data_dir=tmp_path, meeting_url_template="https://x.example/"))
