"""Google: the Calendar API's own free/busy (``POST /calendar/v3/freeBusy``).

Google answers merged busy periods (no tentative) and a per-calendar ``errors`` list; it takes
at most 50 calendars a call. The primary calendar is asked for by the account's address (its
id at Google), so that the answer names the real calendar.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from calgate.domain import freebusy as fb
from calgate.errors import CalgateError, NotFound, ProviderError
from calgate.freebusy.base import CalendarBusy, Origin, Window
from calgate.providers.base import AccountContext
from calgate.providers.google import GoogleProvider
from calgate.providers.stamps import parse_time

CHUNK = 50  # calendarExpansionMax


def _rfc3339(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _entry(calendar_id: str, answer: Mapping[str, Any], window: Window) -> CalendarBusy:
    errors = answer.get("errors") or []
    if errors:
        reason = str((errors[0] or {}).get("reason", "unknown"))
        error: CalgateError = (
            NotFound(f"calendar {calendar_id!r} not found for this account")
            if reason == "notFound"
            else ProviderError(f"Google free/busy of calendar {calendar_id!r}: {reason}")
        )
        return CalendarBusy(calendar_id, error=error)
    found = []
    for period in answer.get("busy") or ():
        start, end = parse_time(str(period["start"])), parse_time(str(period["end"]))
        found.append(fb.Busy(fb.to_us(start), fb.to_us(end)))
    return CalendarBusy(calendar_id, fb.merge(found, fb.to_us(window.start), fb.to_us(window.end)))


class GoogleSource:
    origin = Origin(
        primary="provider",
        calendars="provider",
        notes=("Google freeBusy: no tentative status; declined invitations are free",),
    )

    def __init__(self, provider: GoogleProvider) -> None:
        self.provider = provider

    async def busy(
        self, account: AccountContext, calendar_ids: Sequence[str] | None, window: Window
    ) -> list[CalendarBusy]:
        wanted = list(calendar_ids or [account.email or "primary"])
        out: list[CalendarBusy] = []
        for i in range(0, len(wanted), CHUNK):
            chunk = wanted[i : i + CHUNK]
            response = await self.provider.call(
                account,
                "POST",
                f"{self.provider.base}/freeBusy",
                safe=True,
                what="free/busy",
                json={
                    "timeMin": _rfc3339(window.start),
                    "timeMax": _rfc3339(window.end),
                    "items": [{"id": c} for c in chunk],
                },
            )
            try:
                calendars = response.json().get("calendars") or {}
                for calendar_id in chunk:
                    out.append(_entry(calendar_id, calendars.get(calendar_id) or {}, window))
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                raise ProviderError(f"Google free/busy: unreadable answer ({exc})") from None
        return out
