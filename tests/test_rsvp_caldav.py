"""RSVP and attendees' replies on CalDAV (a real Radicale): without server scheduling the
account's PARTSTAT is written and calgate mails the REPLY; with RFC 6638 scheduling the server
tells the organizer, so calgate only writes the PARTSTAT; a REPLY mailed to an organizer whose
calendar is on CalDAV changes the attendee's PARTSTAT on the server."""

from __future__ import annotations

from typing import Any

import icalendar
import pytest

from tests.conftest import Api
from tests.radicale import Radicale, User, proxy_to, radicale_fixture  # noqa: F401
from tests.smtp import SmtpSink
from tests.test_inbound import (  # noqa: F401 - fixtures
    imip,
    mail_settings_fixture,
    post_mail,
    smtp_fixture,
)
from tests.test_invitations import BODY, Cal, attendee_map, deliver

pytestmark = pytest.mark.anyio
ME = "owner@example.org"
INVITATION = """BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//Organizer//EN\r
BEGIN:VEVENT\r
UID:planning-42@example.net\r
DTSTAMP:20260101T090000Z\r
DTSTART:20260302T090000Z\r
DTEND:20260302T100000Z\r
SEQUENCE:2\r
SUMMARY:Planning\r
ORGANIZER;CN=Olga:mailto:olga@example.net\r
ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:owner@example.org\r
ATTENDEE;PARTSTAT=ACCEPTED:mailto:bob@example.net\r
END:VEVENT\r
END:VCALENDAR\r
"""


@pytest.fixture
def user(radicale: Radicale) -> User:
    user = radicale.add_user()
    radicale.make_calendar(user, "work", "Work")
    with radicale.client(user) as c:
        r = c.put(
            f"/{user.name}/work/planning.ics",
            content=INVITATION.encode(),
            headers={"content-type": "text/calendar"},
        )
        assert r.status_code == 201, r.text
    return user


async def connect(api: Api, url: str, user: User) -> Cal:
    body = {"provider": "CALDAV", "url": url, "username": user.name, "password": user.password}
    r = await api.call("POST", "/api/v1/accounts", json={**body, "email": ME})
    assert r.status_code == 201, r.text
    account_id = r.json()["account_id"]
    calendars = (await api.call("GET", "/api/v1/calendars", account_id=account_id)).json()
    [work] = [c for c in calendars["data"] if c["name"] == "Work"]
    return Cal(api, account_id, work["id"])


def partstats(radicale: Radicale, user: User, name: str) -> dict[str, str]:
    vevent = icalendar.Calendar.from_ical(radicale.raw(user, f"/{user.name}/work/{name}"))
    [event] = vevent.walk("VEVENT")
    return {k: v.params.get("PARTSTAT", "") for k, v in attendee_map(event).items()}


async def answer(cal: Cal, event_id: str, body: dict[str, Any]) -> Any:
    url = f"{cal.url}/{event_id}/rsvp"
    return await cal.api.call("POST", url, account_id=cal.account_id, json=body)


async def test_without_scheduling_partstat_and_a_mailed_reply(
    api: Api, radicale: Radicale, user: User, smtp: SmtpSink
) -> None:
    cal = await connect(api, radicale.url, user)
    r = await answer(cal, "planning", {"status": "no", "comment": "Away that week"})
    assert r.status_code == 204, r.text
    assert partstats(radicale, user, "planning.ics") == {
        ME: "DECLINED",
        "bob@example.net": "ACCEPTED",
    }
    assert await deliver(api) == 1
    [reply] = smtp.messages()
    assert reply.rcpt_tos == ["olga@example.net"]
    assert str(reply.calendar()["METHOD"]) == "REPLY"
    vevent = reply.vevent()
    assert (str(vevent["UID"]), int(vevent["SEQUENCE"])) == ("planning-42@example.net", 2)
    assert [str(a) for a in attendee_map(vevent).values()] == [f"mailto:{ME}"]
    assert str(vevent["COMMENT"]) == "Away that week"


async def test_with_scheduling_the_server_replies(
    api: Api, radicale: Radicale, user: User, smtp: SmtpSink
) -> None:
    with proxy_to(radicale) as (proxy, url):
        proxy.dav_header = "1, 2, 3, calendar-access, calendar-auto-schedule"
        cal = await connect(api, url, user)
        r = await answer(cal, "planning", {"status": "yes"})
        assert r.status_code == 204, r.text
    assert partstats(radicale, user, "planning.ics")[ME] == "ACCEPTED"
    assert await deliver(api) == 0  # no mail from calgate: the server sends the REPLY
    assert smtp.messages() == []


async def test_a_reply_to_a_caldav_organizer_changes_partstat_on_the_server(
    api: Api, radicale: Radicale, user: User, smtp: SmtpSink
) -> None:
    cal = await connect(api, radicale.url, user)
    event_id = await cal.create({**BODY, "attendees": BODY["attendees"][:2]})
    event = await cal.get(event_id)
    r = await post_mail(api, imip(event, partstat="TENTATIVE"))
    assert r.status_code == 202, r.text
    states = partstats(radicale, user, f"{event_id}.ics")
    assert states["ada@example.org"] == "TENTATIVE"
    assert states["bob@example.org"] == "NEEDS-ACTION"
    # The organizer does not answer its own event.
    r = await answer(cal, event_id, {"status": "yes"})
    assert r.status_code == 400 and "organises this event" in r.json()["detail"], r.text


async def test_one_occurrence_of_a_caldav_series(
    api: Api, radicale: Radicale, user: User, smtp: SmtpSink
) -> None:
    series = INVITATION.replace("UID:planning-42", "UID:standup-9").replace(
        "SEQUENCE:2\r\n", "SEQUENCE:2\r\nRRULE:FREQ=DAILY;COUNT=3\r\n"
    )
    with radicale.client(user) as c:
        r = c.put(
            f"/{user.name}/work/standup.ics",
            content=series.encode(),
            headers={"content-type": "text/calendar"},
        )
        assert r.status_code == 201, r.text
    cal = await connect(api, radicale.url, user)
    r = await api.call(
        "GET",
        cal.url,
        account_id=cal.account_id,
        params={
            "expand_recurring": "true",
            "start": "2026-03-01T00:00:00Z",
            "end": "2026-03-09T00:00:00Z",
        },
    )
    ids = [e["id"] for e in r.json()["data"] if e["id"].startswith("standup_")]
    assert len(ids) == 3, r.text
    r = await answer(cal, ids[1], {"status": "maybe"})
    assert r.status_code == 204, r.text
    stored = icalendar.Calendar.from_ical(radicale.raw(user, f"/{user.name}/work/standup.ics"))
    answers = {
        str(v.get("RECURRENCE-ID").dt) if v.get("RECURRENCE-ID") else "series": {
            k: a.params["PARTSTAT"] for k, a in attendee_map(v).items()
        }[ME]
        for v in stored.walk("VEVENT")
    }
    assert answers == {"series": "NEEDS-ACTION", "2026-03-03 09:00:00+00:00": "TENTATIVE"}
    assert await deliver(api) == 1
    [reply] = smtp.messages()
    assert reply.vevent().get("RECURRENCE-ID") is not None
