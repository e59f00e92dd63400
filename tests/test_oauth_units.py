"""The pieces under the OAuth providers, one by one: PKCE, sealed state, the HTTP layer's
retries and error table (on ``httpx.MockTransport``), and the Outlook time and property forms."""

from __future__ import annotations

import datetime as dt
import email.utils
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from calgate.domain.model import Conference
from calgate.domain.times import EventTime
from calgate.errors import CalgateError
from calgate.providers.http import Deadline, Policy, error_for, make_client, retry_after, send
from calgate.providers.microsoft_map import Kept, time_to_graph
from calgate.providers.oauth import new_verifier, open_state, pkce_challenge, seal_state
from calgate.secrets import SecretBox

pytestmark = pytest.mark.anyio

FAST = Policy(timeout=5.0, retries=3, backoff=0.01, max_backoff=0.02)


def test_pkce_challenge_is_rfc_7636_s256() -> None:
    # RFC 7636, appendix B.
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert pkce_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    fresh = new_verifier()
    assert 43 <= len(fresh) <= 128 and fresh != new_verifier()


def test_state_round_trip_and_refusals(tmp_path: Path) -> None:
    box = SecretBox.from_settings(None, tmp_path)
    tenant, verifier = "tenant-7f3a9c2e41", "verifier-b81d5e0f93"
    state = seal_state(box, {"tenant": tenant, "verifier": verifier}, ttl=60)
    flow = open_state(box, state)
    assert (flow["tenant"], flow["verifier"]) == (tenant, verifier)
    # Sealed: nothing readable (markers long enough never to occur in ciphertext by chance).
    assert tenant not in state and verifier not in state and "verifier" not in state
    other = SecretBox.from_settings(None, tmp_path / "elsewhere")
    with pytest.raises(CalgateError) as refused:
        open_state(other, state)
    assert refused.value.error.type == "errors/invalid_parameters"
    with pytest.raises(CalgateError) as expired:
        open_state(box, seal_state(box, {"tenant": "t1"}, ttl=-5))
    assert expired.value.error.type == "errors/expired_link"


def response(status: int, body: Any = None, headers: dict[str, str] | None = None) -> Any:
    return httpx.Response(status, json=body, headers=headers)


def google(reason: str) -> dict[str, Any]:
    return {"error": {"errors": [{"reason": reason}]}}


def test_retry_after_forms() -> None:
    assert retry_after(response(429, headers={"Retry-After": "7"})) == 7.0
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    parsed = retry_after(response(429, headers={"Retry-After": later}))
    assert parsed is not None and 28 <= parsed <= 31
    assert retry_after(response(429, headers={"Retry-After": "soon"})) is None
    assert retry_after(response(429, headers={"Retry-After": "-3"})) == 0.0
    assert retry_after(response(429)) is None


@pytest.mark.parametrize(
    ("status", "body", "kind", "code"),
    [
        (400, {"error": {"message": "Invalid start time."}}, "errors/invalid_parameters", 400),
        (401, {"error": {"code": "InvalidAuthenticationToken"}}, "errors/expired_credentials", 401),
        (403, google("forbidden"), "errors/insufficient_permissions", 403),
        (403, google("rateLimitExceeded"), "errors/too_many_requests", 429),
        (403, google("quotaExceeded"), "errors/too_many_requests", 429),
        (404, {"error": {"code": "ErrorItemNotFound"}}, "errors/resource_not_found", 404),
        (410, None, "errors/resource_not_found", 404),
        (409, None, "errors/conflict", 409),
        (412, None, "errors/conflict", 409),
        (429, None, "errors/too_many_requests", 429),
        (500, None, "errors/provider_error", 500),
        (503, None, "errors/provider_error", 500),
    ],
)  # fmt: skip
def test_error_table(status: int, body: Any, kind: str, code: int) -> None:
    error = error_for(response(status, body), "Google", "create event")
    assert (error.error.type, error.status) == (kind, code)
    assert error.detail.startswith("Google")
    assert "(create event)" in error.detail


async def test_send_retries_safe_calls_only() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.method)
        return httpx.Response(502 if len(seen) < 3 else 200, json={})

    async with make_client(transport=httpx.MockTransport(handler)) as client:
        r = await send(client, "GET", "http://p.test/x", policy=FAST, provider="P", safe=True)
        assert r.status_code == 200 and seen == ["GET"] * 3
        seen.clear()
        with pytest.raises(CalgateError) as failed:
            await send(client, "POST", "http://p.test/x", policy=FAST, provider="P", safe=False)
        assert failed.value.error.type == "errors/provider_error" and seen == ["POST"]


async def test_send_retries_429_even_when_unsafe() -> None:
    """A 429 means the provider did nothing: sending it again cannot do it twice."""
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.method)
        if len(seen) == 1:
            return httpx.Response(429, headers={"Retry-After": "0"})
        return httpx.Response(201, json={})

    async with make_client(transport=httpx.MockTransport(handler)) as client:
        r = await send(client, "POST", "http://p.test/x", policy=FAST, provider="P", safe=False)
    assert r.status_code == 201 and seen == ["POST", "POST"]


async def test_send_translates_transport_failures() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    async with make_client(transport=httpx.MockTransport(refuse)) as client:
        with pytest.raises(CalgateError) as down:
            await send(client, "GET", "http://p.test/", policy=FAST, provider="P", safe=True)
    assert down.value.error.type == "errors/network_down" and down.value.status == 503
    async with make_client(transport=httpx.MockTransport(slow)) as client:
        with pytest.raises(CalgateError) as late:
            await send(
                client,
                "GET",
                "http://p.test/",
                policy=FAST,
                provider="P",
                safe=False,
                deadline=Deadline(0.5),
            )
    assert late.value.error.type == "errors/request_timeout" and late.value.status == 504
    assert "0.5 s" in late.value.detail


async def test_expected_statuses_are_returned() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(409, json={"error": {"message": "duplicate"}})

    async with make_client(transport=httpx.MockTransport(handler)) as client:
        r = await send(
            client, "POST", "http://p.test/", policy=FAST, provider="P", safe=True, expect=(409,)
        )
    assert r.status_code == 409


def test_graph_times() -> None:
    paris = EventTime(wall=dt.datetime(2026, 1, 20, 14, 30), tz="Europe/Paris")
    assert time_to_graph(paris, recurring=False) == {
        "dateTime": "2026-01-20T14:30:00",
        "timeZone": "Romance Standard Time",
    }
    # 02:30 happens twice in Paris on 2026-10-25: the second one (fold=1) is sent as UTC.
    second = EventTime(wall=dt.datetime(2026, 10, 25, 2, 30, fold=1), tz="Europe/Paris")
    assert time_to_graph(second, recurring=False) == {
        "dateTime": "2026-10-25T01:30:00",
        "timeZone": "UTC",
    }
    day = EventTime(date=dt.date(2026, 7, 14))
    assert time_to_graph(day, recurring=True) == {
        "dateTime": "2026-07-14T00:00:00",
        "timeZone": "UTC",
    }


def test_kept_property_round_trip() -> None:
    kept = Kept(
        color="#123456",
        start_tz="Asia/Kolkata",
        end_tz="Europe/Paris",
        conference=Conference("zoom", "https://zoom.example/j/1", "1"),
        visibility="default",
        recurrence=("RRULE:FREQ=DAILY;COUNT=2",),
    )
    assert Kept.from_json(kept.to_json()) == kept
    assert Kept.from_json("not json") == Kept()
    assert Kept.from_json('{"tz": ["Mars/Base", 3], "conference": ["skype", "x", "y"]}') == Kept()


async def test_the_provider_client_keeps_no_cookies() -> None:
    """One client serves every account: a cookie set by a provider's answer to one account's
    call is never sent with a later call (another account's, maybe), nor kept at all."""
    cookies: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        cookies.append(request.headers.get("cookie"))
        return httpx.Response(
            200, json={}, headers={"Set-Cookie": "SID=first-account; Path=/; Max-Age=3600"}
        )

    async with make_client(transport=httpx.MockTransport(handler)) as client:
        for _ in range(2):
            r = await send(client, "GET", "http://p.test/x", policy=FAST, provider="P", safe=True)
            assert r.status_code == 200 and r.headers["set-cookie"].startswith("SID=")
        assert cookies == [None, None]
        assert not client.cookies
