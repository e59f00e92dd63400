"""CalDAV (RFC 4791) accounts: any CalDAV server (CALDAV) and iCloud (ICLOUD).

- :mod:`.provider`: the :class:`~calgate.providers.base.Provider` for both account types;
- :mod:`.discovery`: principal -> calendar home -> calendars;
- :mod:`.resources`: ``.ics`` resources as calgate events and back;
- :mod:`.listing`: filters, series expansion and pages of a calendar query;
- :mod:`.transport`: calls with a deadline, retries and calgate's error types;
- :mod:`.xml`: WebDAV request bodies and a safe reader of their answers.
"""

from calgate.providers.caldav.provider import CalDAVProvider, ICloudProvider

__all__ = ["CalDAVProvider", "ICloudProvider"]
