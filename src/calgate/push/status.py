"""A calendar's push channel as the API (field ``push`` of each calendar in an account's
``sync``) and ``calgate sync status`` show it."""

from __future__ import annotations

from typing import Any

from calgate.domain.times import format_utc
from calgate.store.codec import us_to_dt
from calgate.store.push import Channel

KIND = {"GOOGLE_OAUTH": "google_channel", "OUTLOOK": "graph_subscription"}


def channel_status(channel: Channel, now: int) -> str:
    """``active``, ``pending`` (not made yet), ``failing`` (the last attempt failed) or
    ``expired`` (not renewed in time: the calendar is polled meanwhile)."""
    if channel.last_error:
        return "failing"
    if not channel.channel_id:
        return "pending"
    return "active" if channel.expires_at > now else "expired"


def channel_to_wire(channel: Channel | None, now: int) -> dict[str, Any] | None:
    if channel is None:
        return None
    last = channel.last_notification_at
    return {
        "kind": KIND.get(channel.kind, channel.kind.lower()),
        "status": channel_status(channel, now),
        "expires_at": format_utc(us_to_dt(channel.expires_at)) if channel.expires_at else None,
        "renewals": channel.renewals,
        "notifications": channel.notifications,
        "last_notification_at": format_utc(us_to_dt(last)) if last else None,
        "last_error": channel.last_error or None,
    }


def by_calendar(channels: list[Channel]) -> dict[tuple[str, str], Channel]:
    """The channels keyed by ``(account id, calendar id)``."""
    return {(c.account_id, c.calendar_id): c for c in channels}
