"""v2 names the account in the path (``/v2/{account_id}/…``); a body may echo it."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from calgate.api.deps import CallerDep, QueryAccount, known_query
from calgate.errors import InvalidParameters

AccountPath = Annotated[
    str, Path(description="The id of the account to use.", min_length=1, max_length=80)
]


def refuse_write_query(request: Request) -> None:
    """v2 writes take nothing in the query string (a parameter there would be ignored)."""
    if request.method != "GET" and request.query_params:
        name = next(iter(request.query_params))
        raise InvalidParameters(f"{name[:40]}: a v2 write takes no query parameter")


async def refuse_delete_body(request: Request) -> None:
    """A v2 DELETE takes no body (v1's takes ``account_id`` there; v2's account is the path's):
    one sent would be ignored, so it is refused (an empty one, or ``{}``, says nothing)."""
    if request.method == "DELETE" and b"".join((await request.body()).split()) not in (b"", b"{}"):
        raise InvalidParameters("body: a v2 DELETE takes no body")


async def path_account(
    request: Request, caller: CallerDep, account_id: AccountPath
) -> QueryAccount:
    """The path's account; v2 writes take nothing in the query string (reads: ``KnownQuery``)
    and a DELETE no body."""
    refuse_write_query(request)
    await refuse_delete_body(request)
    return QueryAccount(caller, account_id)


async def known_v2_query(request: Request, caller: CallerDep) -> None:
    """Routes without an account in the path (webhook endpoints): a read refuses a query
    parameter it does not declare, a write any query parameter, a DELETE a body; the API key
    is checked first."""
    refuse_write_query(request)
    await refuse_delete_body(request)
    await known_query(request, caller)


KnownV2Query = Depends(known_v2_query)


PathAccountDep = Annotated[QueryAccount, Depends(path_account)]
