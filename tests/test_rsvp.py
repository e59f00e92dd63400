"""RSVP: answering an invitation as the connected account, on LOCAL and CalDAV (PARTSTAT plus an
iMIP REPLY mailed to the organizer through the outbox, received by a real SMTP server), with a
`calendar_event_updated` webhook like any change; refusals in the contract's error shape."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api
from tests.receiver import Receiver
from tests.smtp import SmtpSink
from tests.synckit import webhook
from tests.test_inbound import (  # noqa: F401 - fixtures
    mail_settings_fixture,
    receiver_fixture,
    smtp_fixture,
)
from tests.test_invitations import BODY, Cal, attendee_map, deliver, organizer_calendar

pytestmark = pytest.mark.anyio


async def invited(api: Api, smtp: SmtpSink, series: bool = False) -> tuple[Cal, Cal, str]:
    """Olga (LOCAL) invites Ada; Ada's LOCAL calendar imports the invitation she was mailed.
    Returns (olga, ada, the event's id in Ada's calendar)."""
    olga = await organizer_calendar(api)
    body = {**BODY, "attendees": BODY["attendees"][:2]}
    if series:
        body["recurrence"] = ["RRULE:FREQ=WEEKLY;COUNT=3"]
    await olga.create(body)
    await deliver(api)
    [request] = [m for m in await smtp.wait_for(2) if m.rcpt_tos == ["ada@example.org"]]
    ada = await organizer_calendar(api, "ada@example.org")
    r = await api.call(
        "POST",
        f"/api/v1/calendars/{ada.calendar_id}/ics",
        account_id=ada.account_id,
        content=request.calendar().to_ical(),
        headers={"content-type": "text/calendar"},
    )
    assert r.status_code == 200, r.text
    r = await api.call("GET", ada.url, account_id=ada.account_id)
    [event] = r.json()["data"]
    return olga, ada, event["id"]


async def rsvp(cal: Cal, event_id: str, body: dict[str, Any]) -> Any:
    return await cal.api.call(
        "POST", f"{cal.url}/{event_id}/rsvp", account_id=cal.account_id, json=body
    )


def answer_of(event: dict[str, Any], email: str) -> tuple[str, str]:
    [a] = [a for a in event["attendees"] if a["email"] == email]
    return a["response_status"], a["comment"]


async def test_local_rsvp_sets_partstat_mails_a_reply_and_notifies_webhooks(
    api: Api, smtp: SmtpSink, receiver: Receiver
) -> None:
    _, ada, event_id = await invited(api, smtp)
    await webhook(api, receiver)
    before = await ada.get(event_id)
    assert answer_of(before, "ada@example.org") == ("noreply", "")

    r = await rsvp(ada, event_id, {"status": "yes", "comment": "See you there"})
    assert r.status_code == 204, r.text
    assert r.content == b""
    after = await ada.get(event_id)
    assert answer_of(after, "ada@example.org") == ("yes", "See you there")
    assert after["version"] != before["version"]

    assert await deliver(api) == 2  # the REPLY to Olga and the webhook
    [reply] = smtp.to("olga@example.org")
    assert reply.rcpt_tos == ["olga@example.org"]
    assert str(reply.calendar()["METHOD"]) == "REPLY"
    vevent = reply.vevent()
    assert str(vevent["UID"]) == before["ical_uid"]
    assert str(vevent["ORGANIZER"]) == "mailto:olga@example.org"
    [me] = attendee_map(vevent).values()
    assert str(me) == "mailto:ada@example.org"
    assert me.params["PARTSTAT"] == "ACCEPTED"
    assert str(vevent["COMMENT"]) == "See you there"
    assert reply.message()["Reply-To"].addresses[0].addr_spec == "ada@example.org"
    [hook] = await receiver.wait_for(1)
    assert hook.json()["event"] == "calendar_event_updated"
    assert hook.json()["id"] == event_id
    assert answer_of(hook.json(), "ada@example.org") == ("yes", "See you there")

    # Answering again with another status sends another REPLY, and no invitation to anyone.
    r = await rsvp(ada, event_id, {"status": "no"})
    assert r.status_code == 204, r.text
    assert await deliver(api) == 2
    assert [str(m.calendar()["METHOD"]) for m in smtp.messages()[3:]] == ["REPLY"]
    assert answer_of(await ada.get(event_id), "ada@example.org") == ("no", "")


async def test_an_occurrence_is_answered_alone(api: Api, smtp: SmtpSink) -> None:
    _, ada, series_id = await invited(api, smtp, series=True)
    r = await api.call(
        "GET", ada.url, account_id=ada.account_id, params={"expand_recurring": "true"}
    )
    first, second, third = (e["id"] for e in r.json()["data"])
    assert first != series_id
    r = await rsvp(ada, second, {"status": "maybe"})
    assert r.status_code == 204, r.text
    assert answer_of(await ada.get(second), "ada@example.org")[0] == "maybe"
    for other in (first, third, series_id):
        assert answer_of(await ada.get(other), "ada@example.org")[0] == "noreply"
    await deliver(api)
    [reply] = smtp.to("olga@example.org")
    assert reply.vevent().get("RECURRENCE-ID") is not None
    [me] = attendee_map(reply.vevent()).values()
    assert me.params["PARTSTAT"] == "TENTATIVE"


async def test_refusals_name_why(api: Api, smtp: SmtpSink) -> None:
    olga, ada, event_id = await invited(api, smtp)
    [olga_event] = (await api.call("GET", olga.url, account_id=olga.account_id)).json()["data"]
    r = await rsvp(olga, olga_event["id"], {"status": "yes"})
    assert r.status_code == 400, r.text
    assert r.json()["type"] == "errors/invalid_parameters"
    assert "organises this event" in r.json()["detail"]

    bob = await organizer_calendar(api, "carol@example.org")
    own = await bob.create({**BODY, "notify": False, "attendees": [{"email": "dan@x.org"}]})
    r = await rsvp(bob, own, {"status": "yes"})
    assert r.status_code == 400 and "organises" in r.json()["detail"], r.text

    # Ada's calendar, but answered by an account that is not among the attendees.
    stranger = await organizer_calendar(api, "eve@example.org")
    r = await api.call(
        "POST",
        f"/api/v1/calendars/{stranger.calendar_id}/ics",
        account_id=stranger.account_id,
        content=(
            await api.call(
                "GET", f"/api/v1/calendars/{ada.calendar_id}/ics", account_id=ada.account_id
            )
        ).content,
        headers={"content-type": "text/calendar"},
    )
    assert r.status_code == 200, r.text
    [copy] = (await api.call("GET", stranger.url, account_id=stranger.account_id)).json()["data"]
    r = await rsvp(stranger, copy["id"], {"status": "yes"})
    assert r.status_code == 400, r.text
    assert "eve@example.org" in r.json()["detail"] and "not an attendee" in r.json()["detail"]

    cases: list[tuple[dict[str, Any], str]] = [
        ({"status": "accepted"}, "status"),
        ({}, "status"),
        ({"status": "yes", "comment": 3}, "comment"),
        ({"status": "yes", "colour": "red"}, "colour"),
        ({"status": "yes", "account_id": olga.account_id}, "account_id"),
    ]
    for body, field in cases:
        r = await rsvp(ada, event_id, body)
        assert r.status_code == 400, (body, r.text)
        assert field in r.json()["detail"], (body, r.text)
    r = await rsvp(ada, "nope", {"status": "yes"})
    assert r.status_code == 404, r.text
    assert await deliver(api) == 0  # nothing answered, nothing mailed


async def test_a_retried_rsvp_with_an_idempotency_key_mails_one_reply(
    api: Api, smtp: SmtpSink
) -> None:
    _, ada, event_id = await invited(api, smtp)
    sent = len(smtp.messages())
    for _ in range(2):
        r = await ada.api.call(
            "POST",
            f"{ada.url}/{event_id}/rsvp",
            account_id=ada.account_id,
            json={"status": "yes"},
            headers={"Idempotency-Key": "rsvp-once-1"},
        )
        assert r.status_code == 204, r.text
    assert await deliver(api) == 1
    assert [m.rcpt_tos for m in smtp.messages()[sent:]] == [["olga@example.org"]]
