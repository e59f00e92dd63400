"""iMIP invitations for LOCAL accounts, received by a real SMTP server (aiosmtpd) and read back
with the `email` package and `icalendar`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from calgate.settings import Settings
from calgate.store import tables
from tests.conftest import Api
from tests.smtp import SmtpSink, mail_settings, running_smtp

pytestmark = pytest.mark.anyio
PARIS = ZoneInfo("Europe/Paris")


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
        **mail_settings(smtp),
    )


@dataclass
class Cal:
    api: Api
    account_id: str
    calendar_id: str

    @property
    def url(self) -> str:
        return f"/api/v1/calendars/{self.calendar_id}/events"

    async def create(self, body: dict[str, Any]) -> str:
        r = await self.api.call("POST", self.url, json=body, account_id=self.account_id)
        assert r.status_code == 200, r.text
        event_id: str = r.json()["event_id"]
        return event_id

    async def get(self, event_id: str) -> dict[str, Any]:
        r = await self.api.call("GET", f"{self.url}/{event_id}", account_id=self.account_id)
        assert r.status_code == 200, r.text
        data: dict[str, Any] = r.json()
        return data

    async def patch(self, event_id: str, body: dict[str, Any]) -> None:
        r = await self.api.call(
            "PATCH", f"{self.url}/{event_id}", json=body, account_id=self.account_id
        )
        assert r.status_code == 200, r.text

    async def delete(self, event_id: str) -> None:
        r = await self.api.call("DELETE", f"{self.url}/{event_id}", account_id=self.account_id)
        assert r.status_code == 200, r.text


async def organizer_calendar(api: Api, email: str = "olga@example.org") -> Cal:
    r = await api.call(
        "POST",
        "/api/v1/accounts",
        json={"provider": "LOCAL", "name": "Olga Organizer", "email": email},
    )
    assert r.status_code == 201, r.text
    account_id = r.json()["account_id"]
    r = await api.call("GET", "/api/v1/calendars", account_id=account_id)
    return Cal(api, account_id, r.json()["data"][0]["id"])


@pytest.fixture
async def cal(api: Api) -> Cal:
    return await organizer_calendar(api)


async def deliver(api: Api) -> int:
    worker = api.runtime.worker()
    try:
        return await worker.run_once()
    finally:
        await worker.aclose()


BODY: dict[str, Any] = {
    "title": "Team sync",
    "body": "Agenda in the doc",
    "location": "Room 4",
    "start": {"date_time": "2026-01-20T14:30:00", "time_zone": "Europe/Paris"},
    "end": {"date_time": "2026-01-20T15:30:00", "time_zone": "Europe/Paris"},
    "attendees": [
        {"email": "ada@example.org", "display_name": "Ada Lovelace"},
        {"email": "bob@example.org", "optional": True},
        {"email": "olga@example.org", "display_name": "Olga Organizer"},
    ],
    "notify": True,
}


def attendee_map(vevent: Any) -> dict[str, Any]:
    found = vevent.get("ATTENDEE")
    items = found if isinstance(found, list) else [found] if found is not None else []
    return {str(a).removeprefix("mailto:"): a for a in items}


async def test_create_sends_one_request_per_attendee(cal: Cal, smtp: SmtpSink) -> None:
    event_id = await cal.create(BODY)
    event = await cal.get(event_id)
    assert event["notifications"] == "queued"
    assert smtp.messages() == []

    assert await deliver(cal.api) == 2
    mails = await smtp.wait_for(2)
    assert sorted(m.rcpt_tos[0] for m in mails) == ["ada@example.org", "bob@example.org"]
    assert (await cal.get(event_id))["notifications"] == "sent"

    ada = smtp.to("ada@example.org")[0]
    assert ada.rcpt_tos == ["ada@example.org"]
    assert ada.mail_from == "calendar@calgate.test"
    msg = ada.message()
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/calendar"]
    assert (
        msg["Subject"]
        == "Invitation: Team sync @ Tue 20 Jan 2026 14:30 \u2013 15:30 (Europe/Paris)"
    )
    assert msg["From"].addresses[0].addr_spec == "calendar@calgate.test"
    assert msg["From"].addresses[0].display_name == "Olga Organizer"
    assert msg["Reply-To"].addresses[0].addr_spec == "olga@example.org"
    assert msg["To"].addresses[0].addr_spec == "ada@example.org"
    assert msg["To"].addresses[0].display_name == "Ada Lovelace"
    assert msg["Message-ID"].endswith("@calgate.test>")
    calendar_part = ada.part("text/calendar")
    assert calendar_part.get_param("method") == "REQUEST"
    assert calendar_part.get_content_charset() == "utf-8"

    cal_obj = ada.calendar()
    assert str(cal_obj["METHOD"]) == "REQUEST"
    vevent = ada.vevent()
    assert str(vevent["UID"]) == event["ical_uid"]
    assert int(vevent["SEQUENCE"]) == 0
    assert str(vevent["SUMMARY"]) == "Team sync"
    assert str(vevent["LOCATION"]) == "Room 4"
    assert str(vevent["DESCRIPTION"]) == "Agenda in the doc"
    assert vevent["DTSTART"].dt == dt.datetime(2026, 1, 20, 14, 30, tzinfo=PARIS)
    assert vevent["DTEND"].dt == dt.datetime(2026, 1, 20, 15, 30, tzinfo=PARIS)
    assert vevent["DTSTART"].params["TZID"] == "Europe/Paris"
    assert vevent["DTSTAMP"].dt.tzinfo is not None
    organizer = vevent["ORGANIZER"]
    assert str(organizer) == "mailto:olga@example.org"
    assert organizer.params["CN"] == "Olga Organizer"
    attendees = attendee_map(vevent)
    assert set(attendees) == {"ada@example.org", "bob@example.org", "olga@example.org"}
    assert attendees["ada@example.org"].params["RSVP"] == "TRUE"
    assert attendees["ada@example.org"].params["ROLE"] == "REQ-PARTICIPANT"
    assert attendees["ada@example.org"].params["PARTSTAT"] == "NEEDS-ACTION"
    assert attendees["bob@example.org"].params["ROLE"] == "OPT-PARTICIPANT"
    assert calendar_part.get_content().count("BEGIN:VTIMEZONE") == 1

    text = ada.text()
    assert "Olga Organizer invites you to this event." in text
    assert "When: Tue 20 Jan 2026 14:30 \u2013 15:30 (Europe/Paris)" in text
    assert "Where: Room 4" in text
    assert "bob@example.org" in text  # the list is not hidden


async def test_message_id_is_the_delivery_id(cal: Cal, smtp: SmtpSink) -> None:
    event_id = await cal.create({**BODY, "attendees": BODY["attendees"][:1]})
    await deliver(cal.api)
    [mail] = await smtp.wait_for(1)

    def op(conn: sa.Connection) -> list[Any]:
        o = tables.outbox
        query = sa.select(o.c.id, o.c.status).where(o.c.event_id == event_id)
        return list(conn.execute(query))

    [row] = await cal.api.runtime.db.read(op)
    assert row.status == "delivered"
    assert mail.message()["Message-ID"] == f"<{row.id}@calgate.test>"


async def test_notify_false_sends_nothing(cal: Cal, smtp: SmtpSink) -> None:
    event_id = await cal.create({**BODY, "notify": False})
    await cal.patch(event_id, {"location": "Room 5"})
    await cal.delete(event_id)
    assert await deliver(cal.api) == 0
    assert smtp.attempts == []


async def test_notify_false_event_reports_none(cal: Cal) -> None:
    event_id = await cal.create({**BODY, "notify": False})
    assert (await cal.get(event_id))["notifications"] == "none"
    no_attendees = await cal.create({**BODY, "attendees": []})
    assert (await cal.get(no_attendees))["notifications"] == "none"


async def test_patch_sends_update_and_cancels_removed_attendees(cal: Cal, smtp: SmtpSink) -> None:
    event_id = await cal.create(BODY)
    await deliver(cal.api)
    await smtp.wait_for(2)

    await cal.patch(
        event_id,
        {
            "start": {"date_time": "2026-01-20T16:00:00", "time_zone": "Europe/Paris"},
            "end": {"date_time": "2026-01-20T17:00:00", "time_zone": "Europe/Paris"},
            "attendees": [
                {"email": "ada@example.org", "display_name": "Ada Lovelace"},
                {"email": "carol@example.org"},
            ],
        },
    )
    assert (await cal.get(event_id))["notifications"] == "queued"
    assert await deliver(cal.api) == 3
    mails = (await smtp.wait_for(5))[2:]
    by_rcpt = {m.rcpt_tos[0]: m for m in mails}
    assert set(by_rcpt) == {"ada@example.org", "carol@example.org", "bob@example.org"}

    for address in ("ada@example.org", "carol@example.org"):
        mail = by_rcpt[address]
        assert str(mail.calendar()["METHOD"]) == "REQUEST"
        vevent = mail.vevent()
        assert int(vevent["SEQUENCE"]) == 1
        assert vevent["DTSTART"].dt == dt.datetime(2026, 1, 20, 16, 0, tzinfo=PARIS)
        assert vevent["DTEND"].dt == dt.datetime(2026, 1, 20, 17, 0, tzinfo=PARIS)
        assert set(attendee_map(vevent)) == {"ada@example.org", "carol@example.org"}
        assert mail.message()["Subject"].startswith("Updated invitation: Team sync @ ")

    bob = by_rcpt["bob@example.org"]
    assert str(bob.calendar()["METHOD"]) == "CANCEL"
    assert bob.part("text/calendar").get_param("method") == "CANCEL"
    vevent = bob.vevent()
    assert int(vevent["SEQUENCE"]) == 1
    assert str(vevent["STATUS"]) == "CANCELLED"
    assert set(attendee_map(vevent)) == {"bob@example.org"}
    assert str(vevent["UID"]) == (await cal.get(event_id))["ical_uid"]
    assert bob.message()["Subject"].startswith("Removed: Team sync @ ")
    assert (await cal.get(event_id))["notifications"] == "sent"


async def test_minor_patch_sends_nothing_and_keeps_the_state(cal: Cal, smtp: SmtpSink) -> None:
    event_id = await cal.create(BODY)
    await deliver(cal.api)
    await smtp.wait_for(2)
    await cal.patch(event_id, {"color": "#D50000", "body": "New agenda"})
    await cal.patch(event_id, {"location": "Room 4"})  # the same place: no change
    assert await deliver(cal.api) == 0
    assert len(smtp.attempts) == 2
    assert (await cal.get(event_id))["notifications"] == "sent"


async def test_turning_notify_on_sends_the_invitations(cal: Cal, smtp: SmtpSink) -> None:
    event_id = await cal.create({**BODY, "notify": False})
    await cal.patch(event_id, {"notify": True})
    assert await deliver(cal.api) == 2
    mails = await smtp.wait_for(2)
    assert {str(m.calendar()["METHOD"]) for m in mails} == {"REQUEST"}
    assert (await cal.get(event_id))["notifications"] == "sent"


async def test_patch_with_notify_false_sends_nothing(cal: Cal, smtp: SmtpSink) -> None:
    event_id = await cal.create(BODY)
    await deliver(cal.api)
    await smtp.wait_for(2)
    await cal.patch(event_id, {"location": "Room 9", "notify": False})
    assert await deliver(cal.api) == 0
    assert len(smtp.attempts) == 2
    assert (await cal.get(event_id))["notifications"] == "none"


async def test_delete_sends_cancel(cal: Cal, smtp: SmtpSink) -> None:
    event_id = await cal.create(BODY)
    uid = (await cal.get(event_id))["ical_uid"]
    await deliver(cal.api)
    await smtp.wait_for(2)
    await cal.delete(event_id)
    assert await deliver(cal.api) == 2
    mails = (await smtp.wait_for(4))[2:]
    assert sorted(m.rcpt_tos[0] for m in mails) == ["ada@example.org", "bob@example.org"]
    for mail in mails:
        assert str(mail.calendar()["METHOD"]) == "CANCEL"
        vevent = mail.vevent()
        assert str(vevent["UID"]) == uid
        assert int(vevent["SEQUENCE"]) == 1
        assert str(vevent["STATUS"]) == "CANCELLED"
        assert "RECURRENCE-ID" not in vevent
        assert mail.message()["Subject"].startswith("Cancelled: Team sync @ ")


async def test_delete_occurrence_sends_cancel_with_recurrence_id(cal: Cal, smtp: SmtpSink) -> None:
    event_id = await cal.create({**BODY, "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=4"]})
    await deliver(cal.api)
    first = await smtp.wait_for(2)
    assert str(first[0].vevent()["RRULE"].to_ical().decode()) == "FREQ=WEEKLY;COUNT=4"
    uid = (await cal.get(event_id))["ical_uid"]

    await cal.delete(f"{event_id}_20260127T133000Z")
    assert await deliver(cal.api) == 2
    mails = (await smtp.wait_for(4))[2:]
    for mail in mails:
        assert str(mail.calendar()["METHOD"]) == "CANCEL"
        vevent = mail.vevent()
        assert str(vevent["UID"]) == uid
        assert vevent["RECURRENCE-ID"].dt == dt.datetime(2026, 1, 27, 14, 30, tzinfo=PARIS)
        assert vevent["DTSTART"].dt == dt.datetime(2026, 1, 27, 14, 30, tzinfo=PARIS)
        assert int(vevent["SEQUENCE"]) == 1
        assert "RRULE" not in vevent
        assert "(this occurrence only)" in mail.text()


async def test_hidden_attendee_list_stays_hidden(cal: Cal, smtp: SmtpSink) -> None:
    await cal.create({**BODY, "is_attendees_list_hidden": True})
    await deliver(cal.api)
    mails = await smtp.wait_for(2)
    for mail in mails:
        me = mail.rcpt_tos[0]
        other = ({"ada@example.org", "bob@example.org"} - {me}).pop()
        assert set(attendee_map(mail.vevent())) == {me}
        assert other.encode() not in mail.data
        assert other not in mail.text()
        assert "olga@example.org" in mail.text()  # the organizer is not hidden


async def test_organizer_defaults_to_mail_from(api: Api, smtp: SmtpSink) -> None:
    # The first-start account has no address of its own.
    event_id = await api.create({**BODY, "attendees": BODY["attendees"][:1]})
    await deliver(api)
    [mail] = await smtp.wait_for(1)
    organizer = mail.vevent()["ORGANIZER"]
    assert str(organizer) == "mailto:calendar@calgate.test"
    assert mail.message()["Reply-To"] is None
    # Never null (issue 11): the account's own (empty) address and name.
    assert (await api.get(event_id))["organizer"] == {"email": "", "display_name": "My calendar"}


async def test_all_day_event_times(cal: Cal, smtp: SmtpSink) -> None:
    await cal.create(
        {
            **BODY,
            "attendees": BODY["attendees"][:1],
            "start": {"date": "2026-03-02"},
            "end": {"date": "2026-03-04"},
        }
    )
    await deliver(cal.api)
    [mail] = await smtp.wait_for(1)
    vevent = mail.vevent()
    assert vevent["DTSTART"].dt == dt.date(2026, 3, 2)
    assert vevent["DTEND"].dt == dt.date(2026, 3, 4)
    assert "Mon 02 Mar 2026 \u2013 Tue 03 Mar 2026 (all day)" in mail.message()["Subject"]


async def test_occurrence_update_sends_request_for_that_occurrence(
    cal: Cal, smtp: SmtpSink
) -> None:
    event_id = await cal.create({**BODY, "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=4"]})
    await deliver(cal.api)
    await smtp.wait_for(2)
    await cal.patch(f"{event_id}_20260203T133000Z", {"location": "Room 12"})
    assert await deliver(cal.api) == 2
    for mail in (await smtp.wait_for(4))[2:]:
        vevent = mail.vevent()
        assert str(mail.calendar()["METHOD"]) == "REQUEST"
        assert vevent["RECURRENCE-ID"].dt == dt.datetime(2026, 2, 3, 14, 30, tzinfo=PARIS)
        assert str(vevent["LOCATION"]) == "Room 12"
        assert int(vevent["SEQUENCE"]) == 1
