"""Route dependencies, named after what they give.

They read the request directly (one dependency per route, not a tree of small ones): the
dependency solver is a measurable part of every request. The `X-API-KEY` header is documented
as a security scheme in the OpenAPI document (see ``calgate.api.app``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request

from calgate.errors import CalgateError, Unauthorized
from calgate.runtime import Runtime
from calgate.store import keys


async def tenant_of(request: Request) -> tuple[Runtime, str]:
    """The runtime and the tenant of the request's API key."""
    runtime: Runtime = request.app.state.runtime
    raw = request.headers.get("x-api-key")
    if not raw:
        raise CalgateError(
            "send your API key in the X-API-KEY header", type="errors/missing_credentials"
        )
    cache_key = keys.digest(raw)
    tenant = runtime.keys.get(cache_key)
    if tenant is None:
        info = await runtime.db.read(lambda c: keys.authenticate(c, raw))
        if info is None:
            raise Unauthorized("the X-API-KEY is unknown or revoked")
        tenant = info.tenant_id
        runtime.keys.put(cache_key, tenant)
    request.state.tenant = tenant  # for the access log (calgate.api.middleware.observability)
    return runtime, tenant


@dataclass(frozen=True, slots=True)
class Caller:
    runtime: Runtime
    tenant: str


@dataclass(frozen=True, slots=True)
class AccountCaller:
    runtime: Runtime
    tenant: str
    account_id: str


async def get_caller(request: Request) -> Caller:
    runtime, tenant = await tenant_of(request)
    return Caller(runtime, tenant)


async def get_account_caller(
    caller: Annotated[Caller, Depends(get_caller)],
    account_id: Annotated[
        str, Query(description="The id of the account to use.", min_length=1, max_length=80)
    ],
) -> AccountCaller:
    """Required ``account_id``; the API key is checked first (``caller`` is solved before this
    dependency's own parameters, so a call without a key is a 401, not a 400)."""
    return AccountCaller(caller.runtime, caller.tenant, account_id)


CallerDep = Annotated[Caller, Depends(get_caller)]
AccountDep = Annotated[AccountCaller, Depends(get_account_caller)]
