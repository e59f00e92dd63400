"""The hosted page (no browser: tests/test_pages_browser.py drives Chromium): the kinds a link
offers, LOCAL and CalDAV accounts connected through the form, a reconnect link's form, CSRF,
expiry, notify_url, and no password ever sent back."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from calgate.providers.oauth import seal_state
from calgate.settings import Settings
from tests.conftest import Api
from tests.pagekit import parse
from tests.radicale import Radicale, radicale_fixture  # noqa: F401 - fixture
from tests.receiver import running_receiver

pytestmark = pytest.mark.anyio


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"public_url": "http://calgate.test", "allow_loopback_urls": True}
    )


async def page_link(api: Api, **body: Any) -> str:
    r = await api.call("POST", "/api/v1/hosted/accounts/link", json=body)
    assert r.status_code == 200, r.text
    url: str = r.json()["url"]
    assert url.startswith("http://calgate.test/hosted/accounts/"), url
    return urlsplit(url).path


async def accounts(api: Api) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (await api.call("GET", "/api/v1/accounts")).json()["items"]
    return items


async def test_page_offers_the_kinds_of_the_link(api: Api) -> None:
    path = await page_link(api, providers="*")
    r = await api.client.get(path)
    assert r.status_code == 200
    page = parse(r)
    # Without OAuth clients configured, '*' offers the password kinds only.
    assert [f for f in page.links if "/form/" in f or "/oauth/" in f] == [
        f"{path}/form/ICLOUD",
        f"{path}/form/CALDAV",
    ]
    assert "LOCAL" not in r.text
    assert r.headers["x-frame-options"] == "DENY"
    assert "default-src 'none'" in r.headers["content-security-policy"]
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie


async def test_local_account_through_the_page_redirects_with_its_id(api: Api) -> None:
    path = await page_link(
        api,
        providers=["LOCAL", "CALDAV"],
        name="Team room",
        success_redirect_url="https://app.example.org/ok?u=7",
    )
    page = parse(await api.client.get(path))
    form = {"csrf": page.inputs["csrf"]}
    r = await api.client.post(f"{path}/form/LOCAL", data=form)
    assert r.status_code == 303, r.text
    target = urlsplit(r.headers["location"])
    assert (target.netloc, target.path) == ("app.example.org", "/ok")
    account_id = parse_qs(target.query)["account_id"][0]
    mine = [a for a in await accounts(api) if a["id"] == account_id]
    assert [(a["type"], a["name"]) for a in mine] == [("LOCAL", "Team room")]


async def test_post_without_the_csrf_token_creates_nothing(api: Api) -> None:
    path = await page_link(api, providers=["LOCAL", "CALDAV"])
    await api.client.get(path)  # the cookie is set
    before = len(await accounts(api))
    for form in ({}, {"csrf": "0" * 64}):
        r = await api.client.post(f"{path}/form/LOCAL", data=form)
        assert r.status_code == 400, r.text
        assert "csrf" in r.text
    api.client.cookies.clear()
    r = await api.client.post(f"{path}/form/LOCAL", data={"csrf": "x"})
    assert r.status_code == 400
    assert len(await accounts(api)) == before


async def test_a_kind_the_link_does_not_offer_is_refused(api: Api) -> None:
    path = await page_link(api, providers=["CALDAV", "ICLOUD"])
    page = parse(await api.client.get(f"{path}/form/CALDAV"))
    r = await api.client.post(f"{path}/form/LOCAL", data={"csrf": page.inputs["csrf"]})
    assert r.status_code == 400
    assert "does not offer &#39;LOCAL&#39;" in r.text
    assert [a["type"] for a in await accounts(api)] == ["LOCAL"]


async def test_wrong_password_shows_the_form_again_without_it(api: Api, radicale: Radicale) -> None:
    user = radicale.add_user()
    path = await page_link(api, providers=["CALDAV", "ICLOUD"])
    page = parse(await api.client.get(f"{path}/form/CALDAV"))
    secret = "not-the-password-" + user.password
    form = {
        "csrf": page.inputs["csrf"],
        "url": radicale.url + "/",
        "username": user.name,
        "password": secret,
    }
    r = await api.client.post(f"{path}/form/CALDAV", data=form)
    assert r.status_code == 401, r.text
    assert secret not in r.text
    again = parse(r)
    assert again.inputs["username"] == user.name
    assert again.inputs["url"] == radicale.url + "/"
    assert again.inputs["password"] == ""
    assert 'role="alert"' in r.text
    assert [a["type"] for a in await accounts(api)] == ["LOCAL"]


async def test_caldav_form_connects_and_calls_notify_url(api: Api, radicale: Radicale) -> None:
    user = radicale.add_user()
    radicale.make_calendar(user, "work", "Work")
    with running_receiver() as receiver:
        path = await page_link(api, providers=["CALDAV"], name="user-42", notify_url=receiver.url)
        page = parse(await api.client.get(f"{path}/form/CALDAV"))
        form = {
            "csrf": page.inputs["csrf"],
            "url": radicale.url + "/",
            "username": user.name,
            "password": user.password,
        }
        r = await api.client.post(f"{path}/form/CALDAV", data=form)
        assert r.status_code == 201, r.text
        assert user.password not in r.text
        [account] = [a for a in await accounts(api) if a["type"] == "CALDAV"]
        assert account["name"] == "user-42"
        assert [q.json() for q in receiver.requests] == [
            {"status": "CREATION_SUCCESS", "account_id": account["id"], "name": "user-42"}
        ]


async def test_expired_and_forged_links_show_a_page(api: Api) -> None:
    flow = {"tenant": api.a.id, "kinds": "LOCAL"}
    expired = seal_state(api.runtime.accounts.box, flow, ttl=-1)
    r = await api.client.get(f"/hosted/accounts/{expired}")
    assert r.status_code == 401
    assert "expired" in r.text
    r = await api.client.get("/hosted/accounts/forged-token")
    assert r.status_code == 400
    assert "cannot be used" in r.text


async def test_oauth_kind_goes_to_the_consent_screen(api: Api) -> None:
    # Without an OAuth client, naming Google in a page link is refused up front.
    r = await api.call(
        "POST", "/api/v1/hosted/accounts/link", json={"providers": ["GOOGLE", "CALDAV"]}
    )
    assert r.status_code == 400
    assert "CALGATE_GOOGLE_CLIENT_ID" in r.json()["detail"]


async def test_pages_are_outside_the_api_document(api: Api) -> None:
    spec = (await api.client.get("/openapi.json")).json()
    assert not [p for p in spec["paths"] if p.startswith(("/hosted", "/console"))]
    css = await api.client.get("/pages/static/pages.css")
    assert css.status_code == 200 and "color" in css.text


async def test_reconnect_link_opens_the_accounts_own_form(api: Api, radicale: Radicale) -> None:
    user = radicale.add_user()
    body = {"provider": "CALDAV", "url": radicale.url + "/", "username": user.name}
    r = await api.call("POST", "/api/v1/accounts", json=body | {"password": user.password})
    assert r.status_code == 201, r.text
    account_id = r.json()["account_id"]
    wrong = {"type": "reconnect", "reconnect_account": account_id, "provider": "ICLOUD"}
    r = await api.call("POST", "/api/v1/hosted/accounts/link", json=wrong)
    assert r.status_code == 400
    assert "CALDAV" in r.json()["detail"]
    form = await page_link(api, type="reconnect", reconnect_account=account_id)
    assert form.endswith("/form/CALDAV")
    path = form.removesuffix("/form/CALDAV")
    r = await api.client.get(path)  # nothing to choose: straight to the form
    assert (r.status_code, r.headers["location"]) == (303, form)
    r = await api.client.get(form)
    page = parse(r)
    assert "Reconnect" in r.text and "Choose another kind" not in r.text
    assert (page.inputs["url"], page.inputs["username"]) == (radicale.url + "/", user.name)
    assert page.inputs["password"] == "" and user.password not in r.text
    r = await api.client.post(f"{path}/form/ICLOUD", data={"csrf": page.inputs["csrf"]})
    assert r.status_code == 400
    assert "does not offer &#39;ICLOUD&#39;" in r.text
    # Another tenant's link cannot name this account.
    body = {"type": "reconnect", "reconnect_account": account_id}
    r = await api.call("POST", "/api/v1/hosted/accounts/link", tenant=api.b, json=body)
    assert r.status_code == 404
