"""Calendar creates under an Idempotency-Key on providers that choose the new calendar's id
(``Capabilities.calendar_ids == "provider"``: Google's ``calendars.insert`` and Graph's
``POST /me/calendars`` take no id nor transaction id from the client).

Before the provider is asked to make the calendar, the ids of the account's calendars that
already have the requested name are noted on the key, committed (:attr:`calgate.store.
idempotency.Active.note`). A retry that took the key over from an attempt that died (it gets
that note) lists the calendars again: one with the requested name that was not there before is
the calendar the dead attempt made, and is answered (what the dead attempt had not set yet, such
as Google's colour, set now) instead of a second one. The provider tells the calendars apart by
nothing calgate chose, so a calendar of that name made by someone else between the crash and
the retry would be taken for it.
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson

from calgate.domain.model import Calendar
from calgate.providers.base import AccountContext, Provider
from calgate.store import idempotency

__all__ = ["create"]


async def create(
    provider: Provider, account: AccountContext, calendar: Calendar, given: Sequence[str]
) -> Calendar:
    """Create ``calendar`` (``given``: the fields the request set), or answer the one a dead
    attempt of the same Idempotency-Key made."""
    active = idempotency.current.get()
    if active is None:
        return await provider.create_calendar(account, calendar)
    named = [c for c in await provider.list_calendars(account) if c.name == calendar.name]
    if active.noted is None:
        await active.note(orjson.dumps(sorted(c.id for c in named)).decode())
    else:
        there = set(orjson.loads(active.noted))
        made = next((c for c in named if c.id not in there), None)
        if made is not None:
            return await _finished(provider, account, made, calendar, given)
    return await provider.create_calendar(account, calendar)


async def _finished(
    provider: Provider,
    account: AccountContext,
    made: Calendar,
    wanted: Calendar,
    given: Sequence[str],
) -> Calendar:
    """``made`` with what the request set and it lacks (the dead attempt may have died between
    the provider's create and its next call)."""
    changes = {
        name: getattr(wanted, name)
        for name in given
        if getattr(made, name) != getattr(wanted, name)
    }
    if not changes:
        return made
    return await provider.update_calendar(account, made.id, changes)
