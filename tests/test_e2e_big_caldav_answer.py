"""Issue 13, item 4, through a real `calgate serve`: a CalDAV server answering a 61 MiB
multistatus (the review's reproduction) must neither stall the event loop nor take the process
to hundreds of MB. With the default `CALGATE_PROVIDER_MAX_ANSWER_BYTES` (16 MiB) the listing is
refused with an error naming the setting, reading stops near the limit, `/healthz` answers all
along, and the process's peak resident set grows by far less than the answer.

The CalDAV server is a real Radicale behind a real HTTP proxy on loopback that answers the
calendar query (REPORT) with the big multistatus.
"""

from __future__ import annotations

import time
from pathlib import Path

import anyio
import httpx
import pytest

from tests.radicale import Radicale, radicale_fixture  # noqa: F401
from tests.serve import serve
from tests.test_caldav_big_answers import WINDOW, big_proxy, multistatus

pytestmark = pytest.mark.system
MIB = 2**20
KEY = "cg_big_answer_tenant_key"


def memory_mib(pid: int, field: str) -> float:
    """``VmRSS`` or ``VmHWM`` (the peak) of process ``pid``, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no {field} for {pid}")


def test_a_61_mib_answer_is_refused_without_stalling_or_bloating(
    tmp_path: Path, radicale: Radicale
) -> None:
    env = {"CALGATE_API_KEY": KEY, "CALGATE_ALLOW_LOOPBACK_URLS": "true"}
    user = radicale.add_user()
    path = radicale.make_calendar(user, "work", "Work")
    with serve(tmp_path, env) as served, big_proxy(radicale.url) as proxy:
        headers = {"X-API-KEY": KEY}
        body = {
            "provider": "CALDAV",
            "url": proxy.url + "/",
            "username": user.name,
            "password": user.password,
        }
        with httpx.Client(base_url=served.base_url, headers=headers, timeout=120) as client:
            r = client.post("/api/v1/accounts", json=body)
            assert r.status_code == 201, r.text
            account = r.json()["account_id"]
            r = client.get("/api/v1/calendars", params={"account_id": account})
            assert r.status_code == 200, r.text
            events = f"/api/v1/calendars/{r.json()['data'][0]['id']}/events"
            params = {"account_id": account, **WINDOW}
            assert client.get(events, params=params).status_code == 200  # a small answer first
        proxy.answer = multistatus(61 * MIB, path)
        pid = served.process.pid
        before = memory_mib(pid, "VmRSS")
        health: list[float] = []
        answers: list[httpx.Response] = []

        async def scenario() -> None:
            done = anyio.Event()

            async def listing() -> None:
                async with httpx.AsyncClient(
                    base_url=served.base_url, headers=headers, timeout=120
                ) as client:
                    answers.append(await client.get(events, params=params))
                done.set()

            async with anyio.create_task_group() as group:
                group.start_soon(listing)
                async with httpx.AsyncClient(base_url=served.base_url, timeout=30) as client:
                    while not done.is_set():
                        began = time.monotonic()
                        assert (await client.get("/healthz")).status_code == 200
                        health.append(time.monotonic() - began)
                        await anyio.sleep(0.05)

        anyio.run(scenario)
        peak = memory_mib(pid, "VmHWM")
    [r] = answers
    assert r.status_code == 500, r.text
    assert r.json()["type"] == "errors/provider_error"
    assert "more than 16 MiB" in r.json()["detail"]
    assert "provider_max_answer_bytes" in r.json()["detail"]
    # calgate stopped reading near the limit, not at the end of the 61 MiB.
    assert proxy.sent < 48 * MIB, proxy.sent
    # The event loop kept answering while the answer was read and refused.
    assert health and max(health) < 1.0, health
    # The review saw 634 MB; the bound keeps the growth near the limit's buffer.
    assert peak - before < 120, f"RSS {before:.0f} MiB before, peak {peak:.0f} MiB"
