"""The operator console (``/console``): signed in with an operator key (`calgate admin-keys
create`), it shows tenants, accounts with status and sync state, calendars, webhooks with their
recent deliveries (retry), the outbox's depth and API keys (create, revoke). Every action calls
the service the API or the CLI calls (:mod:`calgate.services.console`).

The session is a cookie sealed with calgate's secret key (HttpOnly, SameSite=Strict, path
``/console``) naming the operator key, checked live on every request: revoking the key ends
its sessions. Every POST carries a CSRF token bound to the session cookie."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from starlette.responses import RedirectResponse, Response

from calgate.api.pages.render import Csrf, form_of, page
from calgate.domain.times import format_utc
from calgate.errors import CalgateError
from calgate.providers.oauth import open_state, seal_state
from calgate.runtime import Runtime
from calgate.services.console import Console
from calgate.store.codec import us_to_dt

PREFIX = "/console"
SESSION_COOKIE = "calgate_console"
SESSION_SECONDS = 8 * 3600
router = APIRouter(prefix=PREFIX, include_in_schema=False)
Id = Annotated[str, Path(max_length=64)]


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def _login_csrf(runtime: Runtime) -> Csrf:
    return Csrf(runtime.accounts.box, "calgate_console_login", PREFIX, "strict")


def _session_csrf(runtime: Runtime) -> Csrf:
    return Csrf(runtime.accounts.box, SESSION_COOKIE, PREFIX, "strict")


def _secure(runtime: Runtime) -> bool:
    return runtime.settings.base_url.startswith("https://")


def when(us: int | None) -> str:
    return format_utc(us_to_dt(us))[:19].replace("T", " ") if us else ""


async def _operator(request: Request) -> str | None:
    """The CSRF token of the signed-in operator's session, or None (not signed in)."""
    runtime = _runtime(request)
    sealed = request.cookies.get(SESSION_COOKIE, "")
    if not sealed:
        return None
    try:
        session = open_state(runtime.accounts.box, sealed)
    except CalgateError:
        return None
    if not await Console(runtime).key_is_live(session.get("key", "")):
        return None
    return _session_csrf(runtime).token(sealed)


def _to_login() -> Response:
    return RedirectResponse(f"{PREFIX}/login", 303)


def _render(name: str, csrf: str, status: int = 200, **context: object) -> Response:
    return page(name, status, csrf=csrf, signed_in=True, when=when, **context)


@router.get("/login")
async def login_page(request: Request, error: str = "") -> Response:
    runtime = _runtime(request)
    status = 401 if error else 200
    return _login_csrf(runtime).page(
        request, "console_login.html", status, secure=_secure(runtime), error=error
    )


@router.post("/login")
async def login(request: Request) -> Response:
    runtime = _runtime(request)
    try:
        form = await form_of(request)
        _login_csrf(runtime).check(request, form)
    except CalgateError as exc:
        return await login_page(request, error=exc.detail)
    key = await Console(runtime).signed_in(form.get("key", "").strip())
    if key is None:
        return await login_page(request, error="This operator key is unknown or revoked.")
    sealed = seal_state(runtime.accounts.box, {"key": key.id}, SESSION_SECONDS)
    response = RedirectResponse(PREFIX, 303)
    response.set_cookie(
        SESSION_COOKIE,
        sealed,
        max_age=SESSION_SECONDS,
        path=PREFIX,
        httponly=True,
        secure=_secure(runtime),
        samesite="strict",
    )
    return response


async def _checked(request: Request) -> tuple[str | None, dict[str, str]]:
    """For a POST: the session's CSRF token (None: not signed in) and the form, CSRF checked."""
    csrf = await _operator(request)
    if csrf is None:
        return None, {}
    form = await form_of(request)
    _session_csrf(_runtime(request)).check(request, form)
    return csrf, form


@router.post("/logout")
async def logout(request: Request) -> Response:
    await _checked(request)
    response = _to_login()
    response.delete_cookie(SESSION_COOKIE, path=PREFIX)
    return response


@router.get("")
async def overview(request: Request) -> Response:
    csrf = await _operator(request)
    if csrf is None:
        return _to_login()
    data = await Console(_runtime(request)).overview()
    return _render("console_overview.html", csrf, overview=data)


@router.get("/tenants/{tenant_id}")
async def tenant(request: Request, tenant_id: Id, notice: str = "", new_key: str = "") -> Response:
    csrf = await _operator(request)
    if csrf is None:
        return _to_login()
    try:
        view = await Console(_runtime(request)).tenant(tenant_id)
    except CalgateError as exc:
        return _render("console_error.html", csrf, exc.status, message=exc.detail)
    notices = {"retried": "The delivery is queued again.", "revoked": "The key is revoked."}
    return _render(
        "console_tenant.html", csrf, view=view, notice=notices.get(notice, ""), new_key=new_key
    )


@router.get("/tenants/{tenant_id}/accounts/{account_id}")
async def account(request: Request, tenant_id: Id, account_id: Id) -> Response:
    csrf = await _operator(request)
    if csrf is None:
        return _to_login()
    try:
        record, calendars = await Console(_runtime(request)).calendars(tenant_id, account_id)
    except CalgateError as exc:
        return _render("console_error.html", csrf, exc.status, message=exc.detail)
    return _render("console_account.html", csrf, record=record, calendars=calendars)


def _back(tenant_id: str, notice: str) -> Response:
    return RedirectResponse(f"{PREFIX}/tenants/{tenant_id}?notice={notice}", 303)


@router.post("/tenants/{tenant_id}/webhooks/{webhook_id}/deliveries/{delivery_id}/retry")
async def retry(request: Request, tenant_id: Id, webhook_id: Id, delivery_id: Id) -> Response:
    try:
        csrf, _ = await _checked(request)
        if csrf is None:
            return _to_login()
        # The same call as POST /api/v1/webhooks/{id}/deliveries/{id}/redeliver.
        await _runtime(request).webhooks.redeliver(tenant_id, webhook_id, delivery_id)
    except CalgateError as exc:
        return page("console_error.html", exc.status, message=exc.detail, signed_in=False)
    return _back(tenant_id, "retried")


@router.post("/tenants/{tenant_id}/keys")
async def create_key(request: Request, tenant_id: Id) -> Response:
    try:
        csrf, form = await _checked(request)
        if csrf is None:
            return _to_login()
        name = form.get("name", "").strip()[:200] or "console"
        raw = await Console(_runtime(request)).create_key(tenant_id, name)
    except CalgateError as exc:
        return page("console_error.html", exc.status, message=exc.detail, signed_in=False)
    # Shown once, on this answer only (never in a URL).
    view = await Console(_runtime(request)).tenant(tenant_id)
    return _render("console_tenant.html", csrf, 201, view=view, notice="", new_key=raw)


@router.post("/tenants/{tenant_id}/keys/{key_id}/revoke")
async def revoke_key(request: Request, tenant_id: Id, key_id: Id) -> Response:
    try:
        csrf, _ = await _checked(request)
        if csrf is None:
            return _to_login()
        await Console(_runtime(request)).revoke_key(tenant_id, key_id)
    except CalgateError as exc:
        return page("console_error.html", exc.status, message=exc.detail, signed_in=False)
    return _back(tenant_id, "revoked")
