"""The one table from account type to free/busy source."""

from __future__ import annotations

from calgate.freebusy.base import EventReads, Origin, Source
from calgate.freebusy.events import EventsSource
from calgate.freebusy.google import GoogleSource
from calgate.freebusy.local import LocalSource
from calgate.freebusy.microsoft import MicrosoftSource
from calgate.providers.google import GoogleProvider
from calgate.providers.microsoft import MicrosoftProvider
from calgate.providers.registry import Providers
from calgate.store.db import Database

CALDAV = Origin(
    primary="events",
    calendars="events",
    notes=(
        "CalDAV calendar-query, series expanded by calgate; the sync mirror instead while it "
        "is current (CALGATE_SYNC_MIRROR_MAX_AGE_SECONDS)",
    ),
)


def sources(
    providers: Providers, db: Database, reads: EventReads | None = None
) -> dict[str, Source]:
    """``reads``: the sync mirror's reads (CalDAV and iCloud have a reader)."""
    table = providers.table
    google, outlook = table["GOOGLE_OAUTH"], table["OUTLOOK"]
    assert isinstance(google, GoogleProvider) and isinstance(outlook, MicrosoftProvider)
    return {
        "LOCAL": LocalSource(db),
        "CALDAV": EventsSource(table["CALDAV"], CALDAV, reads),
        "ICLOUD": EventsSource(table["ICLOUD"], CALDAV, reads),
        "GOOGLE_OAUTH": GoogleSource(google),
        "OUTLOOK": MicrosoftSource(outlook),
    }
