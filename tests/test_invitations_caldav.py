"""A CalDAV server without server-side scheduling (Radicale) sends no invitations, so calgate
mails them itself, as for LOCAL accounts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from calgate.settings import Settings
from tests.conftest import Api
from tests.radicale import Radicale, radicale_fixture  # noqa: F401
from tests.smtp import SmtpSink, mail_settings, running_smtp
from tests.test_invitations import BODY, Cal, attendee_map, deliver

pytestmark = pytest.mark.anyio


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
        allow_loopback_urls=True,
        **mail_settings(smtp),
    )


@pytest.fixture
async def cal(api: Api, radicale: Radicale) -> Cal:
    user = radicale.add_user()
    radicale.make_calendar(user, "work", "Work")
    r = await api.call(
        "POST",
        "/api/v1/accounts",
        json={
            "provider": "CALDAV",
            "url": radicale.url,
            "username": user.name,
            "password": user.password,
            "email": "owner@example.org",
        },
    )
    assert r.status_code == 201, r.text
    account_id = r.json()["account_id"]
    caps = (await api.call("GET", f"/api/v1/accounts/{account_id}/capabilities")).json()
    assert caps["invitations"] == "calgate"
    calendars = (await api.call("GET", "/api/v1/calendars", account_id=account_id)).json()
    [work] = [c for c in calendars["data"] if c["name"] == "Work"]
    return Cal(api, account_id, work["id"])


async def test_caldav_without_scheduling_gets_imip_from_calgate(cal: Cal, smtp: SmtpSink) -> None:
    event_id = await cal.create({**BODY, "attendees": BODY["attendees"][:2]})
    event = await cal.get(event_id)
    assert event["notifications"] == "queued"
    assert await deliver(cal.api) == 2
    mails = await smtp.wait_for(2)
    assert sorted(m.rcpt_tos[0] for m in mails) == ["ada@example.org", "bob@example.org"]
    vevent = mails[0].vevent()
    assert str(mails[0].calendar()["METHOD"]) == "REQUEST"
    assert str(vevent["UID"]) == event["ical_uid"]
    assert str(vevent["ORGANIZER"]) == "mailto:owner@example.org"
    assert (await cal.get(event_id))["notifications"] == "sent"

    await cal.patch(event_id, {"attendees": [BODY["attendees"][0]], "location": "Room 7"})
    assert await deliver(cal.api) == 2
    update, cancel = sorted((await smtp.wait_for(4))[2:], key=lambda m: m.rcpt_tos[0])
    assert str(update.calendar()["METHOD"]) == "REQUEST"
    assert str(update.vevent()["LOCATION"]) == "Room 7"
    assert int(update.vevent()["SEQUENCE"]) == int(vevent["SEQUENCE"]) + 1
    assert str(cancel.calendar()["METHOD"]) == "CANCEL"
    assert set(attendee_map(cancel.vevent())) == {"bob@example.org"}

    await cal.delete(event_id)
    assert await deliver(cal.api) == 1
    [gone] = (await smtp.wait_for(5))[4:]
    assert gone.rcpt_tos == ["ada@example.org"]
    assert str(gone.calendar()["METHOD"]) == "CANCEL"
