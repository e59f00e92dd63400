"""Mail settings, read once from :class:`calgate.settings.Settings`."""

from __future__ import annotations

from dataclasses import dataclass
from email.headerregistry import Address
from email.utils import parseaddr
from typing import Literal

from calgate.settings import Settings


def parse_address(value: str, setting: str) -> Address:
    """``Name <user@host>`` or ``user@host`` as an :class:`Address`; ValueError naming
    ``setting`` when it is not one address."""
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValueError(f"{setting}: holds a control character")
    name, addr = parseaddr(value)
    user, _, domain = addr.rpartition("@")
    if not user or not domain or "." not in domain:
        raise ValueError(f"{setting}: {value!r} is not an e-mail address (name@example.org)")
    try:
        return Address(display_name=name, addr_spec=addr)
    except (ValueError, IndexError) as exc:
        raise ValueError(f"{setting}: {value!r} is not an e-mail address ({exc})") from None


@dataclass(frozen=True, slots=True)
class MailConfig:
    host: str
    port: int
    tls: Literal["none", "starttls", "tls"]
    username: str | None
    password: str | None
    timeout: float
    sender: Address
    max_retries: int

    @property
    def domain(self) -> str:
        """The right-hand side of Message-IDs."""
        return self.sender.domain

    @classmethod
    def from_settings(cls, settings: Settings) -> MailConfig | None:
        """The SMTP configuration, or None when no ``smtp_host`` is set (no mail is sent)."""
        if not settings.smtp_host:
            return None
        if not settings.mail_from:
            raise ValueError(
                "mail_from (CALGATE_MAIL_FROM): required when smtp_host is set, "
                "e.g. 'Calendar <calendar@example.org>'"
            )
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            tls=settings.smtp_tls,
            username=settings.smtp_username or None,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            timeout=settings.smtp_timeout_seconds,
            sender=parse_address(settings.mail_from, "mail_from"),
            max_retries=settings.mail_max_retries,
        )
