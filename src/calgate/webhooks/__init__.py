"""Webhooks (``source: calendar_event``): every event change made through calgate is POSTed,
signed, to each matching webhook, through the durable outbox."""

from calgate.webhooks.delivery import WebhookChannel, WebhookEffect
from calgate.webhooks.service import WebhookService, WebhookSpec
from calgate.webhooks.signing import sign, verify

__all__ = ["WebhookChannel", "WebhookEffect", "WebhookService", "WebhookSpec", "sign", "verify"]
