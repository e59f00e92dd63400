"""Google Calendar push, after "Push notifications" of the Calendar API guide:

- ``events.watch`` (``POST calendars/{calendarId}/events/watch``) with ``id`` (a UUID of
  ours), ``type: web_hook``, ``address`` (HTTPS), ``token`` (sent back in
  ``X-Goog-Channel-Token``) and ``params.ttl``; the answer's ``resourceId`` and
  ``expiration`` (milliseconds) are kept;
- a channel cannot be renewed: a new one is made before the old expires, then the old stopped;
- ``channels.stop`` (``POST channels/stop`` with ``id`` and ``resourceId``).
"""

from __future__ import annotations

import uuid
from typing import Final

from calgate.errors import ProviderError
from calgate.providers.base import AccountContext
from calgate.providers.google import GoogleProvider
from calgate.push.base import Address, Made
from calgate.store.db import now_us
from calgate.store.push import Channel

GONE: Final = (404, 410)


class GoogleSubscriber:
    def __init__(self, provider: GoogleProvider) -> None:
        self.provider = provider

    async def make(
        self,
        account: AccountContext,
        calendar_id: str,
        *,
        secret: str,
        address: Address,
        expires_at: int,
    ) -> Made:
        ttl = max(1, (expires_at - now_us()) // 1_000_000)
        body = {
            "id": str(uuid.uuid4()),
            "type": "web_hook",
            "address": address.notifications,
            "token": secret,
            "params": {"ttl": str(ttl)},
        }
        response = await self.provider.call(
            account,
            "POST",
            self.provider._events_url(calendar_id) + "/watch",
            safe=False,
            what="watch",
            json=body,
        )
        data = response.json()
        try:
            expiration = int(data.get("expiration") or 0) * 1000
            return Made(str(data["id"]), str(data["resourceId"]), expiration or expires_at)
        except (KeyError, TypeError, ValueError) as error:
            raise ProviderError(
                f"Google answered events.watch without a channel: {error}"
            ) from None

    async def renew(
        self, account: AccountContext, channel: Channel, expires_at: int
    ) -> Made | None:
        return None

    async def stop(self, account: AccountContext, channel: Channel) -> None:
        if not channel.channel_id:
            return
        await self.provider.call(
            account,
            "POST",
            self.provider.base + "/channels/stop",
            safe=True,
            what="stop channel",
            json={"id": channel.channel_id, "resourceId": channel.resource_id},
            expect=GONE,
        )
