"""Client text never breaks the structure of an invitation: no header, recipient, MIME part or
iCalendar property can be added through a title, a name, a place or a description."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from calgate.mail.message import header_text
from calgate.settings import Settings
from tests.conftest import Api
from tests.smtp import SmtpSink, mail_settings, running_smtp
from tests.test_invitations import BODY, deliver

pytestmark = pytest.mark.anyio

EVIL = "Hi\r\nBcc: evil@example.org\r\n\r\n--boundary\r\nContent-Type: text/html\r\n\r\n<script>"
ICS_EVIL = "Room\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:forged\r\nATTENDEE:mailto:evil@example.org"


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


def header_lines(raw: bytes) -> list[str]:
    head = raw.split(b"\r\n\r\n", 1)[0].decode()
    return head.split("\r\n")


async def test_text_cannot_add_headers_recipients_or_parts(api: Api, smtp: SmtpSink) -> None:
    r = await api.call(
        "POST",
        "/api/v1/accounts",
        json={"provider": "LOCAL", "name": "Olga\r\nBcc: evil@example.org", "email": "o@ex.org"},
    )
    assert r.status_code == 201, r.text
    account_id = r.json()["account_id"]
    calendar_id = (await api.call("GET", "/api/v1/calendars", account_id=account_id)).json()[
        "data"
    ][0]["id"]
    body: dict[str, Any] = {
        **BODY,
        "title": EVIL,
        "body": EVIL,
        "location": ICS_EVIL,
        "attendees": [{"email": "ada@example.org", "display_name": "Ada\r\nCc: evil@example.org"}],
    }
    r = await api.call(
        "POST", f"/api/v1/calendars/{calendar_id}/events", json=body, account_id=account_id
    )
    assert r.status_code == 200, r.text
    await deliver(api)
    [mail] = await smtp.wait_for(1)

    assert mail.rcpt_tos == ["ada@example.org"]
    names = [line.split(":", 1)[0].lower() for line in header_lines(mail.data) if line[:1] != " "]
    assert "bcc" not in names and "cc" not in names
    assert names.count("content-type") == 1
    msg = mail.message()
    assert msg["Subject"].startswith("Invitation: Hi Bcc: evil@example.org --boundary ")
    assert "\n" not in msg["Subject"] and "\r" not in msg["Subject"]
    assert msg["From"].addresses[0].display_name == "Olga Bcc: evil@example.org"
    assert msg["To"].addresses[0].display_name == "Ada Cc: evil@example.org"
    assert [p.get_content_type() for p in msg.walk()] == [
        "multipart/alternative",
        "text/plain",
        "text/calendar",
    ]

    calendar = mail.calendar()
    [vevent] = calendar.walk("VEVENT")
    assert str(vevent["UID"]).endswith("@calgate")
    assert str(vevent["SUMMARY"]) == EVIL.replace("\r\n", "\n")
    assert str(vevent["LOCATION"]) == ICS_EVIL.replace("\r\n", "\n")
    assert str(vevent["ATTENDEE"]) == "mailto:ada@example.org"
    assert vevent["ATTENDEE"].params["CN"] == "Ada\nCc: evil@example.org"
    raw_ics = mail.part("text/calendar").get_content()
    lines = raw_ics.split("\r\n")
    assert lines.count("BEGIN:VEVENT") == 1
    assert [line for line in lines if line.startswith("UID:")] == [f"UID:{vevent['UID']}"]
    assert not [line for line in lines if line.startswith(("ATTENDEE:", "BEGIN:VEVENT\\n"))]
    assert EVIL.replace("\r\n", "\n") in mail.text()  # the text part shows the text as is


def test_header_text_flattens_every_line_break() -> None:
    assert header_text("a\r\nb\nc\rd\x00e\u2028f\x85g\tz") == "a b c d e f g z"
    assert header_text("x" * 300, 10) == "xxxxxxxxx\u2026"
