"""v2 names the account in the path (``/v2/{account_id}/…``); a body may echo it."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from calgate.api.deps import CallerDep, QueryAccount
from calgate.errors import InvalidParameters

AccountPath = Annotated[
    str, Path(description="The id of the account to use.", min_length=1, max_length=80)
]


async def path_account(
    request: Request, caller: CallerDep, account_id: AccountPath
) -> QueryAccount:
    """The path's account; v2 writes take nothing in the query string (reads: ``KnownQuery``)."""
    if request.method != "GET" and request.query_params:
        name = next(iter(request.query_params))
        raise InvalidParameters(f"{name[:40]}: a v2 write takes no query parameter")
    return QueryAccount(caller, account_id)


PathAccountDep = Annotated[QueryAccount, Depends(path_account)]
