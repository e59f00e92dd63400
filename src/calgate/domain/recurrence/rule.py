"""One RRULE or EXRULE value (RFC 5545 section 3.3.10), read part by part.

Each part goes through the RFC's grammar first (icalendar alone is lenient: it takes ``0MO`` as
``MO`` and skips a part it cannot split), then through icalendar's value type for it, then
through the ranges and FREQ combinations of the RFC. The part tables are data, the checks loop
over them. The normalized text is rendered by icalendar's ``vRecur``.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from icalendar.prop import vInt, vMonth, vRecur, vWeekday

from calgate.domain.recurrence import ical
from calgate.domain.recurrence.limits import MAX_COUNT

FREQS = ("YEARLY", "MONTHLY", "WEEKLY", "DAILY", "HOURLY", "MINUTELY", "SECONDLY")
"""The frequencies, longest first; the index is dateutil's constant."""
YEARLY, MONTHLY, WEEKLY, DAILY = 0, 1, 2, 3

WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
"""The weekdays; the index is Python's (and dateutil's) weekday number."""


class Problem(ValueError):
    """What is wrong in one recurrence line; the caller adds which line it is."""


@dataclass(frozen=True, slots=True)
class IntPart:
    """An integer-list rule part: its range and the frequencies it may be used with."""

    low: int
    high: int
    signed: bool = False
    freqs: frozenset[int] = frozenset(range(len(FREQS)))

    def describe(self) -> str:
        span = f"{self.low}..{self.high}"
        return f"{span} or -{self.high}..-{self.low}" if self.signed else span


_EVERY = frozenset(range(len(FREQS)))
INT_PARTS: dict[str, IntPart] = {
    "BYSECOND": IntPart(0, 60),
    "BYMINUTE": IntPart(0, 59),
    "BYHOUR": IntPart(0, 23),
    "BYMONTHDAY": IntPart(1, 31, True, _EVERY - {WEEKLY}),
    "BYYEARDAY": IntPart(1, 366, True, _EVERY - {MONTHLY, WEEKLY, DAILY}),
    "BYWEEKNO": IntPart(1, 53, True, frozenset({YEARLY})),
    "BYMONTH": IntPart(1, 12),
    "BYSETPOS": IntPart(1, 366, True),
}
TIME_PARTS = ("BYHOUR", "BYMINUTE", "BYSECOND")
PARTS = (
    *("FREQ", "UNTIL", "COUNT", "INTERVAL", "BYSECOND", "BYMINUTE", "BYHOUR", "BYDAY"),
    *("BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYMONTH", "BYSETPOS", "WKST"),
)
"""The rule parts of RFC 5545, in its order."""
UNSUPPORTED = {"RSCALE": "RFC 7529 calendar scales", "SKIP": "RFC 7529 calendar scales"}

MAX_INTEGER = 2**31 - 1
"""RFC 5545's integers are 32-bit (icalendar refuses larger ones)."""
_NUMBER = re.compile(r"[0-9]+")
_SIGNED = re.compile(r"[+-]?[0-9]+")
_WEEKDAYNUM = re.compile(r"(?P<sign>[+-]?)(?P<ordinal>[0-9]{0,2})(?P<day>[A-Z]*)")


@dataclass(frozen=True, slots=True)
class Rule:
    """A checked rule. ``until`` is a date (all-day events) or an aware UTC datetime."""

    freq: int
    interval: int | None = None
    count: int | None = None
    until: dt.date | None = None
    bysecond: tuple[int, ...] = ()
    byminute: tuple[int, ...] = ()
    byhour: tuple[int, ...] = ()
    byday: tuple[tuple[int, int], ...] = ()
    """(weekday, ordinal) pairs; ordinal 0 means every such weekday."""
    bymonthday: tuple[int, ...] = ()
    byyearday: tuple[int, ...] = ()
    byweekno: tuple[int, ...] = ()
    bymonth: tuple[int, ...] = ()
    bysetpos: tuple[int, ...] = ()
    wkst: int | None = None

    @property
    def step(self) -> int:
        return self.interval or 1

    @property
    def endless(self) -> bool:
        return self.count is None and self.until is None

    def to_ical(self) -> vRecur:
        """The rule as icalendar's typed value, which renders the canonical text."""
        recur = vRecur()
        recur["FREQ"] = [FREQS[self.freq]]
        if self.until is not None:
            recur["UNTIL"] = [self.until]
        for name, number in (("COUNT", self.count), ("INTERVAL", self.interval)):
            if number is not None:
                recur[name] = [number]
        for name in INT_PARTS:
            values: tuple[int, ...] = getattr(self, name.lower())
            if values:
                recur[name] = list(values)
        if self.byday:
            recur["BYDAY"] = [vWeekday(f"{n or ''}{WEEKDAYS[d]}") for d, n in self.byday]
        if self.wkst is not None:
            recur["WKST"] = [vWeekday(WEEKDAYS[self.wkst])]
        return recur


def parse_rule(value: str, *, all_day: bool) -> Rule:
    """Read the value of an RRULE or EXRULE line; ``all_day`` tells the start's kind."""
    texts = _split(value)
    freq = _freq(texts.pop("FREQ"))
    fields: dict[str, object] = {}
    for name, text in texts.items():
        if name == "UNTIL":
            fields["until"] = _until(text, all_day)
        elif name in ("COUNT", "INTERVAL"):
            fields[name.lower()] = _positive(name, text)
        elif name == "BYDAY":
            fields["byday"] = tuple(_weekdaynum(item) for item in text.split(","))
        elif name == "WKST":
            fields["wkst"] = _weekday("WKST", text)
        else:
            fields[name.lower()] = tuple(_integer(name, item) for item in text.split(","))
    rule = Rule(freq, **fields)  # type: ignore[arg-type]  # keys and types are set above
    _check_combinations(rule, texts, all_day)
    return rule


def _split(value: str) -> dict[str, str]:
    if not value:
        raise Problem("the rule is empty; FREQ is required (e.g. FREQ=WEEKLY)")
    items = value.split(";")
    if len(items) > 1 and items[-1] == "":
        items.pop()  # a trailing ';', as some calendar programs write
    texts: dict[str, str] = {}
    for item in items:
        name, equals, text = item.partition("=")
        name = name.upper()
        if not equals or not name:
            raise Problem(f"rule part {item!r} is not NAME=VALUE")
        if name in UNSUPPORTED:
            raise Problem(f"rule part {name} ({UNSUPPORTED[name]}) is not supported")
        if name not in PARTS:
            raise Problem(f"{name!r} is not a rule part (expected {', '.join(PARTS)})")
        if name in texts:
            raise Problem(f"rule part {name} is given twice")
        if not text:
            raise Problem(f"{name} has no value")
        texts[name] = text.upper()
    if "FREQ" not in texts:
        raise Problem("FREQ is required (e.g. FREQ=WEEKLY)")
    return texts


def _freq(text: str) -> int:
    try:
        return FREQS.index(ical.read_frequency(text))
    except ValueError:
        raise Problem(f"FREQ value {text!r} is not one of {', '.join(reversed(FREQS))}") from None


def _until(text: str, all_day: bool) -> dt.date:
    try:
        value = ical.read_date_or_time(text)
    except (ValueError, TypeError):
        value = None
    if isinstance(value, dt.datetime):
        if all_day:
            raise Problem(
                f"UNTIL value {text!r} must be a date (YYYYMMDD) because the event is all-day"
            )
        if value.tzinfo is None:
            raise Problem(
                f"UNTIL value {text!r} must be in UTC (YYYYMMDDTHHMMSSZ) because the event "
                "start has a time zone"
            )
        return value.astimezone(dt.UTC)
    if isinstance(value, dt.date):
        if not all_day:
            raise Problem(
                f"UNTIL value {text!r} must be a UTC date-time (YYYYMMDDTHHMMSSZ) because the "
                "event start has a time zone"
            )
        return value
    raise Problem(
        f"UNTIL value {text!r} is not a date (YYYYMMDD) or a UTC date-time (YYYYMMDDTHHMMSSZ)"
    )


def _positive(name: str, text: str) -> int:
    number = int(text) if _NUMBER.fullmatch(text) else 0
    if number < 1:
        raise Problem(f"{name} value {text!r} is not a positive integer")
    if name == "COUNT" and number > MAX_COUNT:
        raise Problem(f"COUNT value {number} is above the limit of {MAX_COUNT}")
    return _read_int(name, text, f"1..{MAX_INTEGER}")


def _integer(name: str, text: str) -> int:
    part = INT_PARTS[name]
    if not _SIGNED.fullmatch(text):
        if name == "BYMONTH" and text.endswith("L"):
            raise Problem(f"BYMONTH value {text!r} is a leap month (RFC 7529), not supported")
        raise Problem(f"{name} value {text!r} is not an integer ({part.describe()})")
    number = _read_int(name, text, part.describe())
    if not part.low <= abs(number) <= part.high or (number < 0 and not part.signed):
        raise Problem(f"{name} value {text!r} is out of range ({part.describe()})")
    return number


def _read_int(name: str, text: str, expected: str) -> int:
    """An integer value through icalendar, which refuses what RFC 5545 calls out of range."""
    try:
        return int(vMonth.from_ical(text) if name == "BYMONTH" else vInt.from_ical(text))
    except ValueError:  # past the 32-bit range of RFC 5545's integers
        raise Problem(f"{name} value {text!r} is out of range ({expected})") from None


def _weekday(name: str, text: str) -> int:
    if text not in WEEKDAYS:
        raise Problem(f"{name} value {text!r} is not a weekday (MO..SU)")
    return WEEKDAYS.index(ical.read_weekday(text)[0])


def _weekdaynum(text: str) -> tuple[int, int]:
    match = _WEEKDAYNUM.fullmatch(text)
    if match is None or match["day"] not in WEEKDAYS:
        raise Problem(f"BYDAY value {text!r} is not a weekday (MO..SU)")
    if match["sign"] and not match["ordinal"]:
        raise Problem(f"BYDAY value {text!r} has a sign but no ordinal (e.g. -1FR)")
    weekday, _ = ical.read_weekday(text)
    ordinal = int(match["ordinal"] or 0)
    if match["ordinal"] and not 1 <= ordinal <= 53:
        raise Problem(f"BYDAY value {text!r} has ordinal {ordinal}; ordinals are 1..53 or -53..-1")
    return WEEKDAYS.index(weekday), -ordinal if match["sign"] == "-" else ordinal


def _check_combinations(rule: Rule, texts: dict[str, str], all_day: bool) -> None:
    freq = FREQS[rule.freq]
    if rule.count is not None and rule.until is not None:
        raise Problem("COUNT and UNTIL cannot both be given (RFC 5545: one or the other)")
    for name, part in INT_PARTS.items():
        if name in texts and rule.freq not in part.freqs:
            allowed = ", ".join(f"FREQ={FREQS[f]}" for f in sorted(part.freqs))
            raise Problem(f"{name} is not allowed with FREQ={freq} (only with {allowed})")
    for day, ordinal in rule.byday:
        text = f"{ordinal}{WEEKDAYS[day]}"
        if ordinal and rule.freq not in (MONTHLY, YEARLY):
            raise Problem(
                f"BYDAY value {text!r} has an ordinal, which is only allowed with "
                f"FREQ=MONTHLY or FREQ=YEARLY (not FREQ={freq})"
            )
        if ordinal and rule.byweekno:
            raise Problem(f"BYDAY value {text!r} has an ordinal, which BYWEEKNO does not allow")
        if rule.freq == MONTHLY and abs(ordinal) > 5:
            raise Problem(
                f"BYDAY value {text!r} is out of range for FREQ=MONTHLY (ordinals 1..5 or -5..-1)"
            )
    if rule.bysecond and set(rule.bysecond) == {60}:
        raise Problem("BYSECOND=60 (a leap second) never occurs: calendar time has none")
    if rule.bysetpos and not any(n.startswith("BY") and n != "BYSETPOS" for n in texts):
        raise Problem("BYSETPOS needs another BYxxx rule part to select from")
    if all_day:
        if rule.freq > DAILY:
            raise Problem(
                f"FREQ={freq} is not allowed because the event is all-day (use DAILY or longer)"
            )
        for name in TIME_PARTS:
            if name in texts:
                raise Problem(f"{name} is not allowed because the event is all-day")
