"""Invitations by mail (iMIP, RFC 6047) for accounts whose provider sends none (LOCAL, CalDAV
servers without RFC 6638 scheduling): planned with each change, written to the outbox in its
transaction, built and sent over SMTP by the outbox worker."""

from calgate.mail.config import MailConfig
from calgate.mail.invitations import Invitations
from calgate.mail.smtp import SmtpChannel
from calgate.mail.status import NotificationStates

__all__ = ["Invitations", "MailConfig", "NotificationStates", "SmtpChannel"]
