"""The ``mail`` outbox channel: one iMIP message per delivery, sent over SMTP (aiosmtplib).

A 5xx answer to the recipient or the message is permanent (the delivery fails at once); a 4xx
answer, a refused connection or a timeout is retried with backoff. A failed login or TLS
set-up is a configuration problem an administrator can fix: retried too.
"""

from __future__ import annotations

import logging
from email.errors import HeaderDefect, MessageError
from typing import Any

import aiosmtplib

from calgate.errors import CalgateError
from calgate.mail import reply
from calgate.mail.config import MailConfig
from calgate.mail.message import build
from calgate.outbox.store import Delivery
from calgate.outbox.worker import Outcome

log = logging.getLogger("calgate.mail")

# Permanent codes that still deserve a retry: authentication and TLS set-up (RFC 4954, 3207).
_CONFIG_CODES = frozenset({530, 534, 535, 538})


def _refusal(code: int, message: str, what: str) -> Outcome:
    permanent = 500 <= code < 600 and code not in _CONFIG_CODES
    return Outcome(False, code=code, error=f"{what}: {code} {message}"[:500], retry=not permanent)


class SmtpChannel:
    name = "mail"

    def __init__(self, config: MailConfig) -> None:
        self.config = config
        self.max_retries = config.max_retries
        self.timeout = config.timeout

    async def deliver(self, delivery: Delivery, payload: dict[str, Any]) -> Outcome:
        c = self.config
        try:
            if delivery.topic == "REPLY":
                message = reply.build(
                    delivery.id, delivery.created_at, delivery.data, payload, c.sender, c.domain
                )
            else:
                message = build(
                    delivery.id,
                    delivery.created_at,
                    "CANCEL" if delivery.topic == "CANCEL" else "REQUEST",
                    delivery.data,
                    payload,
                    c.sender,
                    c.domain,
                )
        except (CalgateError, ValueError, MessageError, HeaderDefect, KeyError) as exc:
            detail = exc.detail if isinstance(exc, CalgateError) else str(exc)
            return Outcome(False, error=f"the message cannot be written: {detail}", retry=False)
        try:
            errors, response = await aiosmtplib.send(
                message,
                sender=c.sender.addr_spec,
                recipients=[delivery.target],
                hostname=c.host,
                port=c.port,
                username=c.username,
                password=c.password,
                use_tls=c.tls == "tls",
                start_tls=c.tls == "starttls",
                timeout=c.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            first = exc.recipients[0] if exc.recipients else None
            if first is None:
                return Outcome(False, error="recipient refused")
            return _refusal(first.code, first.message, f"recipient {delivery.target} refused")
        except aiosmtplib.SMTPResponseException as exc:
            return _refusal(exc.code, exc.message, "SMTP server refused")
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            return Outcome(False, error=f"SMTP {c.host}:{c.port}: {type(exc).__name__}: {exc}")
        if errors:
            refused = next(iter(errors.values()))
            return _refusal(refused.code, refused.message, f"recipient {delivery.target} refused")
        log.debug("mail %s (%s) sent to %s", delivery.id, delivery.topic, delivery.target)
        return Outcome(True, code=int(response.split(" ", 1)[0]) if response[:3].isdigit() else 250)

    async def aclose(self) -> None:
        return None
