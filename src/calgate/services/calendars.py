"""Calendar management rules every provider shares: what may be set, and on which calendars.

Which fields a provider's calendars hold is data (``Capabilities.calendar_fields``); a field
it cannot hold is a 501 naming it, before any provider call. A calendar the account may only
read is a 403; the primary calendar (Google's, Outlook's default, the first writable CalDAV
collection, a LOCAL account's default) is never deleted.
"""

from __future__ import annotations

from collections.abc import Iterable

from calgate.domain.model import Calendar
from calgate.errors import CalgateError, FeatureNotImplemented, InvalidParameters
from calgate.providers.base import Capabilities

__all__ = ["CALENDAR_FIELDS", "check_deletable", "check_fields", "check_writable"]

CALENDAR_FIELDS = ("name", "description", "background_color", "timezone")


def check_fields(caps: Capabilities, kind: str, given: Iterable[str]) -> None:
    if not caps.calendar_management:
        raise FeatureNotImplemented(f"{kind} calendars cannot be managed through calgate")
    for name in given:
        if name not in caps.calendar_fields:
            raise FeatureNotImplemented(f"{name}: {kind} calendars cannot hold one")


def check_writable(calendar: Calendar, doing: str) -> None:
    if calendar.is_read_only or not calendar.is_owned_by_user:
        raise CalgateError(
            f"calendar_id: {calendar.id} is not owned by this account "
            f"({calendar.access_role}); it cannot be {doing}",
            type="errors/insufficient_permissions",
        )


def check_deletable(calendar: Calendar) -> None:
    check_writable(calendar, "deleted")
    if calendar.is_primary or calendar.is_default:
        raise InvalidParameters(
            f"calendar_id: {calendar.id} is the account's primary calendar, which cannot be "
            "deleted (delete the account instead)"
        )
