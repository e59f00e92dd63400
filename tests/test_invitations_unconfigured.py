"""Without an SMTP server, notify=true cannot be honoured: nothing is queued, and the event
says so (`notifications: failed`) instead of pretending."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from calgate.mail.config import MailConfig
from calgate.settings import Settings
from calgate.store import tables
from tests.conftest import Api
from tests.test_invitations import BODY, organizer_calendar

pytestmark = pytest.mark.anyio


async def test_notify_without_smtp_reports_failed(api: Api) -> None:
    assert api.runtime.mail is None
    cal = await organizer_calendar(api)
    event_id = await cal.create(BODY)
    assert (await cal.get(event_id))["notifications"] == "failed"
    quiet = await cal.create({**BODY, "notify": False})
    assert (await cal.get(quiet))["notifications"] == "none"

    def count(conn: sa.Connection) -> int:
        query = sa.select(sa.func.count()).select_from(tables.outbox)
        return int(conn.execute(query).scalar_one())

    assert await api.runtime.db.read(count) == 0


def test_mail_from_is_required_with_smtp_host() -> None:
    with pytest.raises(ValueError, match=r"mail_from \(CALGATE_MAIL_FROM\): required"):
        MailConfig.from_settings(Settings(smtp_host="smtp.example.org"))
    with pytest.raises(ValueError, match="mail_from: 'not an address' is not an e-mail"):
        MailConfig.from_settings(Settings(smtp_host="smtp.example.org", mail_from="not an address"))


def test_mail_settings_are_read_once() -> None:
    config = MailConfig.from_settings(
        Settings(
            smtp_host="smtp.example.org",
            smtp_port=465,
            smtp_tls="tls",
            smtp_username="calgate",
            smtp_password="s3cret",
            mail_from="Team calendar <calendar@example.org>",
        )
    )
    assert config is not None
    assert (config.host, config.port, config.tls) == ("smtp.example.org", 465, "tls")
    assert (config.username, config.password) == ("calgate", "s3cret")
    assert config.sender.addr_spec == "calendar@example.org"
    assert config.sender.display_name == "Team calendar"
    assert config.domain == "example.org"
    assert MailConfig.from_settings(Settings()) is None
