"""Route dependencies, named after what they give."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Query, Request

from calgate.errors import CalgateError, InvalidParameters, Unauthorized
from calgate.runtime import Runtime
from calgate.store import keys


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_tenant(
    runtime: RuntimeDep,
    x_api_key: Annotated[
        str | None, Header(alias="X-API-KEY", description="Your calgate API key.")
    ] = None,
) -> str:
    """The tenant of the request's API key."""
    if not x_api_key:
        raise CalgateError("send your API key in the X-API-KEY header", type="errors/missing_credentials")
    async with runtime.db.read() as conn:
        info = await keys.authenticate(conn, x_api_key)
    if info is None:
        raise Unauthorized("the X-API-KEY is unknown or revoked")
    return info.tenant_id


Tenant = Annotated[str, Depends(get_tenant)]


def get_account_id(
    account_id: Annotated[
        str | None, Query(description="The id of the account to use.", max_length=80)
    ] = None,
) -> str:
    if not account_id:
        raise InvalidParameters("account_id: required query parameter")
    return account_id


AccountId = Annotated[str, Depends(get_account_id)]
