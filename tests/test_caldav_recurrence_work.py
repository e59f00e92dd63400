"""Recurrence work on CalDAV listings (issue 13, items 1 and 2): a CalDAV calendar's series are
expanded off the event loop, from the request's one work budget, as LOCAL's are: ``/healthz``
answers while a costly series is expanded, and a listing past the budget is a 400 naming
``recurrence_work_limit`` (not a series silently left out, nor seconds of CPU per series)."""

from __future__ import annotations

import pytest

from calgate.settings import Settings
from tests.conftest import Api
from tests.contract.suite import Target
from tests.radicale import Radicale, radicale_fixture
from tests.test_recurrence_cancel import ONE_A_DAY
from tests.test_recurrence_hostile import ENDLESS_SECONDLY, _beside_healthz

pytestmark = pytest.mark.anyio
__all__ = ["radicale_fixture"]

WINDOW = {"expand_recurring": "true", "start": "2026-06-01T00:00:00Z", "limit": "4"}


class TestOffTheLoop:
    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        update = {"allow_loopback_urls": True, "recurrence_work_limit": 10**9}
        return settings.model_copy(update=update)

    async def test_healthz_answers_while_a_series_is_expanded(
        self, api: Api, radicale: Radicale
    ) -> None:
        target = await Target.on_radicale(api, radicale)
        # About 170,000 candidates per occurrence: seconds of CPU for four of them.
        await target.create({**ENDLESS_SECONDLY, "recurrence": ONE_A_DAY})
        took, r = await _beside_healthz(
            api, lambda: target.call("GET", target.events(), params=WINDOW)
        )
        assert r.status_code == 200, r.text
        starts = [e["start"]["date_time"] for e in r.json()["data"]]
        assert starts == [f"2026-06-0{d}T23:00:00+02:00" for d in (1, 2, 3, 4)]
        assert took < 1.0, f"/healthz waited {took:.2f} s behind a CalDAV expansion"


class TestOneBudgetPerRequest:
    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        update = {"allow_loopback_urls": True, "recurrence_work_limit": 5000}
        return settings.model_copy(update=update)

    async def test_a_listing_past_the_budget_is_a_400_naming_the_limit(
        self, api: Api, radicale: Radicale
    ) -> None:
        target = await Target.on_radicale(api, radicale)
        # One second a minute is left: each occurrence costs about 120 candidates, so 100 of
        # them need more than the budget, 10 fit.
        seconds = ",".join(str(n) for n in range(1, 60))
        rules = ["RRULE:FREQ=SECONDLY", f"EXRULE:FREQ=SECONDLY;BYSECOND={seconds}"]
        await target.create({**ENDLESS_SECONDLY, "recurrence": rules})
        r = await target.call("GET", target.events(), params={**WINDOW, "limit": "100"})
        assert r.status_code == 400, r.text
        assert "recurrence_work_limit" in r.json()["detail"]
        r = await target.call("GET", target.events(), params={**WINDOW, "limit": "10"})
        assert r.status_code == 200, r.text
        assert len(r.json()["data"]) == 10
