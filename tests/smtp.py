"""A real SMTP server (aiosmtpd) on loopback that keeps what it receives.

``SmtpSink`` records every accepted message; ``refuse`` makes RCPT TO fail for an address
(permanently with a 5xx code, temporarily with a 4xx code) and ``fail_data`` makes the next
DATA commands fail with 451, so tests can watch retries.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

import anyio
import icalendar
from aiosmtpd.controller import Controller

from tests.serve import free_port


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    def message(self) -> EmailMessage:
        parsed = BytesParser(policy=policy.default).parsebytes(self.data)
        assert isinstance(parsed, EmailMessage)
        return parsed

    def part(self, content_type: str) -> EmailMessage:
        for part in self.message().walk():
            if part.get_content_type() == content_type:
                assert isinstance(part, EmailMessage)
                return part
        raise AssertionError(f"no {content_type} part in {self.data!r}")

    def text(self) -> str:
        content: str = self.part("text/plain").get_content()
        return content.replace("\r\n", "\n")

    def calendar(self) -> icalendar.Calendar:
        return icalendar.Calendar.from_ical(self.part("text/calendar").get_content())

    def vevent(self) -> Any:
        events = self.calendar().walk("VEVENT")
        assert len(events) == 1, events
        return events[0]


@dataclass
class SmtpSink:
    port: int = 0
    received: list[Received] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)  # address -> "550 ..." reply
    fail_data: int = 0
    attempts: list[Received] = field(default_factory=list)  # every DATA tried, accepted or not
    lock: threading.Lock = field(default_factory=threading.Lock)

    # aiosmtpd handler hooks ------------------------------------------------------------

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        with self.lock:
            reply = self.refuse.get(address.lower())
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        got = Received(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content))
        with self.lock:
            self.attempts.append(got)
            if self.fail_data > 0:
                self.fail_data -= 1
                return "451 4.3.0 try again later"
            self.received.append(got)
        return "250 Message accepted"

    # test helpers ----------------------------------------------------------------------

    def messages(self) -> list[Received]:
        with self.lock:
            return list(self.received)

    async def wait_for(self, count: int, within: float = 10.0) -> list[Received]:
        """The received messages once there are at least ``count`` (polls without blocking
        the event loop, where the worker runs)."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            got = self.messages()
            if len(got) >= count:
                return got
            await anyio.sleep(0.02)
        raise AssertionError(f"expected {count} messages, got {len(self.messages())}")

    def to(self, address: str) -> list[Received]:
        return [m for m in self.messages() if address in m.rcpt_tos]


MAIL_FROM = "Calendar <calendar@calgate.test>"


def mail_settings(sink: SmtpSink) -> dict[str, Any]:
    """Settings sending mail to ``sink``, with a fast worker (tests wait for deliveries)."""
    return {
        "smtp_host": "127.0.0.1",
        "smtp_port": sink.port,
        "smtp_tls": "none",
        "smtp_timeout_seconds": 5.0,
        "mail_from": MAIL_FROM,
        "worker_poll_seconds": 0.05,
        "retry_base_seconds": 0.05,
        "retry_max_seconds": 0.2,
    }


@contextmanager
def running_smtp() -> Iterator[SmtpSink]:
    """An aiosmtpd server on a free loopback port, recording into an :class:`SmtpSink`."""
    sink = SmtpSink(port=free_port())
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()
