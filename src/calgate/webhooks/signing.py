"""Webhook signatures: HMAC-SHA256 of the raw request body with the webhook's secret.

Receivers recompute it over the bytes they received (before any JSON parsing) and compare in
constant time; see docs/invitations-webhooks.md for a ready-to-use snippet.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SIGNATURE_HEADER = "X-Calgate-Signature"
DELIVERY_HEADER = "X-Calgate-Delivery"
EVENT_HEADER = "X-Calgate-Event"
WEBHOOK_HEADER = "X-Calgate-Webhook"
PREFIX = "sha256="


def new_secret(nbytes: int = 32) -> str:
    """A per-webhook secret: ``nbytes`` random bytes (256 bits by default)."""
    return "whsec_" + secrets.token_urlsafe(nbytes)


def sign(secret: str, body: bytes) -> str:
    """The signature header value: ``sha256=<hex of HMAC-SHA256(secret, body)>``."""
    return PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str) -> bool:
    return hmac.compare_digest(sign(secret, body), header.strip())
