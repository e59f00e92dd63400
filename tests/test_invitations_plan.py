"""Which mails a change calls for, and the notification state it leaves, for each invitation
mode (calgate sends, the provider sends, the provider always sends)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from calgate.domain.model import Attendee, Event, EventFields
from calgate.domain.times import EventTime
from calgate.mail.plan import plan
from calgate.providers.base import AccountContext, Change, InvitationMode

ACCOUNT = AccountContext("acc", "ten", "LOCAL", "Olga", "olga@example.org")
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
ADA, BOB = Attendee("ada@example.org"), Attendee("bob@example.org")
ORGANIZER = Attendee("OLGA@example.org", is_organizer=False)


def event(notify: bool = True, attendees: tuple[Attendee, ...] = (ADA, BOB), **kw: object) -> Event:
    fields = EventFields(
        title="Sync",
        start=EventTime.at(NOW),
        end=EventTime.at(NOW + dt.timedelta(hours=1)),
        attendees=attendees,
        notify=notify,
    )
    return Event("e1", "c1", "e1@calgate", dataclasses.replace(fields, **kw), NOW, NOW)  # type: ignore[arg-type]


def summary(change: Change, mode: InvitationMode = "calgate") -> tuple[str | None, list[str]]:
    decided = plan(change, mode, "olga@example.org")
    return decided.state, [f"{m.method} {m.attendee.email}" for m in decided.mails]


@pytest.mark.parametrize(
    ("mode", "notify", "attendees", "expected"),
    [
        (
            "calgate",
            True,
            (ADA, BOB, ORGANIZER),
            ("queued", ["REQUEST ada@example.org", "REQUEST bob@example.org"]),
        ),
        ("calgate", False, (ADA,), ("none", [])),
        ("calgate", True, (), ("none", [])),
        ("calgate", True, (ORGANIZER,), ("none", [])),
        ("provider", True, (ADA,), ("sent", [])),
        ("provider", False, (ADA,), ("none", [])),
        ("forced", False, (ADA,), ("forced_by_provider", [])),
        ("forced", True, (), ("none", [])),
    ],
)
def test_created(
    mode: InvitationMode, notify: bool, attendees: tuple[Attendee, ...], expected: object
) -> None:
    change = Change("created", ACCOUNT, "c1", event(notify, attendees))
    assert summary(change, mode) == expected


def test_updated_significant_and_minor() -> None:
    before = event()
    moved = event(location="Room 9", attendees=(ADA, Attendee("carol@example.org")))
    change = Change("updated", ACCOUNT, "c1", moved, before, frozenset({"location", "attendees"}))
    assert summary(change) == (
        "queued",
        ["REQUEST ada@example.org", "REQUEST carol@example.org", "CANCEL bob@example.org"],
    )
    assert [m.alone for m in plan(change, "calgate", "olga@example.org").mails] == [
        False,
        False,
        True,
    ]
    assert summary(change, "forced") == ("forced_by_provider", [])
    assert summary(change, "provider") == ("sent", [])
    recoloured = Change(
        "updated", ACCOUNT, "c1", event(color="#D50000"), before, frozenset({"color"})
    )
    assert summary(recoloured) == (None, [])
    same_place = Change("updated", ACCOUNT, "c1", event(), before, frozenset({"location"}))
    assert summary(same_place) == (None, [])


def test_updated_notify_off_and_on() -> None:
    off = Change("updated", ACCOUNT, "c1", event(False, location="X"), event(), frozenset())
    assert summary(off) == ("none", [])
    on = Change("updated", ACCOUNT, "c1", event(True), event(False), frozenset({"notify"}))
    assert summary(on) == ("queued", ["REQUEST ada@example.org", "REQUEST bob@example.org"])


def test_deleted() -> None:
    gone = dataclasses.replace(event(), is_cancelled=True)
    assert summary(Change("deleted", ACCOUNT, "c1", gone)) == (
        None,
        ["CANCEL ada@example.org", "CANCEL bob@example.org"],
    )
    assert summary(Change("deleted", ACCOUNT, "c1", gone), "provider") == (None, [])
    quiet = dataclasses.replace(event(False), is_cancelled=True)
    assert summary(Change("deleted", ACCOUNT, "c1", quiet)) == (None, [])


def test_hidden_lists_make_every_mail_alone() -> None:
    change = Change("created", ACCOUNT, "c1", event(is_attendees_list_hidden=True))
    assert [m.alone for m in plan(change, "calgate", "olga@example.org").mails] == [True, True]
