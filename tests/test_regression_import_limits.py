"""Regression: the `.ics` import skipped the JSON API's limits (a 900,000-character title and
2,000 attendees were stored), so such events could not be written back through the API. One set
of limits (calgate.domain.limits) now holds for the JSON API, the API's import and
`calgate import`: an overrun is a 400 naming the VEVENT, the property and the field, and the
file imports nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from calgate.settings import Settings
from tests.conftest import Api
from tests.test_api_ics import count_rows, imported, list_events, post_ics, vcalendar, vevent
from tests.test_cli_import import account_of, calgate, default_calendar, stored

pytestmark = pytest.mark.anyio


def attendees(count: int, name: str = "Guest") -> list[str]:
    return [f"ATTENDEE;CN={name}:mailto:p{n}@example.org" for n in range(count)]


OVERRUNS = [
    ("title", ["SUMMARY:" + "x" * 1025], "SUMMARY: title: longer than 1024 characters"),
    ("huge title", ["SUMMARY:" + "x" * 900_000], "SUMMARY: title: longer than 1024"),
    ("body", ["DESCRIPTION:" + "x" * 65537], "DESCRIPTION: body: longer than 65536"),
    ("location", ["LOCATION:" + "x" * 1025], "LOCATION: location: longer than 1024"),
    ("attendees", attendees(501), "ATTENDEE: attendees: more than 500"),
    ("2,000 attendees", attendees(2000), "ATTENDEE: attendees: more than 500"),
    ("display name", attendees(1, "n" * 257), "attendees[0].display_name: longer than 256"),
    ("email", ["ATTENDEE:mailto:a,b@example.org"], "attendees[0].email: 'a,b@example.org'"),
    ("organizer name", [f"ORGANIZER;CN={'n' * 257}:mailto:o@example.org"],
     "ORGANIZER: organizer.display_name: longer than 256"),
    ("attendee comment", [f"ATTENDEE;X-RESPONSE-COMMENT={'c' * 1025}:mailto:a@example.org"],
     "ATTENDEE: attendees[0].comment: longer than 1024"),
    ("recurrence lines", [f"EXDATE:202603{d:02d}T100000Z" for d in range(2, 31)] * 2,
     "recurrence: more than 50 lines"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("lines", "needle"), [o[1:] for o in OVERRUNS], ids=[o[0] for o in OVERRUNS]
)
async def test_an_overrun_is_400_naming_it_and_imports_nothing(
    api: Api, lines: list[str], needle: str
) -> None:
    fine = vevent("fine", "SUMMARY:Fine")
    r = await post_ics(api, vcalendar(fine, vevent("big", *lines)))
    assert r.status_code == 400, r.text[:500]
    assert r.json()["type"] == "errors/invalid_parameters"
    detail = r.json()["detail"]
    assert detail.startswith("VEVENT 2 (UID big): "), detail
    assert needle in detail, detail
    assert await count_rows(api) == 0


async def test_an_event_at_the_limits_imports_and_writes_back(api: Api) -> None:
    lines = ["SUMMARY:" + "t" * 1024, "LOCATION:" + "l" * 1024, *attendees(500, "n" * 256)]
    assert (await imported(api, vcalendar(vevent("full", *lines))))["created"] == 1
    (event,) = await list_events(api)
    assert len(event["title"]) == 1024 and len(event["attendees"]) == 500
    back: dict[str, Any] = {
        "title": event["title"],
        "location": event["location"],
        "attendees": [
            {"email": a["email"], "display_name": a["display_name"]} for a in event["attendees"]
        ],
    }
    r = await api.call("PATCH", f"{api.events_url()}/{event['id']}", json=back)
    assert r.status_code == 200, r.text[:500]


@pytest.mark.system
async def test_the_cli_import_keeps_the_same_limits(settings: Settings, tmp_path: Path) -> None:
    account_id = await account_of(settings)
    calendar_id = await default_calendar(settings, account_id)
    path = tmp_path / "big.ics"
    path.write_bytes(vcalendar(vevent("fine"), vevent("big", *attendees(2000))))

    code, _, err = await calgate(settings, "import", str(path), "--account", account_id)

    assert code == 1
    assert "VEVENT 2 (UID big): ATTENDEE: attendees: more than 500" in err
    assert await stored(settings, calendar_id) == []
