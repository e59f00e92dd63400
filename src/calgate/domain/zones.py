"""Time zone names: IANA names from ``tzdata``, Windows names (as Outlook returns them) mapped."""

from __future__ import annotations

import functools
import zoneinfo

from tzlocal.windows_tz import tz_win, win_tz

from calgate.errors import InvalidParameters

UTC_NAMES = frozenset({"UTC", "Etc/UTC", "Z", "GMT", "Etc/GMT"})


@functools.lru_cache(maxsize=1)
def available() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


@functools.lru_cache(maxsize=4096)
def canonical(name: str) -> str:
    """The IANA name for ``name`` (an IANA or Windows name); raises on an unknown zone."""
    if name in ("Z",):
        return "UTC"
    if name in available():
        return name
    mapped = win_tz.get(name)
    if mapped:
        return str(mapped)
    raise KeyError(name)


def resolve(name: str, field: str) -> str:
    try:
        return canonical(name)
    except KeyError:
        raise InvalidParameters(
            f"{field}: unknown time zone {name!r} (expected an IANA name such as "
            "'Europe/Paris', or a Windows zone name such as 'Romance Standard Time')"
        ) from None


@functools.lru_cache(maxsize=4096)
def zone(name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(canonical(name))


def to_windows(iana: str) -> str | None:
    """The Windows zone name Microsoft Graph knows for an IANA zone, if any."""
    if iana in UTC_NAMES:
        return "UTC"
    name = tz_win.get(iana)
    return str(name) if name else None
