"""RFC 5545 recurrence lines to Microsoft Graph ``patternedRecurrence`` and back.

Graph holds one pattern (daily, weekly, absolute or relative monthly or yearly) and one range (no
end, a count, or a last date). :func:`to_graph` maps an RRULE onto that exactly, or raises
:class:`~calgate.errors.FeatureNotImplemented` naming the part Outlook cannot hold: it never
approximates. EXDATE is no Graph field; its instants come back for the adapter to delete.
:func:`from_graph` reads a Graph recurrence back as one RRULE line.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from icalendar import vRecur
from icalendar.parser import Contentline
from icalendar.prop import vDDDLists

from calgate.domain import zones
from calgate.domain.times import EventTime
from calgate.errors import FeatureNotImplemented, InvalidParameters, ProviderError

__all__ = ["GraphRecurrence", "from_graph", "to_graph"]

# RFC 5545 weekday codes and Graph's names, in Graph's order (sunday first).
_NAMES = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
DAYS: dict[str, str] = {name[:2].upper(): name for name in _NAMES}
_CODES: dict[str, str] = {name: code for code, name in DAYS.items()}
# The ordinals Graph's ``index`` can say, for BYDAY=nDD and BYSETPOS=n.
INDEX: dict[int, str] = {1: "first", 2: "second", 3: "third", 4: "fourth", -1: "last"}
_ORDINALS: dict[str, int] = {name: n for n, name in INDEX.items()}
# The fewest and the most days of each month (February: 28 and 29).
_FEWEST = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_MOST = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)

# Whole features Outlook has no field for: what the 501 detail says about each.
_NO_FIELD: dict[str, str] = {
    "HOURLY": "Outlook repeats at most daily",
    "MINUTELY": "Outlook repeats at most daily",
    "SECONDLY": "Outlook repeats at most daily",
    "BYYEARDAY": "Outlook has no day-of-the-year pattern",
    "BYWEEKNO": "Outlook has no week-number pattern",
    "RSCALE": "Outlook has only the Gregorian calendar",
    "SKIP": "Outlook always moves a missing day to the month's last day",
    "EXRULE": "Outlook has no exclusion rules; send the excluded instants as EXDATE",
    "RDATE": "Outlook has no extra dates in a series; create them as separate events",
}
_KNOWN_PARTS = frozenset(vRecur.canonical_order) - {"BYWEEKDAY"}
_SINGLE = ("FREQ", "UNTIL", "COUNT", "INTERVAL", "WKST")
# Integer parts and their allowed range (zero is never allowed where negatives are).
_BOUNDS: dict[str, tuple[int, int]] = {
    "COUNT": (1, 2**31 - 1),
    "INTERVAL": (1, 2**31 - 1),
    "BYSECOND": (0, 60),
    "BYMINUTE": (0, 59),
    "BYHOUR": (0, 23),
    "BYMONTHDAY": (-31, 31),
    "BYYEARDAY": (-366, 366),
    "BYWEEKNO": (-53, 53),
    "BYMONTH": (1, 12),
    "BYSETPOS": (-366, 366),
}
_TIME_PARTS = {"BYHOUR": "hour", "BYMINUTE": "minute", "BYSECOND": "second"}
# The sets of weekdays a relative pattern may count (Exchange's day, weekday and weekend day);
# Graph documents that with other sets "the event falls on the first day that satisfies the
# pattern", which is not RFC 5545's n-th day of the set.
_DAY_SETS = (
    frozenset(("SU", "MO", "TU", "WE", "TH", "FR", "SA")),
    frozenset(("MO", "TU", "WE", "TH", "FR")),
    frozenset(("SA", "SU")),
)
_BYDAY = re.compile(r"^([+-]?\d{1,2})?(SU|MO|TU|WE|TH|FR|SA)$")


@dataclass(frozen=True, slots=True)
class GraphRecurrence:
    """Graph's ``{"pattern", "range"}`` and the EXDATE instants to delete after create."""

    recurrence: dict[str, Any]
    exdates: tuple[EventTime, ...] = ()


@dataclass(frozen=True, slots=True)
class _Rule:
    """One RRULE, checked for syntax; ``days`` holds (ordinal or None, weekday code)."""

    line: str
    freq: str
    interval: int
    count: int | None
    until: dt.date | None  # a dt.datetime is a dt.date too
    wkst: str
    names: tuple[str, ...]  # every part given
    days: tuple[tuple[int | None, str], ...]
    ints: Mapping[str, tuple[int, ...]]  # the BY* integer parts present

    def get(self, part: str) -> tuple[int, ...]:
        return self.ints.get(part, ())


def _unsupported(part: str, reason: str) -> FeatureNotImplemented:
    return FeatureNotImplemented(f"recurrence: Outlook cannot represent {part} ({reason})")


def _invalid(line: str, problem: str) -> InvalidParameters:
    return InvalidParameters(f"recurrence: {line!r}: {problem}")


# --- RFC 5545 -> Graph -----------------------------------------------------------------------


def to_graph(lines: Sequence[str], start: EventTime) -> GraphRecurrence | None:
    """Graph's recurrence for ``lines`` (RRULE and EXDATE) of a series starting at ``start``."""
    rules: list[_Rule] = []
    exdates: set[EventTime] = set()
    refused: list[str] = []
    for raw in lines:
        line = raw.strip()
        try:
            name, params, value = Contentline(line).parts()  # type: ignore[no-untyped-call]
        except ValueError:
            raise _invalid(raw, "not an iCalendar line such as 'RRULE:FREQ=WEEKLY'") from None
        name = name.upper()
        if name == "RRULE":
            rules.append(_parse_rule(line, value))
        elif name == "EXDATE":
            exdates.update(_parse_exdate(line, params.get("TZID"), value, start))
        elif name in ("EXRULE", "RDATE"):
            refused.append(name)
        else:
            raise _invalid(line, "expected an RRULE, EXDATE, RDATE or EXRULE line")
    if refused:
        raise _unsupported(refused[0], _NO_FIELD[refused[0]])
    if len(rules) > 1:
        raise _unsupported("several RRULE lines", "Outlook holds one pattern per series")
    if not rules:
        if exdates:
            raise _invalid(lines[0], "EXDATE needs an RRULE")
        return None
    rule = rules[0]
    recurrence = {"pattern": _pattern(rule, start), "range": _range(rule, start)}
    return GraphRecurrence(recurrence, tuple(sorted(exdates, key=lambda t: t.utc)))


def _parse_rule(line: str, value: str) -> _Rule:
    names = [item.partition("=")[0].upper() for item in value.split(";") if item]
    for name in names:
        if name not in _KNOWN_PARTS:
            raise _invalid(line, f"unknown rule part {name!r}")
        if names.count(name) > 1:
            raise _invalid(line, f"{name} is given twice")
    try:
        parts = vRecur.from_ical(value)
    except ValueError as exc:
        raise _invalid(line, str(exc)) from None
    for name in _SINGLE:
        if len(parts.get(name, ())) > 1:
            raise _invalid(line, f"{name} takes one value")
    if "FREQ" not in parts:
        raise _invalid(line, "FREQ is required")
    if "COUNT" in parts and "UNTIL" in parts:
        raise _invalid(line, "COUNT and UNTIL cannot both be given")
    ints: dict[str, tuple[int, ...]] = {}
    for name, (low, high) in _BOUNDS.items():
        values = tuple(int(v) for v in parts.get(name, ()))
        if any(not low <= v <= high or (low < 0 and v == 0) for v in values):
            zero = ", not 0" if low < 0 else ""
            raise _invalid(line, f"{name} must be within {low}..{high}{zero}")
        if values:
            ints[name] = values
    days: list[tuple[int | None, str]] = []
    for text in parts.get("BYDAY", ()):
        match = _BYDAY.match(str(text))
        if match is None or (match[1] is not None and not 1 <= abs(int(match[1])) <= 53):
            raise _invalid(line, f"BYDAY value {text!r} is not a weekday with an ordinal ±1..53")
        day = (int(match[1]) if match[1] else None, match[2])
        if day not in days:
            days.append(day)
    count = ints.pop("COUNT", None)
    return _Rule(
        line=line,
        freq=str(parts["FREQ"][0]),
        interval=ints.pop("INTERVAL", (1,))[0],
        count=count[0] if count else None,
        until=parts.get("UNTIL", [None])[0],
        wkst=str(parts.get("WKST", ["MO"])[0]),
        names=tuple(names),
        days=tuple(days),
        ints=ints,
    )


def _parse_exdate(line: str, tzid: str | None, value: str, start: EventTime) -> list[EventTime]:
    zone = zones.zone(zones.resolve(tzid, f"recurrence: {line!r}: TZID") if tzid else start.tz)
    try:
        values = vDDDLists.from_ical(value)  # type: ignore[no-untyped-call]
    except ValueError:
        raise _invalid(line, "expected dates or date-times") from None
    instants: list[EventTime] = []
    for item in values:
        if isinstance(item, dt.datetime) and not start.is_all_day:
            aware = item if item.tzinfo is not None else item.replace(tzinfo=zone)
            instants.append(EventTime.at(aware, start.tz))
        elif type(item) is dt.date and start.is_all_day:
            instants.append(EventTime(date=item))
        else:
            kind = "dates (VALUE=DATE)" if start.is_all_day else "date-times"
            raise _invalid(line, f"EXDATE must hold {kind}, like the start")
    return instants


def _pattern(rule: _Rule, start: EventTime) -> dict[str, Any]:
    ordinals = [n for n, _ in rule.days if n is not None]
    if ordinals and rule.freq in ("DAILY", "WEEKLY"):
        raise _invalid(rule.line, "BYDAY ordinals (such as 1MO) need FREQ=MONTHLY or YEARLY")
    for part in (rule.freq, *rule.names):
        if part in _NO_FIELD:
            raise _unsupported(part if part in rule.names else f"FREQ={part}", _NO_FIELD[part])
    _check_times(rule, start)
    if len(rule.get("BYSETPOS")) > 1:
        raise _unsupported(f"BYSETPOS={_join(rule.get('BYSETPOS'))}", "Outlook picks one day")
    for n in (*rule.get("BYSETPOS"), *ordinals):
        if n not in INDEX:
            part = f"BYSETPOS={n}" if n in rule.get("BYSETPOS") else f"BYDAY={_byday(rule)}"
            raise _unsupported(part, f"Outlook counts first to fourth, or last; not {n}")
    if len(rule.get("BYMONTHDAY")) > 1:
        raise _unsupported("several BYMONTHDAY values", "Outlook repeats on one day of the month")
    if rule.get("BYMONTH") and (rule.freq != "YEARLY" or len(rule.get("BYMONTH")) > 1):
        raise _unsupported(
            f"BYMONTH={_join(rule.get('BYMONTH'))} with FREQ={rule.freq}",
            "Outlook cannot limit a series to some months",
        )
    return _BUILDERS[rule.freq](rule, start)


def _check_times(rule: _Rule, start: EventTime) -> None:
    for part, attribute in _TIME_PARTS.items():
        values = rule.get(part)
        if not values:
            continue
        if start.wall is None:
            raise _invalid(rule.line, f"{part} cannot be used with an all-day start")
        if len(values) > 1:
            raise _unsupported(f"several {part} values", "Outlook repeats once a day")
        if values[0] != getattr(start.wall, attribute):
            raise _unsupported(
                f"{part}={values[0]}",
                f"Outlook repeats at the start time {start.wall:%H:%M:%S}",
            )


def _daily(rule: _Rule, start: EventTime) -> dict[str, Any]:
    _refuse(rule, "BYMONTHDAY", "BYSETPOS")
    if not rule.days:
        return {"type": "daily", "interval": rule.interval}
    if rule.interval != 1:
        raise _unsupported(
            f"FREQ=DAILY;INTERVAL={rule.interval} with BYDAY", "Outlook's weekly days skip no days"
        )
    return _weekly_pattern(1, [code for _, code in rule.days], rule.wkst)


def _weekly(rule: _Rule, start: EventTime) -> dict[str, Any]:
    _refuse(rule, "BYMONTHDAY", "BYSETPOS")
    days = [code for _, code in rule.days] or [list(DAYS)[start.aware.date().isoweekday() % 7]]
    return _weekly_pattern(rule.interval, days, rule.wkst)


def _monthly(rule: _Rule, start: EventTime) -> dict[str, Any]:
    return _in_month(rule, start, "Monthly", _months(start, rule.interval))


def _months(start: EventTime, interval: int) -> set[int]:
    """The months a monthly series starting at ``start`` falls in."""
    first = start.aware.date().month - 1
    return {(first + k * interval) % 12 + 1 for k in range(12)}


def _yearly(rule: _Rule, start: EventTime) -> dict[str, Any]:
    if not rule.get("BYMONTH") and (rule.days or rule.get("BYMONTHDAY")):
        part = f"BYDAY={_byday(rule)}" if rule.days else "BYMONTHDAY"
        raise _unsupported(f"{part} without BYMONTH", "Outlook's yearly patterns name one month")
    month = (rule.get("BYMONTH") or (start.aware.date().month,))[0]
    return {**_in_month(rule, start, "Yearly", {month}), "month": month}


def _in_month(rule: _Rule, start: EventTime, kind: str, months: set[int]) -> dict[str, Any]:
    """The day of a month: ``absolute{kind}`` or ``relative{kind}`` (or weekly, see below)."""
    setpos = rule.get("BYSETPOS")
    if rule.days and rule.get("BYMONTHDAY"):
        raise _unsupported("BYMONTHDAY with BYDAY", "Outlook matches a day number or weekdays")
    if any(n is not None for n, _ in rule.days):
        if setpos:
            raise _unsupported("BYSETPOS with a BYDAY ordinal", "Outlook takes one or the other")
        if len(rule.days) > 1:
            raise _unsupported(f"BYDAY={_byday(rule)}", "Outlook picks one weekday per month")
        ordinal, code = rule.days[0]
        assert ordinal is not None
        return _relative(kind, rule.interval, [code], ordinal)
    if rule.days and setpos:
        codes = [code for _, code in rule.days]
        if len(codes) > 1 and frozenset(codes) not in _DAY_SETS:
            raise _unsupported(
                f"BYDAY={_byday(rule)} with BYSETPOS",
                "Outlook counts one weekday, every day, Monday to Friday or Saturday and Sunday; "
                "it reads other sets differently",
            )
        return _relative(kind, rule.interval, codes, setpos[0])
    if rule.days:
        # Every such weekday of every month is a weekly series; with gaps it is nothing Outlook has.
        if kind == "Monthly" and rule.interval == 1:
            return _weekly_pattern(1, [code for _, code in rule.days], rule.wkst)
        raise _unsupported(
            f"BYDAY={_byday(rule)} without an ordinal or BYSETPOS in FREQ={rule.freq}",
            "Outlook picks one weekday position per month",
        )
    if setpos:
        raise _unsupported("BYSETPOS without BYDAY", "Outlook numbers weekdays only")
    given = rule.get("BYMONTHDAY")
    day = given[0] if given else start.aware.date().day
    part = f"BYMONTHDAY={day}" if given else f"FREQ={rule.freq} from day {day}"
    if day == -1:
        # Graph's absolute patterns take only a day number, and a number past a month's end
        # is clamped by Outlook, so the last day is said the way Outlook stores its own "last
        # day of every month": relative, index last, over all seven days. Graph documents index
        # as the instance "of the allowed days ... counted from the first instance in the
        # month"; the last instance of any day is the month's last day, exactly. This is the
        # reading BYDAY=list;BYSETPOS=n relies on too (BYDAY=SU,...,SA;BYSETPOS=-1 is this rule).
        return _relative(kind, rule.interval, list(DAYS), -1)
    if day < -1:
        raise _unsupported(part, "Outlook counts no days back from the month's end but the last")
    if day > min(_FEWEST[m - 1] for m in months):
        raise _unsupported(
            part, "Outlook clamps to the month's last day, RFC 5545 skips months without it"
        )
    return {"type": f"absolute{kind}", "interval": rule.interval, "dayOfMonth": day}


def _weekly_pattern(interval: int, days: Sequence[str], wkst: str) -> dict[str, Any]:
    return {
        "type": "weekly",
        "interval": interval,
        "daysOfWeek": _graph_days(days),
        "firstDayOfWeek": DAYS[wkst],
    }


def _relative(kind: str, interval: int, days: Sequence[str], index: int) -> dict[str, Any]:
    pattern = {"type": f"relative{kind}", "interval": interval, "daysOfWeek": _graph_days(days)}
    return {**pattern, "index": INDEX[index]}


def _refuse(rule: _Rule, *parts: str) -> None:
    for part in parts:
        if rule.get(part):
            raise _unsupported(f"{part} with FREQ={rule.freq}", "no Outlook pattern has both")


def _range(rule: _Rule, start: EventTime) -> dict[str, Any]:
    first = start.aware.date()
    zone = zones.to_windows(start.tz) or start.tz
    base = {"startDate": first.isoformat(), "recurrenceTimeZone": zone}
    if rule.count is not None:
        return {"type": "numbered", **base, "numberOfOccurrences": rule.count}
    if rule.until is None:
        return {"type": "noEnd", **base}
    last = _last_date(rule, rule.until, start)
    if last < first:
        raise _invalid(rule.line, "UNTIL is before the start")
    return {"type": "endDate", **base, "endDate": last.isoformat()}


def _last_date(rule: _Rule, until: dt.date, start: EventTime) -> dt.date:
    """The last local date UNTIL lets an occurrence fall on."""
    if start.wall is None:
        # All-day occurrences count from midnight UTC (EventTime.utc); a date UNTIL is inclusive.
        if isinstance(until, dt.datetime):
            return (until.astimezone(dt.UTC) if until.tzinfo is not None else until).date()
        return until
    if not isinstance(until, dt.datetime):
        raise _invalid(rule.line, "UNTIL must be a date-time (such as 20250131T235959Z) here")
    local = until.astimezone(zones.zone(start.tz)) if until.tzinfo is not None else until
    day = local.date()
    return day if local.time() >= start.wall.time() else day - dt.timedelta(days=1)


def _graph_days(codes: Sequence[str]) -> list[str]:
    return [name for code, name in DAYS.items() if code in codes]


def _join(values: Sequence[int]) -> str:
    return ",".join(str(v) for v in values)


def _byday(rule: _Rule) -> str:
    return ",".join(f"{'' if n is None else n}{code}" for n, code in rule.days)


_BUILDERS: dict[str, Callable[[_Rule, EventTime], dict[str, Any]]] = {
    "DAILY": _daily,
    "WEEKLY": _weekly,
    "MONTHLY": _monthly,
    "YEARLY": _yearly,
}


# --- Graph -> RFC 5545 -----------------------------------------------------------------------


def from_graph(recurrence: Mapping[str, Any], start: EventTime) -> tuple[str, ...]:
    """The RRULE line equivalent to a Graph ``patternedRecurrence`` of a series at ``start``."""
    try:
        pattern, span = recurrence["pattern"], recurrence.get("range") or {}
        freq, read = _READERS[pattern["type"]]
        interval = int(pattern.get("interval") or 1)
        months = {_month(pattern)} if freq == "YEARLY" else _months(start, interval)
        parts: dict[str, list[Any]] = {"FREQ": [freq], **read(pattern, months)}
        if freq == "YEARLY":
            parts["BYMONTH"] = [_month(pattern)]
        if interval > 1:
            parts["INTERVAL"] = [interval]
        parts.update(_end(span, start))
    except (KeyError, TypeError, ValueError) as exc:
        raise ProviderError(
            f"recurrence: Outlook sent a recurrence calgate cannot read ({exc!r})"
        ) from exc
    text = vRecur(parts).to_ical()  # type: ignore[no-untyped-call]  # icalendar: no annotation
    return ("RRULE:" + text.decode("ascii"),)


def _codes(pattern: Mapping[str, Any]) -> list[str]:
    names = {str(name).lower() for name in pattern["daysOfWeek"]}
    if not names or names - set(_CODES):
        raise ValueError(f"daysOfWeek {pattern['daysOfWeek']!r}")
    return [code for code, name in DAYS.items() if name in names]


def _month(pattern: Mapping[str, Any]) -> int:
    month = int(pattern["month"])
    if not 1 <= month <= 12:
        raise ValueError(f"month {month}")
    return month


def _weekly_parts(pattern: Mapping[str, Any], months: set[int]) -> dict[str, list[Any]]:
    wkst = _CODES[pattern.get("firstDayOfWeek") or "sunday"]  # Graph's default is sunday
    return {"BYDAY": _codes(pattern), **({} if wkst == "MO" else {"WKST": [wkst]})}


def _absolute_parts(pattern: Mapping[str, Any], months: set[int]) -> dict[str, list[Any]]:
    """Graph's day of the month; Outlook clamps a day past a month's end to its last day."""
    day = int(pattern["dayOfMonth"])
    fewest, most = min(_FEWEST[m - 1] for m in months), max(_MOST[m - 1] for m in months)
    if not 1 <= day <= 31:
        raise ValueError(f"dayOfMonth {day}")
    if day <= fewest:
        return {"BYMONTHDAY": [day]}
    if day >= most:
        return {"BYMONTHDAY": [-1]}
    # e.g. 30 in every month: the 30th, or the last day of a shorter month
    return {"BYMONTHDAY": list(range(fewest, day + 1)), "BYSETPOS": [-1]}


def _relative_parts(pattern: Mapping[str, Any], months: set[int]) -> dict[str, list[Any]]:
    days, n = _codes(pattern), _ORDINALS[pattern.get("index") or "first"]
    if len(days) == len(DAYS):  # the n-th instance of any day is day n (last: the last day)
        return {"BYMONTHDAY": [n]}
    if len(days) == 1:
        return {"BYDAY": [f"{n}{days[0]}"]}
    if frozenset(days) in _DAY_SETS:
        return {"BYDAY": days, "BYSETPOS": [n]}
    # Another set (Outlook itself makes none): "the first day that satisfies the pattern", the
    # earliest of the n-th instances of each day.
    return {"BYDAY": [f"{n}{code}" for code in days], "BYSETPOS": [1]}


# Graph pattern type -> FREQ and how its days (in the months the series visits) read in RFC 5545.
_Reader = Callable[[Mapping[str, Any], set[int]], dict[str, list[Any]]]
_READERS: dict[str, tuple[str, _Reader]] = {
    "daily": ("DAILY", lambda pattern, months: {}),
    "weekly": ("WEEKLY", _weekly_parts),
    "absoluteMonthly": ("MONTHLY", _absolute_parts),
    "relativeMonthly": ("MONTHLY", _relative_parts),
    "absoluteYearly": ("YEARLY", _absolute_parts),
    "relativeYearly": ("YEARLY", _relative_parts),
}


def _end(span: Mapping[str, Any], start: EventTime) -> dict[str, list[Any]]:
    kind = span.get("type") or "noEnd"
    if kind == "noEnd":
        return {}
    if kind == "numbered":
        count = int(span["numberOfOccurrences"])
        if count < 1:
            raise ValueError(f"numberOfOccurrences {count}")
        return {"COUNT": [count]}
    if kind != "endDate":
        raise ValueError(f"range type {kind!r}")
    last = dt.date.fromisoformat(span["endDate"])
    if start.wall is None:
        return {"UNTIL": [last]}
    try:
        tz = zones.canonical(span.get("recurrenceTimeZone") or start.tz)
    except KeyError:  # a zone only Outlook knows: its dates are taken in the event's zone
        tz = start.tz
    # The last occurrence's own instant when the range counts in the event's zone; else the end
    # of the last date in the range's zone.
    at = start.wall.time() if tz == start.tz else dt.time(23, 59, 59)
    return {"UNTIL": [dt.datetime.combine(last, at, zones.zone(tz)).astimezone(dt.UTC)]}
