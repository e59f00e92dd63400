"""The hosted page (``/hosted/accounts/{link}``): where the end user picks the kind of account
to connect. Google and Outlook go on to their consent screens; iCloud and CalDAV fill in a form
checked live by the connect path of ``POST /api/v1/accounts``; LOCAL is created at once. The
link (sealed by :class:`calgate.services.hosted.HostedAuth`) says the tenant, the kinds offered,
the account's name, the redirects and when it expires. A reconnect link of an iCloud or CalDAV
account opens that account's form, its server and username filled in."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from starlette.responses import RedirectResponse, Response

from calgate.api.pages.render import Csrf, form_of, page
from calgate.errors import CalgateError
from calgate.runtime import Runtime
from calgate.services.hosted import PAGE_PATH, HostedAuth, Link, with_query

router = APIRouter(prefix=PAGE_PATH, include_in_schema=False)
Token = Annotated[str, Path(max_length=4096)]
Type = Annotated[str, Path(max_length=20)]


def _hosted(request: Request) -> HostedAuth:
    runtime: Runtime = request.app.state.runtime
    return HostedAuth(runtime.settings, runtime.providers, runtime.accounts, runtime.events.connect)


def _csrf(hosted: HostedAuth) -> Csrf:
    return Csrf(hosted.accounts.box, "calgate_hosted", PAGE_PATH, "lax")


def _secure(hosted: HostedAuth) -> bool:
    return hosted.settings.base_url.startswith("https://")


def _broken(exc: CalgateError) -> Response:
    expired = exc.error.type == "errors/expired_link"
    message = (
        "This link has expired. Ask the application that sent you here for a new one."
        if expired
        else f"This link cannot be used ({exc.detail}). Ask the application that sent you "
        "here for a new one."
    )
    return page(
        "hosted_result.html", exc.status, heading="Link not usable", message=message, ok=False
    )


def _cancel(link: Link) -> str | None:
    if not link.failure_redirect_url:
        return None
    return with_query(link.failure_redirect_url, error="canceled")


def _done(link: Link, account_id: str, label: str) -> Response:
    if link.success_redirect_url:
        return RedirectResponse(with_query(link.success_redirect_url, account_id=account_id), 303)
    done = "reconnected" if link.reconnect else "connected"
    return page(
        "hosted_result.html",
        201,
        heading=f"Calendar {done}",
        message=f"Your {label} account is {done}. You can close this window.",
        ok=True,
    )


@router.get("/{token}")
async def choose(request: Request, token: Token) -> Response:
    hosted = _hosted(request)
    try:
        link = hosted.open_link(token)
    except CalgateError as exc:
        return _broken(exc)
    if link.reconnect:  # one account's form: nothing to choose
        return RedirectResponse(f"{PAGE_PATH}/{token}/form/{link.kinds[0].type}", 303)
    return _csrf(hosted).page(
        request,
        "hosted_pick.html",
        secure=_secure(hosted),
        kinds=link.kinds,
        base=f"{PAGE_PATH}/{token}",
        cancel=_cancel(link),
    )


@router.get("/{token}/oauth/{account_type}")
async def consent(request: Request, token: Token, account_type: Type) -> Response:
    hosted = _hosted(request)
    try:
        link = hosted.open_link(token)
        return RedirectResponse(hosted.start(link, account_type), 303)
    except CalgateError as exc:
        return _broken(exc)


def _form(
    request: Request,
    hosted: HostedAuth,
    link: Link,
    account_type: str,
    *,
    error: str = "",
    values: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    return _csrf(hosted).page(
        request,
        "hosted_form.html",
        status,
        secure=_secure(hosted),
        kind=hosted.kind(link, account_type),
        base=f"{PAGE_PATH}/{link.token}",
        cancel=_cancel(link),
        error=error,
        values=values or {},
        reconnect=bool(link.reconnect),
    )


@router.get("/{token}/form/{account_type}")
async def show_form(request: Request, token: Token, account_type: Type) -> Response:
    hosted = _hosted(request)
    try:
        link = hosted.open_link(token)
        return _form(request, hosted, link, account_type, values=await hosted.known(link))
    except CalgateError as exc:
        return _broken(exc)


@router.post("/{token}/form/{account_type}")
async def submit(request: Request, token: Token, account_type: Type) -> Response:
    hosted = _hosted(request)
    try:
        link = hosted.open_link(token)
        kind = hosted.kind(link, account_type)
    except CalgateError as exc:
        return _broken(exc)
    # What the form shows again after an error: never the password.
    values: dict[str, str] = {}
    try:
        form = await form_of(request)
        values = {k: form.get(k, "")[:2000] for k in ("url", "username")}
        _csrf(hosted).check(request, form)
        done = await hosted.connect(link, account_type, form)
    except CalgateError as exc:
        message = f"{exc.error.title}: {exc.detail}" if exc.detail else exc.error.title
        if kind.method == "local":
            return page(
                "hosted_result.html", exc.status, heading="Not connected", message=message, ok=False
            )
        return _form(
            request, hosted, link, account_type, error=message, values=values, status=exc.status
        )
    return _done(link, done.account_id, kind.label)
