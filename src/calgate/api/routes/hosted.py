"""Hosted auth (Unipile's `POST /api/v1/hosted/accounts/link`): connect an account through
calgate's page (calgate.api.pages.hosted) or straight through Google's or Outlook's consent
screen, with PKCE and a sealed `state`."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from starlette.responses import RedirectResponse, Response

from calgate.api.deps import CallerDep
from calgate.api.errors import COMMON_ERRORS, error_responses
from calgate.api.pages.render import page
from calgate.api.wire import parse_instant
from calgate.errors import CalgateError, InvalidParameters
from calgate.runtime import Runtime
from calgate.security import validate_public_url
from calgate.services.hosted import CALLBACK_PATH, KINDS, HostedAuth, LinkRequest, with_query

router = APIRouter(prefix="/api/v1/hosted/accounts", tags=["Accounts"])
ERRORS = error_responses(
    *COMMON_ERRORS,
    also=("errors/expired_link", "errors/account_mismatch"),
)

Url = Annotated[str, StringConstraints(strict=True, max_length=2048)]


class HostedLinkIn(BaseModel):
    """Body of `POST /api/v1/hosted/accounts/link`."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={
            "examples": [
                {
                    "provider": "GOOGLE_OAUTH",
                    "name": "Ada's calendar",
                    "success_redirect_url": "https://app.example.org/connected",
                    "failure_redirect_url": "https://app.example.org/failed",
                }
            ]
        },
    )
    provider: str | None = Field(
        None,
        description="One account kind: `GOOGLE_OAUTH`, `OUTLOOK`, `ICLOUD`, `CALDAV`, `LOCAL`.",
    )
    providers: list[str] | str | None = Field(
        None,
        description="Unipile's form: the kinds the page offers (`GOOGLE`, `OUTLOOK`, `ICLOUD`, "
        "`CALDAV`, `LOCAL`), or `*` for all but LOCAL.",
    )
    type: Literal["create", "reconnect"] = Field(
        "create",
        description="`create` a new account, or `reconnect` the one named by "
        "`reconnect_account` (its id, calendars and webhooks stay).",
    )
    reconnect_account: Annotated[str, StringConstraints(strict=True, max_length=64)] | None = Field(
        None, description="With `type: reconnect`: the id of the account to reconnect."
    )
    name: Annotated[str, StringConstraints(strict=True, max_length=256)] | None = None
    expiresOn: str | None = Field(
        None, description="When the link stops working (ISO 8601); default 1 hour, max 24 h."
    )
    api_url: Url | None = Field(None, description="Accepted for compatibility; not used.")
    success_redirect_url: Url | None = Field(
        None, description="Where the browser goes once connected (`?account_id=` appended)."
    )
    failure_redirect_url: Url | None = Field(
        None, description="Where the browser goes on failure (`?error=` appended)."
    )
    notify_url: Url | None = Field(
        None,
        description='Called once connected: POST `{"status":"CREATION_SUCCESS",'
        '"account_id","name"}`.',
    )


def _request(body: HostedLinkIn) -> LinkRequest:
    reconnect = body.type == "reconnect"
    if reconnect and not body.reconnect_account:
        raise InvalidParameters("reconnect_account: required with type 'reconnect'")
    if body.reconnect_account and not reconnect:
        raise InvalidParameters("reconnect_account: only with type 'reconnect'")
    chosen = [body.provider] if body.provider else []
    if isinstance(body.providers, str):
        chosen.append(body.providers)
    elif body.providers:
        chosen += body.providers
    if ("*" in chosen and len(chosen) > 1) or not (chosen or reconnect):
        raise InvalidParameters(
            "providers: name the account kinds the link offers (GOOGLE_OAUTH, OUTLOOK, ICLOUD, "
            "CALDAV, LOCAL), or '*' alone for every kind but LOCAL"
        )
    for field in ("success_redirect_url", "failure_redirect_url"):
        value = getattr(body, field)
        if value:
            validate_public_url(value, allow_loopback=True, field=field)
    return LinkRequest(
        providers=tuple(chosen),
        name=body.name,
        expires_at=parse_instant(body.expiresOn, "expiresOn"),
        success_redirect_url=body.success_redirect_url,
        failure_redirect_url=body.failure_redirect_url,
        notify_url=body.notify_url,
        reconnect=body.reconnect_account,
    )


def _hosted(runtime: Runtime) -> HostedAuth:
    return HostedAuth(runtime.settings, runtime.providers, runtime.accounts, runtime.events.connect)


@router.post(
    "/link",
    summary="Link to connect an account (hosted page)",
    description="Answers calgate's hosted page (`/hosted/accounts/…`), where the user picks one "
    "of the kinds named and connects it; a link naming Google or Outlook alone answers that "
    "provider's consent URL directly. After consent the provider sends the "
    f"browser to `{CALLBACK_PATH}` on calgate (register that URL, under calgate's public URL, "
    "as the OAuth client's redirect URI), which creates the account. With `type: reconnect` "
    "and `reconnect_account`, the consent URL of that account's provider (Google, Outlook), "
    "or calgate's page with that account's form (iCloud, CalDAV: server and username filled "
    "in, a new password checked with the server); the account gets its new credentials (the "
    "same user must consent, or the same username on the same server be given: 403 "
    "`account_mismatch` otherwise) and its status back to OK, keeping its id, calendars, "
    "mirror and webhooks; `notify_url` hears `RECONNECTED`.",
    response_model=None,
    responses=ERRORS,
)
async def create_link(call: CallerDep, body: HostedLinkIn) -> dict[str, Any]:
    request, hosted = _request(body), _hosted(call.runtime)
    if request.reconnect:
        url = await hosted.reconnect_link(call.tenant, request)
    else:
        url = hosted.link(call.tenant, request)
    return {"object": "HostedAuthURL", "url": url}


@router.get(
    "/callback",
    summary="OAuth redirect target (the provider sends the browser here)",
    description="Needs no API key: the sealed `state` says which tenant asked for the link.",
    response_model=None,
    responses=ERRORS,
    openapi_extra={"security": []},
)
async def callback(
    request: Request,
    state: Annotated[str, Query(max_length=4096)] = "",
    code: Annotated[str | None, Query(max_length=4096)] = None,
    error: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    hosted = _hosted(request.app.state.runtime)
    try:
        done = await hosted.complete(code, state, error)
    except CalgateError as exc:
        failure = hosted.failure_url(state)
        if failure is None:
            raise
        error = exc.error.type.removeprefix("errors/")
        return RedirectResponse(with_query(failure, error=error), status_code=303)
    if done.success_redirect_url:
        target = with_query(done.success_redirect_url, account_id=done.account_id)
        return RedirectResponse(target, status_code=303)
    return page(
        "hosted_result.html",
        201,
        heading="Calendar connected",
        message=f"Your {KINDS[done.account_type].label} account is connected "
        f"(id {done.account_id}). You can close this window.",
        ok=True,
    )
