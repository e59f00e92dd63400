"""Push notifications: Google watch channels and Microsoft Graph subscriptions, so that a
change made outside calgate makes its calendar's sync due at once instead of at the next poll.

- :mod:`.base`: the subscriber seam; one module per provider (:mod:`.google`,
  :mod:`.microsoft`), wired in :func:`subscribers`;
- :mod:`.keeper`: makes, renews and stops channels (any number of processes share them
  through :mod:`calgate.store.push`);
- :mod:`.inbox`: what a notification does (checked, recorded durably, never synced inline);
- :mod:`.status`, :mod:`.stats`: what the API, the CLI and ``/metrics`` show.
"""

from __future__ import annotations

from calgate.providers.google import GoogleProvider
from calgate.providers.microsoft import MicrosoftProvider
from calgate.providers.registry import Providers
from calgate.push.base import Subscriber


def subscribers(providers: Providers) -> dict[str, Subscriber]:
    """The one table from account type to subscriber (types without one are only polled)."""
    from calgate.push.google import GoogleSubscriber
    from calgate.push.microsoft import MicrosoftSubscriber

    table: dict[str, Subscriber] = {}
    for kind, provider in providers.table.items():
        if isinstance(provider, GoogleProvider):
            table[kind] = GoogleSubscriber(provider)
        elif isinstance(provider, MicrosoftProvider):
            table[kind] = MicrosoftSubscriber(provider)
    return table


__all__ = ["Subscriber", "subscribers"]
