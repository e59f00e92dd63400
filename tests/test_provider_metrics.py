"""Provider call latency reaches /metrics, labelled by provider, operation and outcome."""

from __future__ import annotations

import re

import pytest

from tests.conftest import Api
from tests.oauth_env import (  # noqa: F401 - fixtures
    Fakes,
    connect,
    fakes_fixture,
    oauth_runtime,
    oauth_settings,
    seed_calendar,
)

pytestmark = pytest.mark.anyio
LABELS = {"GOOGLE_OAUTH": "Google", "OUTLOOK": "Outlook"}


def count(text: str, provider: str, outcome: str) -> float:
    total = 0.0
    pattern = re.compile(
        r"^calgate_provider_call_duration_seconds_count\{(?P<labels>[^}]*)\} (?P<n>\S+)$"
    )
    for line in text.splitlines():
        m = pattern.match(line)
        if m and f'provider="{provider}"' in m["labels"] and f'outcome="{outcome}"' in m["labels"]:
            total += float(m["n"])
    return total


@pytest.mark.parametrize("provider", ["GOOGLE_OAUTH", "OUTLOOK"])
async def test_provider_calls_are_timed(api: Api, fakes: Fakes, provider: str) -> None:
    label = LABELS[provider]
    before = (await api.client.get("/metrics")).text
    account = await connect(api, fakes, provider)
    r = await api.call("GET", "/api/v1/calendars", account_id=account)
    assert r.status_code == 200, r.text
    state = fakes.state(provider)
    state.faults.add("/", status=404, times=1)
    calendars = r.json()["data"]
    missing = await api.call(
        "GET", f"/api/v1/calendars/{calendars[0]['id']}/events/nope", account_id=account
    )
    assert missing.status_code == 404
    after = (await api.client.get("/metrics")).text
    assert count(after, label, "ok") > count(before, label, "ok")
    assert count(after, label, "4xx") >= count(before, label, "4xx") + 1
