"""A sub-daily rule's times come by arithmetic, with work that follows the times kept
(issue 13, item 1): expansion is bounded by work, and a rare rule costs little.

dateutil tries each second of the day in turn for a SECONDLY rule with BYHOUR/BYMINUTE/BYSECOND
(about 15 ms of CPU for a rule that keeps one second a day): a year of such a rule was seconds of
CPU, a thread computing without pause beside every other request. :mod:`.subdaily` finds the
same times (checked against dateutil here, on random rules) a step per time kept."""

from __future__ import annotations

import datetime as dt
import itertools
import random

import pytest
from dateutil import rrule as du

from calgate.domain.recurrence import Budget, subdaily
from calgate.domain.recurrence.budget import WorkLimitExceeded
from calgate.domain.recurrence.rule import parse_rule
from calgate.domain.recurrence.scan import walls
from calgate.domain.recurrence.subdaily import TRIES_PER_STEP
from tests.conftest import Api
from tests.test_recurrence_hostile import PARIS

ONE_SECOND_A_DAY = "FREQ=SECONDLY;BYHOUR=23;BYMINUTE=59;BYSECOND=59"
START = dt.datetime(2026, 6, 1, 0, 0, 0)
FREQS = {"HOURLY": du.HOURLY, "MINUTELY": du.MINUTELY, "SECONDLY": du.SECONDLY}


def _spent(
    rule: str, lo: dt.datetime, hi: dt.datetime, start: dt.datetime = START
) -> tuple[int, list[dt.datetime]]:
    budget = Budget(10**9)
    found = list(walls(parse_rule(rule, all_day=False), start, lo, hi, budget))
    return budget.limit - budget.left, found


def test_a_rare_second_costs_a_few_steps_a_day() -> None:
    spent, found = _spent(ONE_SECOND_A_DAY, START, START + dt.timedelta(days=3, seconds=-1))
    assert found == [START.replace(day=d, hour=23, minute=59, second=59) for d in (1, 2, 3)]
    assert spent <= 3 * 2 + 2  # was 3 * 86,400 / 16 periods tried by dateutil
    spent, found = _spent(ONE_SECOND_A_DAY, START, START.replace(year=2027))
    assert len(found) == 365
    assert spent <= 2 * 365 + 2


def test_dense_sub_daily_rules_pay_a_step_a_time() -> None:
    spent, found = _spent("FREQ=SECONDLY", START, START + dt.timedelta(seconds=999))
    assert len(found) == 1000
    assert spent <= 1000 + 20  # a step per second found, and the walk's set-up
    spent, found = _spent("FREQ=MINUTELY;INTERVAL=15", START, START + dt.timedelta(days=1))
    assert len(found) == 97
    assert spent <= 97 + 20


def test_days_the_stride_misses_are_skipped_by_arithmetic() -> None:
    # A period every 86,401 seconds lands on 23:59:59 once in 86,401 days (about 236 years).
    rule = "FREQ=SECONDLY;INTERVAL=86401;BYHOUR=23;BYMINUTE=59;BYSECOND=59"
    spent, found = _spent(rule, START, dt.datetime(9999, 12, 31, 23, 59, 59))
    assert found, "the rule occurs"
    for wall in found:
        assert (wall.hour, wall.minute, wall.second) == (23, 59, 59)
        assert int((wall - START).total_seconds()) % 86_401 == 0
    assert [b - a for a, b in itertools.pairwise(found)] == [
        dt.timedelta(seconds=86_401 * 86_400)
    ] * (len(found) - 1)
    assert spent <= 10 * len(found) + 20  # not a step per day crossed


def test_a_stride_of_a_day_or_more_with_several_allowed_times_jumps_too() -> None:
    # Walked period by period, this cost 182,056 steps (2 s of CPU) for 66 times.
    rule = "FREQ=SECONDLY;INTERVAL=86401;BYHOUR=23;BYMINUTE=59;BYSECOND=58,59"
    spent, found = _spent(rule, START, dt.datetime(9999, 12, 31, 23, 59, 59))
    assert len(found) == 66
    assert all((wall.hour, wall.minute) == (23, 59) for wall in found)
    assert spent <= 3 * len(found) + 20
    spent, found = _spent("FREQ=SECONDLY;INTERVAL=86401;BYHOUR=23", START, START.replace(year=3000))
    assert found
    assert spent <= 3 * len(found) + 3_600 // TRIES_PER_STEP + 20


def test_the_plans_remembered_hold_a_bounded_number_of_starts() -> None:
    rule = parse_rule("FREQ=SECONDLY;BYHOUR=1,2,3", all_day=False)
    for second in range(120):  # 120 starts, 10,800 allowed seconds of the day each
        start = START + dt.timedelta(seconds=second)
        list(walls(rule, start, start, start + dt.timedelta(hours=1), Budget(10**9)))
        assert subdaily._held[0] <= subdaily.PLANS_SIZE
    assert len(subdaily._PLANS) < 120  # some were let go


def test_a_rule_whose_stride_never_meets_its_times_is_empty_at_once() -> None:
    # Every other hour from midnight: never 01:xx.
    spent, found = _spent("FREQ=HOURLY;INTERVAL=2;BYHOUR=1", START, dt.datetime(9999, 1, 1))
    assert (spent, found) == (1, [])
    spent, found = _spent("FREQ=SECONDLY;INTERVAL=2;BYSECOND=1,3,5", START, dt.datetime(9999, 1, 1))
    assert found == []
    assert spent <= 1 + 24 * 60 * 3 // TRIES_PER_STEP  # the plan: its 4,320 allowed seconds
    # Many allowed hours, walked along the stride: known to be unreachable before the walk.
    spent, found = _spent("FREQ=HOURLY;INTERVAL=2;BYHOUR=1,3,5,7", START, dt.datetime(9999, 1, 1))
    assert found == []
    assert spent <= 1 + 24 * 60 * 60 // TRIES_PER_STEP


def test_an_expansion_past_the_budget_is_refused() -> None:
    with pytest.raises(WorkLimitExceeded):
        list(
            walls(
                parse_rule(ONE_SECOND_A_DAY, all_day=False),
                START,
                START,
                dt.datetime(9999, 1, 1),
                Budget(200_000),
            )
        )


def _random_rule(rng: random.Random) -> str:
    def some(low: int, high: int) -> str:
        return ",".join(map(str, sorted(rng.sample(range(low, high + 1), rng.randint(1, 3)))))

    parts = [f"FREQ={rng.choice(list(FREQS))}"]
    if rng.random() < 0.6:
        parts.append(f"INTERVAL={rng.choice([2, 3, 5, 7, 13, 25, 48, 90, 3600, 7200, 86401])}")
    for name, low, high in (("BYHOUR", 0, 23), ("BYMINUTE", 0, 59), ("BYSECOND", 0, 60)):
        if rng.random() < 0.5:
            parts.append(f"{name}={some(low, high)}")
    if rng.random() < 0.2:
        parts.append(f"BYSETPOS={rng.choice(['1', '-1', '2', '1,-1', '3'])}")
    return ";".join(parts)


def _dateutil(rule: str, start: dt.datetime, lo: dt.datetime, hi: dt.datetime) -> list[dt.datetime]:
    """dateutil's own walk from DTSTART (it walks on until its next time: give it rules that
    have one soon after ``hi``)."""
    try:
        return list(du.rrulestr(rule, dtstart=start, cache=False).between(lo, hi, inc=True))
    except ValueError:  # dateutil finds some HOURLY..SECONDLY rules empty from the start
        return []


def _by_definition(
    rule: str, start: dt.datetime, lo: dt.datetime, hi: dt.datetime
) -> list[dt.datetime]:
    """RFC 5545's definition, second by second: a time counts if its period (hour, minute or
    second) is a whole number of INTERVALs from DTSTART's, the parts of the period's unit and
    longer allow it (limit), the shorter parts are among those given or DTSTART's (expand),
    and BYSETPOS, if any, picks it from its period's set."""
    parts = dict(item.split("=") for item in rule.split(";"))
    level = ("HOURLY", "MINUTELY", "SECONDLY").index(parts["FREQ"])
    unit = (3600, 60, 1)[level]
    stride = int(parts.get("INTERVAL", "1")) * unit
    given = [
        {int(v) for v in parts[name].split(",")} if name in parts else None
        for name in ("BYHOUR", "BYMINUTE", "BYSECOND")
    ]
    defaults = ({start.hour}, {start.minute}, {start.second})
    for i in range(level + 1, 3):
        given[i] = given[i] or defaults[i]

    def seconds(wall: dt.datetime) -> int:
        return int((wall - dt.datetime(1, 1, 1)).total_seconds())

    def fits(wall: dt.datetime) -> bool:
        values = (wall.hour, wall.minute, wall.second)
        return all(allowed is None or values[i] in allowed for i, allowed in enumerate(given))

    origin = seconds(start) // unit * unit
    found = []
    wall = lo
    while wall <= hi:
        period = seconds(wall) // unit * unit
        if period >= origin and (period - origin) % stride == 0 and fits(wall):
            if "BYSETPOS" not in parts:
                found.append(wall)
            else:
                first = wall - dt.timedelta(seconds=seconds(wall) - period)
                its_set = [
                    first + dt.timedelta(seconds=s)
                    for s in range(unit)
                    if fits(first + dt.timedelta(seconds=s))
                ]
                picked = {
                    its_set[p - 1 if p > 0 else p]
                    for p in map(int, parts["BYSETPOS"].split(","))
                    if abs(p) <= len(its_set)
                }
                if wall in picked:
                    found.append(wall)
        wall += dt.timedelta(seconds=1)
    return [wall for wall in found if wall >= start]


@pytest.mark.parametrize("seed", range(4))
def test_the_times_are_dateutils_and_the_rfcs(seed: int) -> None:
    rng = random.Random(seed)
    compared = 0
    while compared < 60:
        rule = _random_rule(rng)
        try:
            parse_rule(rule, all_day=False)
        except ValueError:
            continue
        start = START + dt.timedelta(seconds=rng.randrange(0, 86_400 * 2))
        lo = start + dt.timedelta(seconds=rng.randrange(-3_600, 86_400 * 2))
        hi = lo + dt.timedelta(seconds=rng.randrange(0, 3_600))
        _, ours = _spent(rule, lo, hi, start)
        assert ours == _by_definition(rule, start, lo, hi), (rule, start, lo, hi)
        _, soon = _spent(rule, hi + dt.timedelta(seconds=1), hi + dt.timedelta(days=2), start)
        if soon:  # dateutil's walk ends soon after hi
            assert ours == _dateutil(rule, start, max(lo, start), hi), (rule, start, lo, hi)
        compared += 1


@pytest.mark.anyio
async def test_a_year_of_a_rare_second_is_listed(api: Api) -> None:
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
    assert r.status_code == 200, r.text
    starts = [event["start"]["date_time"][:19] for event in r.json()["data"]]
    assert len(starts) == 100
    assert starts[:2] == ["2026-06-01T23:59:59", "2026-06-02T23:59:59"]
    assert starts[-1] == "2026-09-08T23:59:59"
