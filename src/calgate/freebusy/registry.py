"""The one table from account type to free/busy source."""

from __future__ import annotations

from calgate.freebusy.base import Origin, Source
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
    notes=("CalDAV calendar-query, series expanded by calgate",),
)


def sources(providers: Providers, db: Database) -> dict[str, Source]:
    table = providers.table
    google, outlook = table["GOOGLE_OAUTH"], table["OUTLOOK"]
    assert isinstance(google, GoogleProvider) and isinstance(outlook, MicrosoftProvider)
    return {
        "LOCAL": LocalSource(db),
        "CALDAV": EventsSource(table["CALDAV"], CALDAV),
        "ICLOUD": EventsSource(table["ICLOUD"], CALDAV),
        "GOOGLE_OAUTH": GoogleSource(google),
        "OUTLOOK": MicrosoftSource(outlook),
    }
