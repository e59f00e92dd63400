"""Attendees' answers mailed back (iTIP REPLY and COUNTER over iMIP, RFC 5546 / RFC 6047) for
events whose invitations calgate sent: read from a raw RFC 5322 message, matched to the event
by UID, applied (REPLY) or recorded (COUNTER). Mail arrives through calgate's own SMTP/LMTP
listener (:mod:`.listener`) or the HTTP route ``POST /api/v1/inbound/mail``."""

from calgate.inbound.index import InvitationIndex
from calgate.inbound.service import Inbound, Outcome

__all__ = ["Inbound", "InvitationIndex", "Outcome"]
