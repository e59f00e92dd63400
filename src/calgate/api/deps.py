"""Route dependencies, named after what they give.

They read the request directly (one dependency per route, not a tree of small ones): the
dependency solver is a measurable part of every request. The `X-API-KEY` header is documented
as a security scheme in the OpenAPI document (see ``calgate.api.app``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Query, Request

from calgate.errors import CalgateError, InvalidParameters, Unauthorized
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
    tenant = await tenant_for(runtime, raw)
    request.state.tenant = tenant  # for the access log (calgate.api.middleware.observability)
    return runtime, tenant


async def tenant_for(runtime: Runtime, raw: str) -> str:
    """The tenant of the API key ``raw`` (remembered for ``cache_seconds``)."""
    cache_key = keys.digest(raw)
    tenant = runtime.keys.get(cache_key)
    if tenant is None:
        info = await runtime.db.read(lambda c: keys.authenticate(c, raw))
        if info is None:
            raise Unauthorized("the X-API-KEY is unknown or revoked")
        tenant = info.tenant_id
        runtime.keys.put(cache_key, tenant)
    return tenant


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


@dataclass(frozen=True, slots=True)
class QueryAccount:
    """The caller and the query's ``account_id``, which a JSON body may give instead: Unipile
    clients send ``account_id`` in bodies too (equal to the query's, or in its place)."""

    caller: Caller
    account_id: str | None

    def with_body(self, given: str | None) -> AccountCaller:
        if given is not None and self.account_id is not None and given != self.account_id:
            raise InvalidParameters(
                f"account_id: the body says {given!r}, the query string {self.account_id!r}"
            )
        account_id = self.account_id or given
        if not account_id:
            raise InvalidParameters("account_id: required (in the query string or the body)")
        return AccountCaller(self.caller.runtime, self.caller.tenant, account_id)


async def get_query_account(
    caller: Annotated[Caller, Depends(get_caller)],
    account_id: Annotated[
        str | None,
        Query(
            description="The id of the account to use; required here or in the JSON body.",
            min_length=1,
            max_length=80,
        ),
    ] = None,
) -> QueryAccount:
    return QueryAccount(caller, account_id)


_DECLARED: dict[int, frozenset[str]] = {}


def query_fields(dependant: Any) -> Iterator[Any]:
    """The query parameters a route (its ``dependant``) takes, its dependencies' included."""
    yield from dependant.query_params
    for sub in dependant.dependencies:
        yield from query_fields(sub)


def _declared(dependant: Any) -> frozenset[str]:
    return frozenset(field.alias for field in query_fields(dependant))


async def known_query(request: Request, caller: Annotated[Caller, Depends(get_caller)]) -> None:
    """Refuse a query parameter a read does not take (``ofset=2`` would otherwise be ignored
    and a client paging by it loop forever); the API key is checked first. Writes take only
    ``account_id`` in the query (missing or misspelt: a 400 already)."""
    if request.method != "GET":
        return
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    declared = _DECLARED.get(id(route))
    if declared is None:
        declared = _DECLARED[id(route)] = _declared(dependant)
    unknown = sorted(set(request.query_params) - declared)
    if unknown:
        raise InvalidParameters(f"{unknown[0][:40]}: unknown query parameter")


CallerDep = Annotated[Caller, Depends(get_caller)]
KnownQuery = Depends(known_query)
AccountDep = Annotated[AccountCaller, Depends(get_account_caller)]
QueryAccountDep = Annotated[QueryAccount, Depends(get_query_account)]
