"""The operator console without a browser (tests/test_pages_browser.py drives Chromium):
signing in with an operator key only, the session cookie, CSRF, API keys created and revoked
with the API's own effect."""

from __future__ import annotations

import re

import pytest

from calgate.store import admin_keys
from tests.conftest import Api
from tests.pagekit import parse

pytestmark = pytest.mark.anyio


async def operator_key(api: Api) -> tuple[str, str]:
    key, raw = await api.runtime.db.write(lambda c: admin_keys.create(c, "ops"))
    return key.id, raw


async def sign_in(api: Api, raw: str) -> str:
    """Signs in; returns the CSRF token of the session's pages."""
    page = parse(await api.client.get("/console/login"))
    r = await api.client.post("/console/login", data={"csrf": page.inputs["csrf"], "key": raw})
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/console"
    cookie = r.headers["set-cookie"].lower()
    assert all(p in cookie for p in ("httponly", "samesite=strict", "path=/console"))
    r = await api.client.get("/console")
    assert r.status_code == 200, r.text
    return parse(r).inputs["csrf"]


async def test_signed_out_goes_to_the_login_page(api: Api) -> None:
    for path in ("/console", f"/console/tenants/{api.a.id}"):
        r = await api.client.get(path)
        assert r.status_code == 303
        assert r.headers["location"] == "/console/login"
    r = await api.client.post(f"/console/tenants/{api.a.id}/keys", data={"name": "x"})
    assert r.status_code == 303
    assert r.headers["location"] == "/console/login"


async def test_api_keys_and_wrong_keys_do_not_sign_in(api: Api) -> None:
    for raw in (api.a.key, "cga_nothing", ""):
        page = parse(await api.client.get("/console/login"))
        r = await api.client.post("/console/login", data={"csrf": page.inputs["csrf"], "key": raw})
        assert r.status_code == 401, r.text
        assert "unknown or revoked" in r.text or "required" in r.text
        assert "calgate_console=" not in r.headers.get("set-cookie", "")
    # An operator key is no API key either.
    _, raw = await operator_key(api)
    r = await api.client.get("/api/v1/accounts", headers={"X-API-KEY": raw})
    assert r.status_code == 401


async def test_overview_lists_tenants_and_tenant_page_its_accounts(api: Api) -> None:
    _, raw = await operator_key(api)
    await sign_in(api, raw)
    r = await api.client.get("/console")
    assert api.a.id in r.text and api.b.id in r.text
    assert "Outbox" in r.text
    r = await api.client.get(f"/console/tenants/{api.a.id}")
    assert r.status_code == 200
    assert api.a.account_id in r.text
    assert api.b.account_id not in r.text
    r = await api.client.get(f"/console/tenants/{api.a.id}/accounts/{api.a.account_id}")
    assert r.status_code == 200
    assert api.a.calendar_id in r.text
    r = await api.client.get(f"/console/tenants/{api.a.id}/accounts/{api.b.account_id}")
    assert r.status_code == 404


async def test_keys_created_and_revoked_like_the_cli(api: Api) -> None:
    _, raw = await operator_key(api)
    csrf = await sign_in(api, raw)
    r = await api.client.post(
        f"/console/tenants/{api.a.id}/keys", data={"csrf": csrf, "name": "billing"}
    )
    assert r.status_code == 201, r.text
    [new_key] = re.findall(r"<code>(cg_[^<]+)</code>", r.text)
    r = await api.client.get("/api/v1/accounts", headers={"X-API-KEY": new_key})
    assert r.status_code == 200
    assert [a["id"] for a in r.json()["items"]] == [api.a.account_id]
    # The tenant page never shows a raw key again.
    page = await api.client.get(f"/console/tenants/{api.a.id}")
    assert new_key not in page.text
    key_id = [f.split("/")[-2] for f in parse(page).forms if f.endswith("/revoke")]
    assert len(key_id) == 2
    r = await api.client.post(
        f"/console/tenants/{api.a.id}/keys/{key_id[-1]}/revoke", data={"csrf": csrf}
    )
    assert r.status_code == 303
    r = await api.client.get("/api/v1/accounts", headers={"X-API-KEY": new_key})
    assert r.status_code == 401
    # Another tenant's key cannot be revoked from this tenant's page.
    r = await api.client.post(
        f"/console/tenants/{api.b.id}/keys/{key_id[0]}/revoke", data={"csrf": csrf}
    )
    assert r.status_code == 404


async def test_posts_need_the_session_csrf_token(api: Api) -> None:
    _, raw = await operator_key(api)
    await sign_in(api, raw)
    for form in ({"name": "x"}, {"name": "x", "csrf": "f" * 64}):
        r = await api.client.post(f"/console/tenants/{api.a.id}/keys", data=form)
        assert r.status_code == 400, r.text
        assert "csrf" in r.text
    keys = (await api.client.get(f"/console/tenants/{api.a.id}")).text
    assert keys.count("/revoke") == 1


async def test_revoking_the_operator_key_ends_its_sessions(api: Api) -> None:
    key_id, raw = await operator_key(api)
    await sign_in(api, raw)
    await api.runtime.db.write(lambda c: admin_keys.revoke(c, key_id))
    r = await api.client.get("/console")
    assert r.status_code == 303
    assert r.headers["location"] == "/console/login"
