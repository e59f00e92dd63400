"""v2 names the account in the path (``/v2/{account_id}/…``); a body may echo it."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path

from calgate.api.deps import CallerDep, QueryAccount

AccountPath = Annotated[
    str, Path(description="The id of the account to use.", min_length=1, max_length=80)
]


async def path_account(caller: CallerDep, account_id: AccountPath) -> QueryAccount:
    return QueryAccount(caller, account_id)


PathAccountDep = Annotated[QueryAccount, Depends(path_account)]
