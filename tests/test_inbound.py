"""Attendees' answers mailed back to calgate (iMIP REPLY and COUNTER) through the HTTP route
that takes a raw RFC 5322 message: applied when UID, SEQUENCE, ATTENDEE and From match,
dropped with the reason otherwise; COUNTER proposals recorded, not applied."""

from __future__ import annotations

import datetime as dt
import smtplib
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import anyio
import icalendar
import pytest

from calgate.inbound.listener import listen
from calgate.settings import Settings
from tests.conftest import Api
from tests.receiver import Receiver, running_receiver
from tests.serve import free_port
from tests.smtp import SmtpSink, mail_settings, running_smtp
from tests.synckit import webhook
from tests.test_invitations import BODY, Cal, deliver, organizer_calendar

pytestmark = pytest.mark.anyio
ADA = "ada@example.org"


@pytest.fixture(name="smtp")
def smtp_fixture() -> Iterator[SmtpSink]:
    with running_smtp() as sink:
        yield sink


@pytest.fixture(name="receiver")
def receiver_fixture() -> Iterator[Receiver]:
    with running_receiver() as r:
        yield r


@pytest.fixture(name="settings")
def mail_settings_fixture(database_url: str, tmp_path: Path, smtp: SmtpSink) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path,
        sqlite_synchronous="NORMAL",
        allow_loopback_urls=True,
        **mail_settings(smtp),
    )


def _utc(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)


def imip(
    event: dict[str, Any],
    *,
    method: str = "REPLY",
    partstat: str = "ACCEPTED",
    attendee: str = ADA,
    sender: str = ADA,
    sequence: int | None = None,
    comment: str = "",
    recurrence_id: str | None = None,
    proposed: tuple[str, str] | None = None,
) -> bytes:
    """The mail an attendee's calendar client sends: a REPLY (or COUNTER) for ``event``."""
    calendar = icalendar.Calendar()
    calendar.add("PRODID", "-//Test client//EN")
    calendar.add("VERSION", "2.0")
    calendar.add("METHOD", method)
    vevent = icalendar.Event()
    vevent.add("UID", event["ical_uid"])
    vevent.add("SEQUENCE", event.get("sequence", 0) if sequence is None else sequence)
    vevent.add("DTSTAMP", _utc("20260101T120000Z"))
    vevent.add("ORGANIZER", f"mailto:{event['organizer']['email']}")
    who = icalendar.vCalAddress(f"mailto:{attendee}")
    who.params["PARTSTAT"] = partstat
    vevent.add("ATTENDEE", who)
    if comment:
        vevent.add("COMMENT", comment)
    if recurrence_id is not None:
        vevent.add("RECURRENCE-ID", _utc(recurrence_id))
    if proposed is not None:
        vevent.add("DTSTART", _utc(proposed[0]))
        vevent.add("DTEND", _utc(proposed[1]))
    calendar.add_component(vevent)
    msg = EmailMessage()
    msg["From"] = f"Ada Lovelace <{sender}>"
    msg["To"] = event["organizer"]["email"]
    msg["Subject"] = f"{partstat.title()}: {event['title']}"
    msg.set_content(f"{sender} answered.")
    msg.add_alternative(calendar.to_ical().decode(), subtype="calendar", params={"method": method})
    return msg.as_bytes()


async def post_mail(api: Api, raw: bytes, **headers: str) -> Any:
    return await api.call(
        "POST",
        "/api/v1/inbound/mail",
        content=raw,
        headers={"content-type": "message/rfc822", **headers},
    )


def answer_of(event: dict[str, Any], email: str) -> tuple[str, str]:
    [a] = [a for a in event["attendees"] if a["email"] == email]
    return a["response_status"], a["comment"]


async def invited_event(cal: Cal, **extra: Any) -> dict[str, Any]:
    event_id = await cal.create({**BODY, "attendees": BODY["attendees"][:2], **extra})
    return await cal.get(event_id)  # a new event: SEQUENCE 0


async def test_a_reply_sets_the_attendee_answer_and_reaches_webhooks(
    api: Api, smtp: SmtpSink, receiver: Receiver
) -> None:
    olga = await organizer_calendar(api)
    event = await invited_event(olga)
    await deliver(api)  # the invitations
    await webhook(api, receiver)

    r = await post_mail(api, imip(event, comment="With pleasure"))
    assert r.status_code == 202, r.text
    assert r.json() == {
        "object": "InboundMailAccepted",
        "method": "REPLY",
        "account_id": olga.account_id,
        "event_id": event["id"],
        "attendee": ADA,
        "response_status": "yes",
    }
    after = await olga.get(event["id"])
    assert answer_of(after, ADA) == ("yes", "With pleasure")
    assert answer_of(after, "bob@example.org") == ("noreply", "")
    sent = len(smtp.messages())
    assert await deliver(api) == 1  # the webhook; no new invitation for an answer
    assert len(smtp.messages()) == sent
    [hook] = await receiver.wait_for(1)
    assert hook.json()["event"] == "calendar_event_updated"
    assert answer_of(hook.json(), ADA) == ("yes", "With pleasure")

    r = await post_mail(api, imip(event, partstat="DECLINED"))
    assert r.status_code == 202, r.text
    assert answer_of(await olga.get(event["id"]), ADA) == ("no", "")


async def test_what_does_not_match_is_dropped_with_the_reason(api: Api, smtp: SmtpSink) -> None:
    olga = await organizer_calendar(api)
    event = await invited_event(olga)
    unknown = {**event, "ical_uid": "someone-else@example.net"}
    cases = [
        (imip(event, sender="mallory@example.net"), "is not the ATTENDEE"),
        (imip(unknown), "no invitation for UID"),
        (imip(event, attendee="carol@example.org", sender="carol@example.org"), "not an attendee"),
        (imip(event, method="REQUEST"), "not a REPLY or COUNTER"),
        (imip(event, partstat="NEEDS-ACTION"), "PARTSTAT"),
        (b"From: ada@example.org\r\nSubject: hi\r\n\r\nJust text\r\n", "no text/calendar part"),
    ]
    for raw, reason in cases:
        r = await post_mail(api, raw)
        assert r.status_code == 400, r.text
        assert r.json()["type"] == "errors/invalid_parameters"
        assert reason in r.json()["detail"], (reason, r.text)
    # A reply to an older version of the event (before the time changed) is not applied.
    await olga.patch(event["id"], {"location": "Room 9"})
    r = await post_mail(api, imip(event, sequence=0))
    assert r.status_code == 400 and "older than the event's 1" in r.json()["detail"], r.text
    r = await post_mail(api, imip(event, sequence=1))
    assert r.status_code == 202, r.text
    # Other media types, and no API key.
    r = await post_mail(api, imip(event), **{"content-type": "application/json"})
    assert r.status_code == 415, r.text
    r = await api.client.post(
        "/api/v1/inbound/mail", content=imip(event), headers={"content-type": "message/rfc822"}
    )
    assert r.status_code == 401, r.text


async def test_a_tenant_cannot_answer_another_tenants_event(api: Api, smtp: SmtpSink) -> None:
    olga = await organizer_calendar(api)
    event = await invited_event(olga)
    r = await api.call(
        "POST",
        "/api/v1/inbound/mail",
        tenant=api.b,
        content=imip(event),
        headers={"content-type": "message/rfc822"},
    )
    assert r.status_code == 400 and "no invitation for UID" in r.json()["detail"], r.text
    assert answer_of(await olga.get(event["id"]), ADA) == ("noreply", "")


async def test_an_occurrence_reply_changes_that_occurrence(api: Api, smtp: SmtpSink) -> None:
    olga = await organizer_calendar(api)
    event = await invited_event(olga, recurrence=["RRULE:FREQ=WEEKLY;COUNT=3"])
    # The second occurrence: 2026-01-27 14:30 Paris = 13:30 UTC.
    r = await post_mail(api, imip(event, partstat="TENTATIVE", recurrence_id="20260127T133000Z"))
    assert r.status_code == 202, r.text
    occurrence = r.json()["event_id"]
    assert occurrence.startswith(event["id"] + "_")
    assert answer_of(await olga.get(occurrence), ADA)[0] == "maybe"
    assert answer_of(await olga.get(event["id"]), ADA)[0] == "noreply"


async def test_a_counter_is_recorded_not_applied(api: Api, smtp: SmtpSink) -> None:
    olga = await organizer_calendar(api)
    event = await invited_event(olga)
    raw = imip(
        event,
        method="COUNTER",
        partstat="TENTATIVE",
        comment="Could we start later?",
        proposed=("20260120T150000Z", "20260120T160000Z"),
    )
    r = await post_mail(api, raw)
    assert r.status_code == 202, r.text
    assert r.json()["method"] == "COUNTER"
    proposal_id = r.json()["proposal_id"]
    after = await olga.get(event["id"])
    assert after["start"] == event["start"] and answer_of(after, ADA)[0] == "noreply"
    r = await api.call("GET", f"{olga.url}/{event['id']}/proposals", account_id=olga.account_id)
    assert r.status_code == 200, r.text
    [proposal] = r.json()["items"]
    assert proposal["id"] == proposal_id
    assert proposal["object"] == "EventProposal"
    assert proposal["attendee"] == ADA
    assert (proposal["start"], proposal["end"]) == ("2026-01-20T15:00:00Z", "2026-01-20T16:00:00Z")
    assert proposal["comment"] == "Could we start later?"
    r = await api.call("GET", f"{olga.url}/nope/proposals", account_id=olga.account_id)
    assert r.status_code == 404, r.text


async def test_the_lmtp_listener_applies_a_reply(api: Api, smtp: SmtpSink) -> None:
    olga = await organizer_calendar(api)
    event = await invited_event(olga)
    port = free_port()
    server = await listen(api.runtime.inbound, "127.0.0.1", port, lmtp=True)
    try:

        def send() -> dict[str, Any]:
            with smtplib.LMTP("127.0.0.1", port) as client:
                return client.sendmail(ADA, ["olga@example.org"], imip(event, partstat="DECLINED"))

        assert await anyio.to_thread.run_sync(send) == {}
    finally:
        server.close()
        await server.wait_closed()
    assert answer_of(await olga.get(event["id"]), ADA) == ("no", "")


async def test_a_reply_to_an_account_without_address(api: Api, smtp: SmtpSink) -> None:
    """An account connected without `email` invites in the name of `mail_from`: the replies
    to its events are its own."""
    r = await api.call("POST", "/api/v1/accounts", json={"provider": "LOCAL", "name": "Desk"})
    account_id = r.json()["account_id"]
    r = await api.call("GET", "/api/v1/calendars", account_id=account_id)
    desk = Cal(api, account_id, r.json()["data"][0]["id"])
    event = await invited_event(desk)
    event["organizer"] = {"email": "calendar@calgate.test"}  # mail_from: the invitations' ORGANIZER
    r = await post_mail(api, imip(event, partstat="TENTATIVE"))
    assert r.status_code == 202, r.text
    assert answer_of(await desk.get(event["id"]), ADA)[0] == "maybe"
