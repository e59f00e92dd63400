"""What the GOOGLE_OAUTH tests share: the account type, event URLs, reading one event back."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api
from tests.oauth_env import Fakes

G = "GOOGLE_OAUTH"


def url(fakes: Fakes, event_id: str | None = None) -> str:
    """calgate's URL of the events (or one event) of the Google test user's calendar."""
    base = f"/api/v1/calendars/{fakes.google.email}/events"
    return base if event_id is None else f"{base}/{event_id}"


async def read(api: Api, fakes: Fakes, account: str, event_id: str) -> dict[str, Any]:
    """The event as calgate answers it (200 asserted)."""
    r = await api.call("GET", url(fakes, event_id), account_id=account)
    assert r.status_code == 200, r.text
    event: dict[str, Any] = r.json()
    return event
