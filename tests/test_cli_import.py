"""`calgate import FILE.ics`: the real command on a generated file of a few thousand events."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import anyio
import pytest
from sqlalchemy.engine import Connection

from calgate.domain.model import EventQuery
from calgate.runtime import Runtime
from calgate.settings import Settings
from calgate.store import events as event_store

pytestmark = [pytest.mark.anyio, pytest.mark.system]

CALGATE = str(Path(sys.executable).parent / "calgate")
SINGLES, SERIES, EXCEPTIONS = 2500, 400, 100


def generated_file() -> bytes:
    """SINGLES single events, SERIES weekly series, EXCEPTIONS moved occurrences."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//calgate tests//EN"]
    for n in range(SINGLES):
        day = 1 + n % 28
        lines += [
            "BEGIN:VEVENT",
            f"UID:single-{n}@example.org",
            f"DTSTART;TZID=Europe/Paris:202603{day:02d}T{8 + n % 10:02d}0000",
            "DURATION:PT45M",
            f"SUMMARY:Meeting {n}\\, room {n % 7}",
            "END:VEVENT",
        ]
    for n in range(SERIES):
        lines += [
            "BEGIN:VEVENT",
            f"UID:series-{n}@example.org",
            f"DTSTART;TZID=America/New_York:202603{1 + n % 28:02d}T090000",
            f"DTEND;TZID=America/New_York:202603{1 + n % 28:02d}T093000",
            "RRULE:FREQ=WEEKLY;COUNT=10",
            f"SUMMARY:Series {n}",
            "END:VEVENT",
        ]
    for n in range(EXCEPTIONS):
        day = 1 + n % 28
        lines += [
            "BEGIN:VEVENT",
            f"UID:series-{n}@example.org",
            f"RECURRENCE-ID;TZID=America/New_York:202603{day:02d}T090000",
            f"DTSTART;TZID=America/New_York:202603{day:02d}T140000",
            f"DTEND;TZID=America/New_York:202603{day:02d}T143000",
            f"SUMMARY:Series {n} (afternoon)",
            "SEQUENCE:1",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return ("\r\n".join(lines) + "\r\n").encode()


async def calgate(settings: Settings, *args: str) -> tuple[int, str, str]:
    command = [
        CALGATE, "--data-dir", str(settings.data_dir),
        "--database-url", settings.effective_database_url, *args,
    ]  # fmt: skip
    done = await anyio.run_process(command, check=False)
    return done.returncode, done.stdout.decode(), done.stderr.decode()


async def account_of(settings: Settings) -> str:
    code, out, err = await calgate(settings, "tenants", "create", "importers")
    assert code == 0, err
    found = re.search(r"^account (\w+)$", out, re.MULTILINE)
    assert found, out
    return found.group(1)


async def stored(settings: Settings, calendar_id: str) -> list[tuple[str, str, str]]:
    runtime = Runtime.build(settings)
    try:

        def op(conn: Connection) -> list[tuple[str, str, str]]:
            rows = event_store.select_events(
                conn, calendar_id, EventQuery(), after=None, limit=10**6, masters_only=False
            )
            return [(e.ical_uid, e.master_event_id, e.fields.title) for e, _ in rows]

        return await runtime.db.read(op)
    finally:
        await runtime.aclose()


async def default_calendar(settings: Settings, account_id: str) -> str:
    code, out, err = await calgate(settings, "calendars", "list", account_id)
    assert code == 0, err
    return out.splitlines()[1].split()[0]


async def test_import_a_few_thousand_events_twice(settings: Settings, tmp_path: Path) -> None:
    account_id = await account_of(settings)
    calendar_id = await default_calendar(settings, account_id)
    path = tmp_path / "big.ics"
    path.write_bytes(generated_file())
    total = SINGLES + SERIES + EXCEPTIONS

    code, out, err = await calgate(settings, "import", str(path), "--account", account_id)
    assert code == 0, err
    assert out == f"created {total}, updated 0, unchanged 0\n"
    assert f"importing {total} events into My calendar" in err
    rows = await stored(settings, calendar_id)
    assert len(rows) == total
    exceptions = [r for r in rows if r[1]]
    assert len(exceptions) == EXCEPTIONS
    assert ("series-7@example.org", "Series 7 (afternoon)") in {(r[0], r[2]) for r in exceptions}
    assert ("single-3@example.org", "", "Meeting 3, room 3") in rows

    code, out, err = await calgate(settings, "import", str(path), "--account", account_id)
    assert code == 0, err
    assert out == f"created 0, updated 0, unchanged {total}\n"
    assert await stored(settings, calendar_id) == rows

    changed = path.read_bytes().replace(b"SUMMARY:Series 1", b"SUMMARY:Renamed 1")
    path.write_bytes(changed)
    code, out, err = await calgate(
        settings, "import", str(path), "--account", account_id, "--quiet"
    )
    assert code == 0, err
    # "Series 1", "Series 10".."Series 19", "Series 100".."Series 199" and three exceptions.
    renamed = 1 + 10 + 100 + 11
    assert out == f"created 0, updated {renamed}, unchanged {total - renamed}\n"
    assert err == ""


async def test_import_into_a_chosen_calendar(settings: Settings, tmp_path: Path) -> None:
    account_id = await account_of(settings)
    code, out, err = await calgate(settings, "calendars", "create", account_id, "Second")
    assert code == 0, err
    second = out.split()[-1]
    path = tmp_path / "small.ics"
    path.write_bytes(
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:one\r\n"
        b"DTSTART:20260301T100000Z\r\nDTEND:20260301T110000Z\r\nSUMMARY:One\r\nEND:VEVENT\r\n"
        b"END:VCALENDAR\r\n"
    )
    code, out, err = await calgate(
        settings, "import", str(path), "--account", account_id, "--calendar", second
    )
    assert code == 0, err
    assert out == "created 1, updated 0, unchanged 0\n"
    assert await stored(settings, second) == [("one", "", "One")]
    assert await stored(settings, await default_calendar(settings, account_id)) == []


async def test_a_bad_file_imports_nothing(settings: Settings, tmp_path: Path) -> None:
    account_id = await account_of(settings)
    path = tmp_path / "bad.ics"
    good = b"RRULE:FREQ=WEEKLY;COUNT=10\r\nSUMMARY:Series 5\r\n"
    text = generated_file().replace(good, good.replace(b"COUNT=10", b"BYHOUR=25"))
    path.write_bytes(text)
    code, out, err = await calgate(settings, "import", str(path), "--account", account_id)
    assert code == 1
    assert out == ""
    assert err.endswith(
        f"error: VEVENT {SINGLES + 6} (UID series-5@example.org): recurrence[0]: "
        "'RRULE:FREQ=WEEKLY;BYHOUR=25': BYHOUR value '25' is out of range (0..23)\n"
    )
    assert await stored(settings, await default_calendar(settings, account_id)) == []


async def test_unknown_account(settings: Settings, tmp_path: Path) -> None:
    await account_of(settings)
    path = tmp_path / "x.ics"
    path.write_bytes(b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
    code, _, err = await calgate(settings, "import", str(path), "--account", "nope")
    assert code == 1
    assert err == "error: no account 'nope'; see `calgate accounts list`\n"
