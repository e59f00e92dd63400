"""Microsoft Graph change notifications, after "Set up notifications for changes in resource
data" and the ``subscription`` resource (v1.0):

- ``POST /subscriptions`` with ``changeType: created,updated,deleted``, ``resource``
  (``me/calendars/{id}/events``), ``notificationUrl``, ``lifecycleNotificationUrl``,
  ``clientState`` (sent back in every notification) and ``expirationDateTime`` (events: at
  most 4,230 minutes ahead); Graph validates both URLs before answering (``validationToken``);
- ``PATCH /subscriptions/{id}`` with a new ``expirationDateTime`` renews;
  ``DELETE /subscriptions/{id}`` ends it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from calgate.domain.times import format_utc
from calgate.errors import ProviderError
from calgate.providers.base import AccountContext
from calgate.providers.microsoft import MicrosoftProvider
from calgate.push.base import Address, Made
from calgate.store.db import now_us
from calgate.store.push import Channel

# Graph's limit for Outlook events (minutes), less a margin for the clocks.
MAX_MINUTES: Final = 4230
MAX_US: Final = (MAX_MINUTES - 5) * 60 * 1_000_000
GONE: Final = (404,)


def _when(us: int) -> str:
    return format_utc(datetime.fromtimestamp(us / 1e6, UTC))


def _made(data: dict[str, Any], fallback: int) -> Made:
    try:
        moment = datetime.fromisoformat(str(data["expirationDateTime"]).replace("Z", "+00:00"))
        return Made(str(data["id"]), "", int(moment.timestamp() * 1_000_000))
    except (KeyError, TypeError, ValueError):
        if "id" not in data:
            raise ProviderError("Graph answered a subscription without its id") from None
        return Made(str(data["id"]), "", fallback)


class MicrosoftSubscriber:
    def __init__(self, provider: MicrosoftProvider) -> None:
        self.provider = provider
        self.url = provider.base.removesuffix("/me") + "/subscriptions"

    @staticmethod
    def _capped(expires_at: int) -> int:
        return min(expires_at, now_us() + MAX_US)

    async def make(
        self,
        account: AccountContext,
        calendar_id: str,
        *,
        secret: str,
        address: Address,
        expires_at: int,
    ) -> Made:
        expires_at = self._capped(expires_at)
        body = {
            "changeType": "created,updated,deleted",
            "notificationUrl": address.notifications,
            "lifecycleNotificationUrl": address.lifecycle,
            "resource": f"me/calendars/{calendar_id}/events",
            "expirationDateTime": _when(expires_at),
            "clientState": secret,
        }
        response = await self.provider.call(
            account, "POST", self.url, safe=False, what="subscribe", json=body
        )
        return _made(response.json(), expires_at)

    async def renew(
        self, account: AccountContext, channel: Channel, expires_at: int
    ) -> Made | None:
        if not channel.channel_id:
            return None
        expires_at = self._capped(expires_at)
        response = await self.provider.call(
            account,
            "PATCH",
            f"{self.url}/{channel.channel_id}",
            safe=True,
            what="renew subscription",
            json={"expirationDateTime": _when(expires_at)},
            expect=GONE,
        )
        if response.status_code in GONE:
            return None  # expired or removed at Graph: a new one is made
        return _made(response.json(), expires_at)

    async def stop(self, account: AccountContext, channel: Channel) -> None:
        if not channel.channel_id:
            return
        await self.provider.call(
            account,
            "DELETE",
            f"{self.url}/{channel.channel_id}",
            safe=True,
            what="unsubscribe",
            expect=GONE,
        )
