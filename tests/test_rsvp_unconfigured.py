"""Without an SMTP server an answer to an invitation is still recorded (the PARTSTAT), and the
REPLY that cannot be mailed is said in the log, not queued."""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa

from calgate.store import tables
from tests.conftest import Api
from tests.test_invitations import organizer_calendar

pytestmark = pytest.mark.anyio
INVITATION = b"""BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//Organizer//EN\r
METHOD:REQUEST\r
BEGIN:VEVENT\r
UID:lunch-7@example.net\r
DTSTAMP:20260101T090000Z\r
DTSTART:20260302T120000Z\r
DTEND:20260302T130000Z\r
SUMMARY:Lunch\r
ORGANIZER:mailto:olga@example.net\r
ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:ada@example.org\r
END:VEVENT\r
END:VCALENDAR\r
"""


async def test_answer_recorded_and_the_unsent_reply_logged(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    assert api.runtime.mail is None
    ada = await organizer_calendar(api, "ada@example.org")
    r = await api.call(
        "POST",
        f"/api/v1/calendars/{ada.calendar_id}/ics",
        account_id=ada.account_id,
        content=INVITATION,
        headers={"content-type": "text/calendar"},
    )
    assert r.status_code == 200, r.text
    [event] = (await api.call("GET", ada.url, account_id=ada.account_id)).json()["data"]
    with caplog.at_level(logging.WARNING, logger="calgate.mail"):
        r = await api.call(
            "POST",
            f"{ada.url}/{event['id']}/rsvp",
            account_id=ada.account_id,
            json={"status": "yes"},
        )
    assert r.status_code == 204, r.text
    [me] = (await ada.get(event["id"]))["attendees"]
    assert me["response_status"] == "yes"
    assert "not mailed to olga@example.net" in caplog.text

    def mails(conn: sa.Connection) -> int:
        query = sa.select(sa.func.count()).where(tables.outbox.c.channel == "mail")
        return int(conn.execute(query).scalar_one())

    assert await api.runtime.db.read(mails) == 0
