"""Outlook: Graph's own free/busy (``POST /me/calendar/getSchedule``) for the mailbox's
primary calendar; calendars named in the request are read through ``calendarView``
(getSchedule answers for a mailbox, not for one of its calendars).

Graph's statuses: ``busy`` and ``oof`` block time, ``tentative`` is tentative, ``free``,
``workingElsewhere`` and ``unknown`` do not block.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from calgate.domain import freebusy as fb
from calgate.domain import zones
from calgate.errors import CalgateError, ProviderError
from calgate.freebusy.base import CalendarBusy, Origin, Window
from calgate.freebusy.events import EventsSource, primary_of
from calgate.providers.base import AccountContext
from calgate.providers.microsoft import MicrosoftProvider

STATUS: Mapping[str, fb.Status] = {"busy": "busy", "oof": "busy", "tentative": "tentative"}


def _graph_time(moment: dt.datetime) -> dict[str, str]:
    return {"dateTime": moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}


def _instant(value: Mapping[str, Any]) -> int:
    wall = dt.datetime.fromisoformat(str(value["dateTime"])[:19])
    zone = zones.zone(str(value.get("timeZone") or "UTC"))
    return fb.to_us(wall.replace(tzinfo=zone))


def _busy(info: Mapping[str, Any], window: Window) -> list[fb.Busy]:
    found = []
    for item in info.get("scheduleItems") or ():
        status = STATUS.get(str(item.get("status")))
        if status is not None:
            found.append(fb.Busy(_instant(item["start"]), _instant(item["end"]), status))
    return fb.merge(found, fb.to_us(window.start), fb.to_us(window.end))


class MicrosoftSource:
    origin = Origin(
        primary="provider",
        calendars="events",
        notes=("Outlook getSchedule for the primary calendar; calendarView for others",),
    )

    def __init__(self, provider: MicrosoftProvider) -> None:
        self.provider = provider
        self.events = EventsSource(provider)

    async def _schedule(self, account: AccountContext, window: Window) -> CalendarBusy:
        calendar_id = None
        try:
            primary = primary_of(await self.provider.list_calendars(account))
            calendar_id = primary.id if primary else None
            response = await self.provider.call(
                account,
                "POST",
                f"{self.provider.base}/calendar/getSchedule",
                safe=True,
                what="schedule",
                json={
                    "schedules": [account.email],
                    "startTime": _graph_time(window.start),
                    "endTime": _graph_time(window.end),
                    "availabilityViewInterval": 30,
                },
            )
            try:
                info = (response.json().get("value") or [{}])[0]
                error = info.get("error")
                if error:
                    message = error.get("message") or error.get("responseCode") or "error"
                    raise ProviderError(f"Outlook free/busy: {message}")
                return CalendarBusy(calendar_id, _busy(info, window))
            except (ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
                raise ProviderError(f"Outlook free/busy: unreadable answer ({exc})") from None
        except CalgateError as exc:
            return CalendarBusy(calendar_id, error=exc)

    async def busy(
        self, account: AccountContext, calendar_ids: Sequence[str] | None, window: Window
    ) -> list[CalendarBusy]:
        if calendar_ids is None and account.email:
            return [await self._schedule(account, window)]
        return await self.events.busy(account, calendar_ids, window)
