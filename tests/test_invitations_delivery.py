"""Invitation delivery: retries with backoff, the same message on every attempt, permanent
refusals, and what events report when mail cannot be sent."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import anyio
import pytest
import sqlalchemy as sa

from calgate.settings import Settings
from calgate.store import tables
from tests.conftest import Api
from tests.serve import free_port
from tests.smtp import SmtpSink, mail_settings, running_smtp
from tests.test_invitations import BODY, Cal, organizer_calendar

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
        **{**mail_settings(smtp), "mail_max_retries": 3},
    )


@pytest.fixture
async def cal(api: Api) -> Cal:
    return await organizer_calendar(api)


async def rows(api: Api, event_id: str) -> list[Any]:
    def op(conn: sa.Connection) -> list[Any]:
        o = tables.outbox
        query = (
            sa.select(o.c.id, o.c.target, o.c.status, o.c.attempts, o.c.last_code, o.c.last_error)
            .where(o.c.event_id == event_id, o.c.channel == "mail")
            .order_by(o.c.target)
        )
        return list(conn.execute(query))

    return await api.runtime.db.read(op)


async def wait_settled(api: Api, event_id: str, within: float = 10.0) -> list[Any]:
    with anyio.fail_after(within):
        while True:
            found = await rows(api, event_id)
            if found and all(r.status != "pending" for r in found):
                return found
            await anyio.sleep(0.02)


async def test_temporary_failures_are_retried_with_the_same_message(
    cal: Cal, smtp: SmtpSink
) -> None:
    smtp.fail_data = 2
    event_id = await cal.create({**BODY, "attendees": BODY["attendees"][:1]})
    async with cal.api.runtime.worker().running():
        [mail] = await smtp.wait_for(1)
        [row] = await wait_settled(cal.api, event_id)
    assert row.status == "delivered"
    assert row.attempts == 3
    assert len(smtp.attempts) == 3
    # Byte for byte the same message each time: same Message-ID, Date and MIME boundary.
    assert {a.data for a in smtp.attempts} == {mail.data}
    assert mail.message()["Message-ID"] == f"<{row.id}@calgate.test>"
    assert (await cal.get(event_id))["notifications"] == "sent"


async def test_permanent_refusal_fails_at_once(cal: Cal, smtp: SmtpSink) -> None:
    smtp.refuse["ada@example.org"] = "550 5.1.1 no such user"
    event_id = await cal.create(BODY)
    async with cal.api.runtime.worker().running():
        settled = await wait_settled(cal.api, event_id)
    ada, bob = settled
    assert (ada.target, ada.status, ada.attempts, ada.last_code) == (
        "ada@example.org",
        "failed",
        1,
        550,
    )
    assert "no such user" in ada.last_error
    assert (bob.target, bob.status) == ("bob@example.org", "delivered")
    assert [m.rcpt_tos for m in smtp.messages()] == [["bob@example.org"]]
    assert (await cal.get(event_id))["notifications"] == "failed"


async def test_temporary_refusal_gives_up_after_the_retries(cal: Cal, smtp: SmtpSink) -> None:
    smtp.refuse["ada@example.org"] = "450 4.2.1 mailbox busy"
    event_id = await cal.create({**BODY, "attendees": BODY["attendees"][:1]})
    async with cal.api.runtime.worker().running():
        [row] = await wait_settled(cal.api, event_id)
    assert (row.status, row.attempts, row.last_code) == ("failed", 4, 450)  # 1 + 3 retries
    assert (await cal.get(event_id))["notifications"] == "failed"


async def test_unreachable_server_is_retried(cal: Cal, smtp: SmtpSink) -> None:
    event_id = await cal.create({**BODY, "attendees": BODY["attendees"][:1]})
    runtime = cal.api.runtime
    assert runtime.mail is not None
    # A worker pointed at a port nobody listens on: refused connections are temporary.
    good = runtime.mail
    runtime.mail = replace(good, port=free_port())
    try:
        worker = runtime.worker()
        await worker.run_once()
        await worker.aclose()
    finally:
        runtime.mail = good
    [row] = await rows(cal.api, event_id)
    assert (row.status, row.attempts) == ("pending", 1)
    assert "SMTP 127.0.0.1" in row.last_error
    assert (await cal.get(event_id))["notifications"] == "queued"
    async with runtime.worker().running():
        await smtp.wait_for(1)
        [row] = await wait_settled(cal.api, event_id)
    assert (row.status, row.attempts) == ("delivered", 2)
