"""Event times: the contract's timed and all-day forms, with exact wall time and zone.

An :class:`EventTime` keeps what the client meant: either an all-day ``date`` or a naive wall
clock time plus an IANA zone. The UTC instant is derived. Naive times that fall in a DST gap or
overlap are rejected with the instants that are possible.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, fields
from typing import Any

from calgate.domain import zones
from calgate.errors import InvalidParameters

UTC = dt.UTC


@dataclass(frozen=True, slots=True)
class EventTime:
    """All-day (``date`` set) or timed (``wall`` naive local time in ``tz``)."""

    date: dt.date | None = None
    wall: dt.datetime | None = None
    tz: str = "UTC"
    # The instant and the zoned wall time, kept once computed (an occurrence's are asked for
    # several times on its way to the wire: its token, its end, its JSON).
    _utc: dt.datetime | None = field(default=None, init=False, repr=False, compare=False)
    _aware: dt.datetime | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def is_all_day(self) -> bool:
        return self.date is not None

    def _key(self) -> tuple[object, ...]:
        # Naive datetimes compare equal across `fold`; the two passes of a repeated hour are
        # two different instants, so the fold is part of an EventTime's identity.
        return (self.date, self.wall, self.wall.fold if self.wall else 0, self.tz)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, EventTime):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __getstate__(self) -> tuple[Any, ...]:
        # Pickled without what it computed (sent to the worker processes: smaller, and the
        # zone's name, not its rules).
        return tuple(getattr(self, name) for name in _GIVEN)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        for name, value in zip(_GIVEN, state, strict=True):
            object.__setattr__(self, name, value)
        object.__setattr__(self, "_utc", None)
        object.__setattr__(self, "_aware", None)

    @property
    def utc(self) -> dt.datetime:
        """The instant; all-day dates count from midnight UTC (floating dates)."""
        found = self._utc
        if found is None:
            if self.date is not None:
                found = dt.datetime.combine(self.date, dt.time(), UTC)
            else:
                found = self.aware.astimezone(UTC)
            object.__setattr__(self, "_utc", found)
        return found

    @property
    def aware(self) -> dt.datetime:
        """Wall time with its zone's offset (all-day: midnight in the zone)."""
        found = self._aware
        if found is None:
            if self.date is not None:
                found = dt.datetime.combine(self.date, dt.time(), zones.zone(self.tz))
            else:
                assert self.wall is not None
                found = self.wall.replace(tzinfo=zones.zone(self.tz))
            object.__setattr__(self, "_aware", found)
        return found

    @property
    def token(self) -> str:
        """The recurrence-id part of an occurrence id: ``20260120T133000Z`` or ``20260120``."""
        if self.date is not None:
            return self.date.strftime("%Y%m%d")
        return self.utc.strftime("%Y%m%dT%H%M%SZ")

    def to_wire(self) -> dict[str, str]:
        if self.date is not None:
            return {"date": self.date.isoformat()}
        return {"date_time": self.aware.isoformat(), "time_zone": self.tz}

    def to_storage(self) -> dict[str, str]:
        if self.date is not None:
            return {"date": self.date.isoformat()}
        assert self.wall is not None
        stored = {"wall": self.wall.isoformat(), "tz": self.tz}
        if self.wall.fold:  # the second of two equal wall times (DST overlap)
            stored["fold"] = "1"
        return stored

    @classmethod
    def from_storage(cls, data: dict[str, str]) -> EventTime:
        if "date" in data:
            return cls(date=dt.date.fromisoformat(data["date"]))
        wall = dt.datetime.fromisoformat(data["wall"])
        if data.get("fold"):
            wall = wall.replace(fold=1)
        return cls(wall=wall, tz=data["tz"])

    @classmethod
    def at(cls, instant: dt.datetime, tz: str = "UTC") -> EventTime:
        """The wall time of an aware ``instant`` in zone ``tz``."""
        local = instant.astimezone(zones.zone(tz))
        return cls(wall=local.replace(tzinfo=None), tz=tz)

    def shifted(self, delta: dt.timedelta) -> EventTime:
        """The same wall-clock distance later (all-day: whole days)."""
        if self.date is not None:
            return EventTime(date=self.date + dt.timedelta(days=delta.days))
        return EventTime.at(self.utc + delta, self.tz)


_GIVEN = tuple(f.name for f in fields(EventTime) if f.init)
"""What an :class:`EventTime` is made of (what it pickles)."""


def check_wall(wall: dt.datetime, tz: str, field: str) -> dt.datetime:
    """Reject a naive wall time that does not exist or is ambiguous in ``tz``."""
    zone = zones.zone(tz)
    early = wall.replace(tzinfo=zone, fold=0)
    late = wall.replace(tzinfo=zone, fold=1)
    off_early, off_late = early.utcoffset(), late.utcoffset()
    if off_early == off_late:
        return wall
    first, second = early.astimezone(UTC), late.astimezone(UTC)
    back = first.astimezone(zone).replace(tzinfo=None)
    if back != wall:
        # A gap: the wall clock jumps over this time.
        before = min(first, second).astimezone(zone)
        after = max(first, second).astimezone(zone)
        raise InvalidParameters(
            f"{field}: {wall.isoformat()} does not exist in {tz} (the clocks skip it at a "
            f"daylight saving change); possible instants: {before.isoformat()} or "
            f"{after.isoformat()}; send an offset time to choose"
        )
    raise InvalidParameters(
        f"{field}: {wall.isoformat()} is ambiguous in {tz} (it happens twice at a daylight "
        f"saving change): {early.isoformat()} or {late.isoformat()}; send an offset time to choose"
    )


def _parse_date(value: Any, field: str) -> dt.date:
    if not isinstance(value, str):
        raise InvalidParameters(f"{field}.date: expected a string 'YYYY-MM-DD'")
    try:
        if len(value) != 10:
            raise ValueError
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidParameters(f"{field}.date: {value!r} is not a date 'YYYY-MM-DD'") from None


def _parse_datetime(value: Any, field: str) -> dt.datetime:
    if not isinstance(value, str):
        raise InvalidParameters(f"{field}.date_time: expected an ISO 8601 string")
    text = value.strip()
    try:
        if "T" not in text and " " not in text:
            raise ValueError
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise InvalidParameters(
            f"{field}.date_time: {value!r} is not an ISO 8601 date-time "
            "(e.g. '2025-05-28T10:00:00Z', '2025-05-28T10:00:00+02:00' or '2025-05-28T10:00:00')"
        ) from None
    return parsed


def parse_event_time(value: Any, field: str) -> EventTime:
    """Parse the wire EventTime ``{date_time, time_zone}`` or ``{date}``."""
    if not isinstance(value, dict):
        raise InvalidParameters(f"{field}: expected an object with 'date_time' or 'date'")
    unknown = set(value) - {"date_time", "time_zone", "date"}
    if unknown:
        raise InvalidParameters(f"{field}: unknown field(s) {', '.join(sorted(unknown))}")
    has_dt, has_date = value.get("date_time") is not None, value.get("date") is not None
    if has_dt == has_date:
        raise InvalidParameters(f"{field}: give exactly one of 'date_time' or 'date'")
    tz_value = value.get("time_zone")
    if tz_value is not None and not isinstance(tz_value, str):
        raise InvalidParameters(f"{field}.time_zone: expected a string")
    tz = zones.resolve(tz_value, f"{field}.time_zone") if tz_value else "UTC"
    if has_date:
        return EventTime(date=_parse_date(value["date"], field))
    parsed = _parse_datetime(value["date_time"], field)
    if parsed.tzinfo is not None:
        return EventTime.at(parsed, tz)
    return EventTime(wall=check_wall(parsed, tz, f"{field}.date_time"), tz=tz)


def check_bounds(start: EventTime, end: EventTime, field: str = "end") -> None:
    if start.is_all_day != end.is_all_day:
        raise InvalidParameters(
            f"{field}: start and end must both be all-day ('date') or both timed ('date_time')"
        )
    if end.utc <= start.utc:
        raise InvalidParameters(
            f"{field}: must be after start (all-day end.date is exclusive: a one-day event on "
            "2025-05-28 ends on 2025-05-29)"
            if start.is_all_day
            else f"{field}: must be after start"
        )


def format_utc(instant: dt.datetime) -> str:
    """UTC timestamp with milliseconds and Z, as the contract's created_at/updated_at."""
    u = instant if instant.tzinfo is UTC else instant.astimezone(UTC)
    if u.year < 1000:  # strftime's %Y does not pad these
        return u.strftime("%Y-%m-%dT%H:%M:%S.") + f"{instant.microsecond // 1000:03d}Z"
    return (
        f"{u.year}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:{u.second:02d}"
        f".{u.microsecond // 1000:03d}Z"
    )
