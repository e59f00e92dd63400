"""Pure ASGI middleware: request ids, access logs and metrics; rate limits; fair share;
idempotency.

Order, outermost first (``calgate.api.app``): observability, rate limit, fair share, body
limit, NUL guard, idempotency, client watch, then the app (whose first layer answers the hot
event routes: ``calgate.api.fastpath``). Each costs next to nothing for requests it has nothing
to do with.
"""

from calgate.api.middleware.client import ClientWatch
from calgate.api.middleware.fairshare import FairShare
from calgate.api.middleware.idempotency import Idempotency
from calgate.api.middleware.nul import NulGuard
from calgate.api.middleware.observability import Observability
from calgate.api.middleware.ratelimit import RateLimit

__all__ = ["ClientWatch", "FairShare", "Idempotency", "NulGuard", "Observability", "RateLimit"]
