"""A sub-daily rule that keeps few of its hours, minutes or seconds pays for the ones dateutil
tries between two of its times (issue 13, item 1): expansion is bounded by work.

dateutil tries each second of the day in turn for a SECONDLY rule with BYHOUR/BYMINUTE/BYSECOND
(about 15 ms of CPU for a rule that keeps one second a day); the work budget used to count one
step for it, so that a year's expansion (5 s of CPU) stayed far inside the budget."""

from __future__ import annotations

import datetime as dt

import pytest

from calgate.domain.recurrence import Budget
from calgate.domain.recurrence.budget import WorkLimitExceeded
from calgate.domain.recurrence.rule import parse_rule
from calgate.domain.recurrence.scan import PERIODS_PER_STEP, walls
from tests.conftest import Api
from tests.test_recurrence_hostile import PARIS

ONE_SECOND_A_DAY = "FREQ=SECONDLY;BYHOUR=23;BYMINUTE=59;BYSECOND=59"
START = dt.datetime(2026, 6, 1, 0, 0, 0)


def _spent(rule: str, lo: dt.datetime, hi: dt.datetime) -> tuple[int, list[dt.datetime]]:
    budget = Budget(10**9)
    found = list(walls(parse_rule(rule, all_day=False), START, lo, hi, budget))
    return budget.limit - budget.left, found


def test_the_seconds_tried_in_a_day_are_paid_for() -> None:
    spent, found = _spent(ONE_SECOND_A_DAY, START, START + dt.timedelta(days=3, seconds=-1))
    assert found == [START.replace(day=d, hour=23, minute=59, second=59) for d in (1, 2, 3)]
    # Three days of seconds tried, counted PERIODS_PER_STEP to a step.
    assert spent >= 3 * 86_400 // PERIODS_PER_STEP - 3


def test_dense_sub_daily_rules_pay_a_step_a_time() -> None:
    spent, found = _spent("FREQ=SECONDLY", START, START + dt.timedelta(seconds=999))
    assert len(found) == 1000
    assert spent <= 1000 + 20  # a step per second found, and the walk's set-up
    spent, found = _spent("FREQ=MINUTELY;INTERVAL=15", START, START + dt.timedelta(days=1))
    assert len(found) == 97
    assert spent <= 97 + 20


def test_a_year_of_one_second_a_day_is_past_the_default_budget() -> None:
    with pytest.raises(WorkLimitExceeded):
        list(
            walls(
                parse_rule(ONE_SECOND_A_DAY, all_day=False),
                START,
                START,
                START.replace(year=2027),
                Budget(200_000),
            )
        )


@pytest.mark.anyio
async def test_a_long_expansion_of_a_rare_second_is_a_400_not_seconds_of_cpu(api: Api) -> None:
    await api.create(
        {
            "title": "a second a day",
            "start": {"date_time": "2026-06-01T00:00:00", "time_zone": PARIS},
            "end": {"date_time": "2026-06-01T00:00:01", "time_zone": PARIS},
            "recurrence": [f"RRULE:{ONE_SECOND_A_DAY}"],
        }
    )
    window = {"expand_recurring": "true", "start": "2026-06-01T00:00:00Z"}
    r = await api.call(
        "GET", api.events_url(), params={**window, "end": "2027-06-01T00:00:00Z", "limit": "100"}
    )
    assert r.status_code == 400, r.text
    assert "recurrence_work_limit" in r.json()["detail"]
    # A few days of it are well within the budget.
    r = await api.call(
        "GET", api.events_url(), params={**window, "end": "2026-06-04T00:00:00Z", "limit": "100"}
    )
    assert r.status_code == 200, r.text
    assert [e["start"]["date_time"] for e in r.json()["data"]] == [
        f"2026-06-0{d}T23:59:59+02:00" for d in (1, 2, 3)
    ]
