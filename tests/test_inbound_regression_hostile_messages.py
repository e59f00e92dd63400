"""Regression: inbound mail that breaks the iCalendar or e-mail parsers (a RECURRENCE-ID that is
no time, an unparsable From, a UID given twice) was a 500; every such message is a 400 naming
why it was dropped."""

from __future__ import annotations

import pytest

from tests.conftest import Api

pytestmark = pytest.mark.anyio
HEAD = b"From: ada@example.org\r\nContent-Type: text/calendar\r\n\r\n"


def calendar(*lines: str) -> bytes:
    body = ["BEGIN:VCALENDAR", "METHOD:REPLY", "BEGIN:VEVENT", *lines, "END:VEVENT"]
    return HEAD + "\r\n".join([*body, "END:VCALENDAR", ""]).encode()


ATTENDEE = "ATTENDEE;PARTSTAT=ACCEPTED:mailto:ada@example.org"
CASES = [
    (calendar("UID:x", ATTENDEE, "RECURRENCE-ID:garbage"), "cannot be read"),
    (b"From: =?utf-8?q?=FF?= <\r\nContent-Type: text/calendar\r\n\r\nx", "cannot be read"),
    (calendar("UID:x", "UID:y", ATTENDEE), "UID appears 2 times"),
    (calendar("UID:x", ATTENDEE, "SEQUENCE:1", "SEQUENCE:2"), "SEQUENCE appears 2 times"),
    (calendar("UID:x", ATTENDEE, "SEQUENCE:soon"), "SEQUENCE is not a number"),
    (calendar("UID:x"), "exactly one ATTENDEE"),
    (b"\xff\xfe not a mail", "no From header"),
]


@pytest.mark.parametrize(("raw", "reason"), CASES)
async def test_a_hostile_message_is_a_400_with_the_reason(
    api: Api, raw: bytes, reason: str
) -> None:
    r = await api.call(
        "POST", "/api/v1/inbound/mail", content=raw, headers={"content-type": "message/rfc822"}
    )
    assert r.status_code == 400, r.text
    assert r.json()["type"] == "errors/invalid_parameters"
    assert reason in r.json()["detail"], r.text
