"""Provider sync: every change in a connected calendar, wherever it was made, is mirrored in
calgate's database and reported to webhooks like a change made through calgate.

- :mod:`.feed`: the change-feed seam (a Protocol beside the Provider one), one module per
  provider kind (:mod:`.caldav`), wired in :data:`FEEDS`-building :func:`feeds`;
- :mod:`.engine`: one run (pull, compare with the mirror, commit with the cursor);
- :mod:`.diff`: what changed in one provider object, as webhook events;
- :mod:`.scheduler`: due times, leases, caps; run by ``calgate serve`` and ``calgate worker``;
- :mod:`.own`: changes made through calgate, so that sync does not report them twice;
- :mod:`.status`: what the API and the CLI show; :mod:`.stats`: the metrics.

The mirror's tables are in :mod:`calgate.store.mirror`.
"""

from __future__ import annotations

from calgate.providers.caldav import CalDAVProvider
from calgate.providers.google import GoogleProvider
from calgate.providers.microsoft import MicrosoftProvider
from calgate.providers.registry import Providers
from calgate.sync.feed import ChangeFeed


def feeds(providers: Providers) -> dict[str, ChangeFeed]:
    """The one table from account type to change feed (types without a feed are not synced)."""
    from calgate.sync.caldav import CalDAVFeed
    from calgate.sync.google import GoogleFeed
    from calgate.sync.microsoft import MicrosoftFeed

    table: dict[str, ChangeFeed] = {}
    for kind, provider in providers.table.items():
        if isinstance(provider, CalDAVProvider):
            table[kind] = CalDAVFeed(provider)
        elif isinstance(provider, GoogleProvider):
            table[kind] = GoogleFeed(provider)
        elif isinstance(provider, MicrosoftProvider):
            table[kind] = MicrosoftFeed(provider)
    return table


__all__ = ["ChangeFeed", "feeds"]
