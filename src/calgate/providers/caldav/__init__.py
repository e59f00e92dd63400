"""CalDAV (RFC 4791) accounts: any CalDAV server (CALDAV) and iCloud (ICLOUD).

- :mod:`.provider`: the :class:`~calgate.providers.base.Provider` for both account types;
- :mod:`.discovery`: principal -> calendar home -> calendars;
- :mod:`.resources`: ``.ics`` resources as calgate events and back;
- :mod:`.listing`: filters, series expansion and pages of a calendar query;
- :mod:`.transport`: calls with a deadline, retries and calgate's error types;
- :mod:`.xml`: WebDAV request bodies and a safe reader of their answers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from calgate.providers.caldav.provider import CalDAVProvider, ICloudProvider

__all__ = ["CalDAVProvider", "ICloudProvider"]


def __getattr__(name: str) -> Any:
    # The providers are imported when first asked for, not with the package: the readings of
    # big answers (.reading) run in worker processes that need none of their imports.
    if name in __all__:
        from calgate.providers.caldav import provider

        return getattr(provider, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
