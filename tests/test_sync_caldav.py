"""Provider sync on CalDAV against a real Radicale: events PUT, changed and DELETEd directly on
the server (as another CalDAV client would) reach a real webhook receiver exactly once, with
the same payload as changes made through calgate; calgate's own changes are not reported
again; a refused sync-token makes a full resync that reconciles deletions; a server without
sync-collection is followed by ETags; two instances on one database report each change once.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import pytest

from calgate.outbox.worker import Worker
from calgate.runtime import Runtime
from calgate.settings import Settings
from calgate.store import mirror
from calgate.store.db import now_us
from tests import synckit
from tests.conftest import Api
from tests.radicale import Radicale, User, proxy_to, radicale_fixture  # noqa: F401
from tests.receiver import Receiver
from tests.synckit import receiver_fixture, same_as_live, sync_settings, webhook, worker_fixture

pytestmark = pytest.mark.anyio


def ics(uid: str, title: str, *extra_vevents: str, rrule: str = "", exdate: str = "") -> str:
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//other client//EN",
        "BEGIN:VEVENT",
        f"UID:{uid}",
        "DTSTAMP:20260101T000000Z",
        "DTSTART:20260601T100000Z",
        "DTEND:20260601T110000Z",
        f"SUMMARY:{title}",
    ]
    if rrule:
        lines.append(f"RRULE:{rrule}")
    if exdate:
        lines.append(f"EXDATE:{exdate}")
    lines.append("END:VEVENT")
    lines.extend(extra_vevents)
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"


def override(uid: str, token: str, title: str) -> str:
    return "\r\n".join(
        [
            "BEGIN:VEVENT",
            f"UID:{uid}",
            "DTSTAMP:20260101T000000Z",
            f"RECURRENCE-ID:{token}",
            f"DTSTART:{token[:9]}150000Z",
            f"DTEND:{token[:9]}160000Z",
            f"SUMMARY:{title}",
            "END:VEVENT",
        ]
    )


@dataclass
class Dav:
    """Another CalDAV client, writing straight to the user's calendar on Radicale."""

    radicale: Radicale
    user: User
    path: str

    def put(self, name: str, text: str) -> None:
        with self.radicale.client(self.user) as c:
            r = c.put(
                f"{self.path}{name}.ics",
                content=text.encode(),
                headers={"Content-Type": "text/calendar; charset=utf-8"},
            )
            assert r.status_code in (201, 204), r.text

    def delete(self, name: str) -> None:
        with self.radicale.client(self.user) as c:
            assert c.delete(f"{self.path}{name}.ics").status_code in (200, 204)

    def exists(self, name: str) -> bool:
        with self.radicale.client(self.user) as c:
            return c.get(f"{self.path}{name}.ics").status_code == 200

    def forget_sync_tokens(self) -> None:
        """The server forgets every sync-token it handed out (as servers do after a while)."""
        folder = (
            self.radicale.directory
            / "collections"
            / "collection-root"
            / self.path.strip("/")
            / ".Radicale.cache"
            / "sync-token"
        )
        assert folder.is_dir()
        shutil.rmtree(folder)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return sync_settings(database_url, tmp_path, sync_interval_seconds=0.2)


class Synced(synckit.Synced):
    def __init__(self, api: Api, dav: Dav, account_id: str) -> None:
        super().__init__(api, account_id, "work")
        self.dav = dav


async def connect(api: Api, radicale: Radicale, url: str | None = None) -> tuple[str, Dav]:
    user = radicale.add_user()
    path = radicale.make_calendar(user, "work", "Work")
    body = {
        "provider": "CALDAV",
        "url": url or radicale.url,
        "username": user.name,
        "password": user.password,
    }
    r = await api.call("POST", "/api/v1/accounts", json=body)
    assert r.status_code == 201, r.text
    return r.json()["account_id"], Dav(radicale, user, path)


@pytest.fixture
async def synced(api: Api, radicale: Radicale, receiver: Receiver, worker: Worker) -> Synced:
    account_id, dav = await connect(api, radicale)
    await webhook(api, receiver)
    dav.put("before", ics("before@other", "There before calgate"))
    synced = Synced(api, dav, account_id)
    await synced.sync()  # the baseline: what is there already is not reported
    return synced


async def settle(receiver: Receiver, count: int) -> list[dict[str, Any]]:
    return [body for _, _, body in await synckit.settle(receiver, count)]


def kinds(deliveries: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(d.get("event", "?"), d.get("id", "?")) for d in deliveries]


async def test_outside_changes_reach_the_webhook_once(synced: Synced, receiver: Receiver) -> None:
    await synced.sync()
    assert receiver.accepted() == []  # the baseline and an idle run report nothing

    synced.dav.put("outside", ics("outside@other", "Made elsewhere"))
    await synced.sync()
    [created] = await settle(receiver, 1)
    assert created["event"] == "calendar_event_created"
    assert created["id"] == "outside"
    assert created["title"] == "Made elsewhere"
    assert created["calendar_id"] == "work"
    assert created["account_id"] == synced.account_id
    # The same payload as a GET of that event through calgate.
    assert same_as_live(created, await synced.live("outside"))

    synced.dav.put("outside", ics("outside@other", "Renamed elsewhere"))
    await synced.sync()
    await synced.sync()
    updated = (await settle(receiver, 2))[1]
    assert (updated["event"], updated["id"], updated["title"]) == (
        "calendar_event_updated",
        "outside",
        "Renamed elsewhere",
    )

    synced.dav.delete("outside")
    await synced.sync()
    deleted = (await settle(receiver, 3))[2]
    assert (deleted["event"], deleted["id"], deleted["is_cancelled"]) == (
        "calendar_event_deleted",
        "outside",
        True,
    )
    await synced.sync()
    assert len(await settle(receiver, 3)) == 3

    state = await synced.sync_state()
    assert state["status"] == "ok"
    assert state["mode"] == "sync-collection"
    assert state["changes_seen"] == 3
    assert state["full_resyncs"] == 0
    assert state["last_error"] is None
    assert 0 <= state["lag_seconds"] < 60


async def test_occurrences_edited_and_removed_outside(synced: Synced, receiver: Receiver) -> None:
    uid = "series@other"
    synced.dav.put("series", ics(uid, "Weekly", rrule="FREQ=WEEKLY;COUNT=5"))
    await synced.sync()
    await receiver.wait_for(1)

    second = "20260608T100000Z"
    synced.dav.put(
        "series",
        ics(uid, "Weekly", override(uid, second, "Moved once"), rrule="FREQ=WEEKLY;COUNT=5"),
    )
    await synced.sync()
    edited = (await settle(receiver, 2))[1]
    assert edited["event"] == "calendar_event_updated"
    assert edited["id"] == f"series_{second}"
    assert edited["master_event_id"] == "series"
    assert edited["title"] == "Moved once"

    third = "20260615T100000Z"
    synced.dav.put(
        "series",
        ics(
            uid,
            "Weekly",
            override(uid, second, "Moved once"),
            rrule="FREQ=WEEKLY;COUNT=5",
            exdate=third,
        ),
    )
    await synced.sync()
    removed = (await settle(receiver, 3))[2]
    assert (removed["event"], removed["id"], removed["master_event_id"]) == (
        "calendar_event_deleted",
        f"series_{third}",
        "series",
    )


async def test_changes_made_through_calgate_are_reported_once(
    synced: Synced, receiver: Receiver
) -> None:
    api, account = synced.api, synced.account_id
    url = "/api/v1/calendars/work/events"
    body = {
        "title": "Through calgate",
        "start": {"date_time": "2026-06-02T10:00:00Z"},
        "end": {"date_time": "2026-06-02T11:00:00Z"},
        "recurrence": ["RRULE:FREQ=DAILY;COUNT=3"],
    }
    r = await api.call("POST", url, json=body, account_id=account)
    assert r.status_code == 200, r.text
    event_id = r.json()["event_id"]
    await synced.sync()
    r = await api.call("PATCH", f"{url}/{event_id}", json={"title": "Renamed"}, account_id=account)
    assert r.status_code == 200, r.text
    await synced.sync()
    occurrence = f"{event_id}_20260603T100000Z"
    r = await api.call("DELETE", f"{url}/{occurrence}", account_id=account)
    assert r.status_code == 200, r.text
    await synced.sync()
    r = await api.call("DELETE", f"{url}/{event_id}", account_id=account)
    assert r.status_code == 200, r.text
    await synced.sync()
    await synced.sync()
    assert kinds(await settle(receiver, 4)) == [
        ("calendar_event_created", event_id),
        ("calendar_event_updated", event_id),
        ("calendar_event_deleted", occurrence),
        ("calendar_event_deleted", event_id),
    ]


async def test_refused_sync_token_makes_a_full_resync(synced: Synced, receiver: Receiver) -> None:
    synced.dav.put("kept", ics("kept@other", "Kept"))
    synced.dav.put("doomed", ics("doomed@other", "Doomed"))
    await synced.sync()
    await settle(receiver, 2)

    synced.dav.forget_sync_tokens()
    synced.dav.delete("doomed")
    synced.dav.put("kept", ics("kept@other", "Kept and renamed"))
    await synced.sync()
    found = sorted(kinds((await settle(receiver, 4))[2:]))
    assert found == [("calendar_event_deleted", "doomed"), ("calendar_event_updated", "kept")]
    account = await synced.api.call("GET", f"/api/v1/accounts/{synced.account_id}")
    [state] = account.json()["sync"]["calendars"]
    assert state["full_resyncs"] == 1
    assert state["status"] == "ok"


async def test_server_without_sync_collection_is_followed_by_etags(
    api: Api, radicale: Radicale, receiver: Receiver, worker: Worker
) -> None:
    with proxy_to(radicale) as (proxy, url):
        account_id, dav = await connect(api, radicale, url)
        await webhook(api, receiver)
        dav.put("one", ics("one@other", "One"))
        scheduler = api.runtime.scheduler()
        # The first sync-collection REPORT is refused as by a server without RFC 6578.
        proxy.faults.add(
            "/",
            method="REPORT",
            status=403,
            body="<D:error xmlns:D='DAV:'><D:supported-report/></D:error>",
        )
        synced = Synced(api, dav, account_id)
        synced.scheduler = scheduler
        await synced.sync()
        assert receiver.accepted() == []
        state = (await api.call("GET", f"/api/v1/accounts/{account_id}")).json()["sync"]
        assert state["calendars"][0]["mode"] == "ctag"

        reports = proxy.count("REPORT")
        await synced.sync()  # nothing changed: one PROPFIND of the ctag, no listing
        assert proxy.count("REPORT") == reports

        dav.put("two", ics("two@other", "Two"))
        dav.put("one", ics("one@other", "One renamed"))
        await synced.sync()
        found = sorted(kinds(await settle(receiver, 2)))
        assert found == [("calendar_event_created", "two"), ("calendar_event_updated", "one")]
        dav.delete("two")
        await synced.sync()
        assert kinds((await settle(receiver, 3))[2:]) == [("calendar_event_deleted", "two")]


async def test_two_instances_report_each_change_once(
    api: Api, settings: Settings, radicale: Radicale, receiver: Receiver, worker: Worker
) -> None:
    account_id, dav = await connect(api, radicale)
    await webhook(api, receiver)
    other = Runtime.build(settings)
    await other.start()
    try:
        async with api.runtime.scheduler().running(), other.scheduler().running():
            await wait_synced(api, account_id)
            for i in range(6):
                dav.put(f"e{i}", ics(f"e{i}@other", f"Event {i}"))
                await anyio.sleep(0.1)
            for i in range(0, 6, 2):
                dav.delete(f"e{i}")
            deliveries = await receiver.wait_for(9, within=20)
            await anyio.sleep(1.0)
    finally:
        await other.aclose()
    got = sorted(kinds([r.json() for r in receiver.accepted()]))
    assert got == sorted(
        [("calendar_event_created", f"e{i}") for i in range(6)]
        + [("calendar_event_deleted", f"e{i}") for i in range(0, 6, 2)]
    ), deliveries


async def wait_synced(api: Api, account_id: str) -> None:
    with anyio.fail_after(15):
        while True:
            r = await api.call("GET", f"/api/v1/accounts/{account_id}")
            states = r.json()["sync"]["calendars"]
            if states and all(s["status"] == "ok" for s in states):
                return
            await anyio.sleep(0.05)


__all__ = ["receiver_fixture", "worker_fixture"]


async def test_per_account_cap_holds_across_processes(
    api: Api, settings: Settings, radicale: Radicale
) -> None:
    """Three calendars of one account, a cap of one: whichever process claims, one runs."""
    account_id, dav = await connect(api, radicale)
    for slug in ("home", "team"):
        radicale.make_calendar(dav.user, slug, slug.title())
    scheduler = api.runtime.scheduler()
    await scheduler.run_account(account_id)  # enrolled, calendars read, baselines done
    db = api.runtime.db
    now = now_us()
    await db.write(lambda c: mirror.make_due(c, account_id, now))

    def claim(token: str) -> Any:
        return lambda c: mirror.claim_calendars(
            c, token=token, now=now_us(), lease_until=now_us() + 10**8, limit=8, per_account=1
        )

    first = await db.write(claim("process-a"))
    second = await db.write(claim("process-b"))
    assert (len(first), len(second)) == (1, 0)
    states = await db.read(lambda c: mirror.calendar_states(c, account_id))
    assert sorted(s.calendar_id for s in states) == ["home", "team", "work"]
    assert [s.lease_owner for s in states].count("process-a") == 1


async def test_deletion_seen_by_sync_before_calgate_records_it_is_reported_once(
    api: Api, radicale: Radicale, receiver: Receiver, worker: Worker
) -> None:
    """The server deletes the event, sync reads that and reports it, and only then does
    calgate's own DELETE (its answer lost, retried) record the change: one delivery."""
    with proxy_to(radicale) as (proxy, url):
        account_id, dav = await connect(api, radicale, url)
        await webhook(api, receiver)
        synced = Synced(api, dav, account_id)
        await synced.sync()
        events = "/api/v1/calendars/work/events"
        body = {
            "title": "Soon gone",
            "start": {"date_time": "2026-06-02T10:00:00Z"},
            "end": {"date_time": "2026-06-02T11:00:00Z"},
        }
        r = await api.call("POST", events, json=body, account_id=account_id)
        assert r.status_code == 200, r.text
        event_id = r.json()["event_id"]
        await synced.sync()

        # The DELETE reaches the server, its answer is lost; the retry waits at the proxy.
        proxy.faults.add("/", method="DELETE", delay=1.5, times=2)
        proxy.drop_after("DELETE")
        async with anyio.create_task_group() as tasks:
            answers: list[int] = []

            async def delete() -> None:
                r = await api.call("DELETE", f"{events}/{event_id}", account_id=account_id)
                answers.append(r.status_code)

            tasks.start_soon(delete)
            with anyio.fail_after(10):
                # Polling the server (another process): nothing to wait on.
                while await anyio.to_thread.run_sync(dav.exists, event_id):  # noqa: ASYNC110
                    await anyio.sleep(0.05)
            await synced.sync()  # sync reports the deletion first
        assert answers == [200]
    assert [(k, i) for k, i, _ in await synckit.settle(receiver, 2)] == [
        ("calendar_event_created", event_id),
        ("calendar_event_deleted", event_id),
    ]


async def test_a_deleted_accounts_sync_state_and_mirror_go_others_stay(
    api: Api, radicale: Radicale
) -> None:
    """The scheduler's enrolment drops the sync jobs, calendars and mirrored items of an
    account deleted through the API, and only those."""
    kept, kept_dav = await connect(api, radicale)
    gone, gone_dav = await connect(api, radicale)
    for dav in (kept_dav, gone_dav):
        dav.put("e1", ics(f"e1@{dav.user.name}", "Event"))
    scheduler = api.runtime.scheduler()
    for account_id in (kept, gone):
        await scheduler.run_account(account_id)
    db = api.runtime.db

    async def held(account_id: str) -> tuple[int, int]:
        states = await db.read(lambda c: mirror.calendar_states(c, account_id))
        items = await db.read(lambda c: mirror.item_ids(c, account_id, "work"))
        return len(states), len(items)

    assert await held(gone) == (1, 1)
    r = await api.call("DELETE", f"/api/v1/accounts/{gone}")
    assert r.status_code == 200, r.text
    await scheduler.tick()
    assert await held(gone) == (0, 0)
    assert await held(kept) == (1, 1)
