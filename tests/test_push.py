"""Push notifications end to end: the Google and Graph test servers POST their notifications
over HTTP to a real `calgate serve` (polling at the default 60 s), and a change made on either
reaches the webhook receiver through push within seconds, exactly once; forged notifications
are refused and counted; channels are renewed, made again after a restart that finds them
expired, and stopped with their account."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.fakes import google_push, graph_push
from tests.pushkit import (
    HEADERS,
    Pushed,
    push_database_fixture,
    pushed,
    wait_until,
    watched,
)
from tests.receiver import Receiver
from tests.serve import free_port
from tests.synckit import receiver_fixture

pytestmark = pytest.mark.system
__all__ = ["push_database_fixture", "receiver_fixture"]
PROVIDERS = ["GOOGLE_OAUTH", "OUTLOOK"]
POLL_SECONDS = 60.0


def _change_arrives(p: Pushed, title: str) -> tuple[str, float]:
    """An outside change → its ``calendar_event_created`` at the receiver; (id, seconds)."""
    before = len(p.receiver.accepted())
    started = time.monotonic()
    event_id = p.outside_create(title)
    wait_until(lambda: len(p.receiver.accepted()) > before, 15, "the delivery")
    took = time.monotonic() - started
    delivery = p.receiver.accepted()[before].json()
    assert (delivery["event"], delivery["id"], delivery["title"]) == (
        "calendar_event_created",
        event_id,
        title,
    )
    return event_id, took


@pytest.mark.parametrize("provider", PROVIDERS)
def test_an_outside_change_reaches_the_webhook_through_push_once(
    provider: str, receiver: Receiver, tmp_path: Path, push_database: str
) -> None:
    with watched(provider, receiver, tmp_path, push_database) as (p, _):
        state = p.calendar_state()
        assert state["push"]["kind"] == (
            "google_channel" if provider == "GOOGLE_OAUTH" else "graph_subscription"
        )
        event_id, took = _change_arrives(p, "Made outside")
        assert took < 5.0, took  # the poll would take up to 60 s
        p.outside_rename(event_id, "Renamed outside")
        deliveries = p.delivered(2)
        assert [(d["event"], d["id"]) for d in deliveries] == [
            ("calendar_event_created", event_id),
            ("calendar_event_updated", event_id),
        ]
        assert deliveries[1]["title"] == "Renamed outside"
        assert p.calendar_state()["push"]["notifications"] >= 2
        label = "google" if provider == "GOOGLE_OAUTH" else "microsoft"
        assert p.metric("calgate_push_notifications_total", provider=label, outcome="accepted") >= 2


def test_graph_validates_both_urls_and_calgate_echoes_the_token(
    receiver: Receiver, tmp_path: Path, push_database: str
) -> None:
    with watched("OUTLOOK", receiver, tmp_path, push_database) as (p, _):
        checked = graph_push.subscriptions(p.fakes.graph).validations
        assert sorted(url.rsplit("/", 1)[1] for url, status in checked if status == 200) == [
            "lifecycle",
            "microsoft",
        ]
        token = "Validation: Testing client application reachability <&>"
        r = httpx.post(
            f"{p.base}/api/v1/push/microsoft", params={"validationToken": token}, content=b""
        )
        assert (r.status_code, r.text) == (200, token)
        assert r.headers["content-type"].startswith("text/plain")
        # `calgate sync status` shows the subscription
        env = {**os.environ, **p.env, "CALGATE_DATA_DIR": str(p.data)}
        shown = subprocess.run(
            [sys.executable, "-m", "calgate", "sync", "status"],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        assert shown.returncode == 0, shown.stderr
        header, row = shown.stdout.splitlines()[:2]
        assert "PUSH" in header.split() and "active" in row.split(), shown.stdout


@pytest.mark.parametrize("provider", PROVIDERS)
def test_forged_and_unknown_notifications_are_refused_and_counted(
    provider: str, receiver: Receiver, tmp_path: Path, push_database: str
) -> None:
    with watched(provider, receiver, tmp_path, push_database) as (p, channel_id):
        seen = p.calendar_state()["push"]["notifications"]
        label = "google" if provider == "GOOGLE_OAUTH" else "microsoft"
        metric = "calgate_push_notifications_total"
        before = {o: p.metric(metric, provider=label, outcome=o) for o in ("forged", "unknown")}
        if provider == "GOOGLE_OAUTH":
            [watch] = google_push.live(p.fakes.google)
            url = f"{p.base}/api/v1/push/google"
            common = {"X-Goog-Resource-ID": watch.resource_id, "X-Goog-Message-Number": "9"}
            common |= {"X-Goog-Resource-State": "exists"}
            forged = {"X-Goog-Channel-ID": channel_id, "X-Goog-Channel-Token": "guessed"}
            unknown = {"X-Goog-Channel-ID": "nope", "X-Goog-Channel-Token": watch.token}
            answers = [httpx.post(url, headers={**common, **h}) for h in (forged, unknown)]
        else:
            url = f"{p.base}/api/v1/push/microsoft"

            def note(sub: str, state: str) -> dict[str, object]:
                entry = {"subscriptionId": sub, "clientState": state, "changeType": "created"}
                return {"value": [{**entry, "resource": "Users/x/Events/y"}]}

            client_state = graph_push.live(p.fakes.graph)[0].client_state
            answers = [
                httpx.post(url, json=note(channel_id, "guessed")),
                httpx.post(url, json=note("nope", client_state)),
            ]
        assert [a.status_code for a in answers] == [202, 202]  # answered, ignored
        # counted as deltas: a channel replaced while the test server was slow may have been
        # notified (and counted as unknown) before this test's own notifications were sent
        for outcome in ("forged", "unknown"):
            got = p.metric(metric, provider=label, outcome=outcome) - before[outcome]
            assert got == 1, (outcome, got)
        time.sleep(1.0)
        assert p.calendar_state()["push"]["notifications"] == seen
        assert p.receiver.accepted() == []


@pytest.mark.parametrize("provider", PROVIDERS)
def test_channels_are_renewed_before_they_expire(
    provider: str, receiver: Receiver, tmp_path: Path, push_database: str
) -> None:
    short = {"CALGATE_PUSH_TTL_SECONDS": "6", "CALGATE_PUSH_RENEW_BEFORE_SECONDS": "3"}
    with watched(provider, receiver, tmp_path, push_database, **short) as (p, old):
        first = p.calendar_state()
        wait_until(lambda: p.calendar_state()["push"]["renewals"] >= 1, 15, "a renewal")
        if provider == "GOOGLE_OAUTH":  # Google: a new channel, the old one stopped
            wait_until(lambda: old in google_push.watches(p.fakes.google).stopped, 5, "stop")
            assert p.channel_ids() != [old] and len(p.channel_ids()) == 1
        else:  # Graph: the same subscription, later
            assert old in graph_push.subscriptions(p.fakes.graph).renewed
            assert p.channel_ids() == [old]
        assert p.calendar_state()["push"]["expires_at"] > first["push"]["expires_at"]
        _, took = _change_arrives(p, "After the renewal")
        assert took < 5.0, took


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_restart_that_finds_channels_expired_makes_them_again(
    provider: str, receiver: Receiver, tmp_path: Path, push_database: str
) -> None:
    short = {"CALGATE_PUSH_TTL_SECONDS": "5", "CALGATE_PUSH_RENEW_BEFORE_SECONDS": "1"}
    with pushed(provider, receiver, tmp_path, push_database, **short) as p:
        with p.running():
            p.connect()
            p.wait_active()
            [old] = p.channel_ids()
        # calgate is down for longer than its channels live
        wait_until(lambda: p.channel_ids() == [], 15, "the channels to expire")
        with p.running():
            p.wait_active(other_than=old)
            [new] = p.channel_ids()
            assert new != old
            _, took = _change_arrives(p, "After the restart")
            assert took < 5.0, took


@pytest.mark.parametrize("provider", PROVIDERS)
def test_deleting_the_account_stops_its_channels(
    provider: str, receiver: Receiver, tmp_path: Path, push_database: str
) -> None:
    with watched(provider, receiver, tmp_path, push_database) as (p, channel_id):
        r = httpx.delete(f"{p.base}/api/v1/accounts/{p.account_id}", headers=HEADERS)
        assert r.status_code == 200, r.text
        assert p.channel_ids() == []
        if provider == "GOOGLE_OAUTH":
            assert google_push.watches(p.fakes.google).stopped == [channel_id]
        else:
            assert graph_push.subscriptions(p.fakes.graph).deleted == [channel_id]


def test_graph_lifecycle_notifications(
    receiver: Receiver, tmp_path: Path, push_database: str
) -> None:
    with watched("OUTLOOK", receiver, tmp_path, push_database) as (p, sub):
        graph = p.fakes.graph
        kept = graph_push.subscriptions(graph)
        # reauthorizationRequired: renewed at once (its renewal time is days away)
        assert graph_push.lifecycle(graph, sub, "reauthorizationRequired") == 202
        wait_until(lambda: sub in kept.renewed, 10, "the renewal")
        # a forged one (wrong clientState) changes nothing
        assert graph_push.lifecycle(graph, sub, "subscriptionRemoved", "guessed") == 202
        time.sleep(1.0)
        assert p.channel_ids() == [sub]
        assert p.metric("calgate_push_notifications_total", provider="microsoft", outcome="forged")
        # missed: Graph could not deliver a change; calgate syncs the calendar
        [subscription] = graph_push.live(graph)
        subscription.change_types = set()  # the notifications of the next change are lost
        event_id = p.outside_create("Missed by Graph")
        wait_until(
            lambda: subscription.seen and event_id in subscription.seen, 5, "the lost notice"
        )
        subscription.change_types = set(graph_push.CHANGE_TYPES)
        time.sleep(0.5)
        assert p.receiver.accepted() == []
        assert graph_push.lifecycle(graph, sub, "missed") == 202
        [delivery] = p.delivered(1)
        assert (delivery["event"], delivery["id"]) == ("calendar_event_created", event_id)
        # subscriptionRemoved (from Graph): a new subscription is made
        assert graph_push.lifecycle(graph, sub, "subscriptionRemoved") == 202
        p.wait_active(other_than=sub)
        _, took = _change_arrives(p, "After the removal")
        assert took < 5.0, took


def test_a_change_made_through_calgate_is_reported_once_with_push(
    receiver: Receiver, tmp_path: Path, push_database: str
) -> None:
    """Google pushes calgate's own write too; the sync it causes takes that version in
    silently: one delivery, and the outside change after it is one more."""
    with watched("GOOGLE_OAUTH", receiver, tmp_path, push_database) as (p, _):
        state = p.calendar_state()
        calendar = p.fakes.google.email
        body = {
            "title": "Made through calgate",
            "start": {"date_time": "2026-06-03T09:00:00Z"},
            "end": {"date_time": "2026-06-03T10:00:00Z"},
        }
        r = httpx.post(
            f"{p.base}/api/v1/calendars/{calendar}/events",
            params={"account_id": p.account_id},
            headers=HEADERS,
            json=body,
        )
        assert r.status_code == 200, r.text  # Unipile v1 answers 200
        own = r.json()["event_id"]
        wait_until(
            lambda: p.calendar_state()["push"]["notifications"] > state["push"]["notifications"],
            10,
            "Google's notification of calgate's own write",
        )
        wait_until(lambda: len(p.receiver.accepted()) == 1, 10, "calgate's own delivery")
        time.sleep(1.0)  # the sync the notification caused has run: nothing more arrives
        assert len(p.receiver.accepted()) == 1
        outside, _ = _change_arrives(p, "Then one from outside")
        deliveries = p.delivered(2)
        assert [(d["event"], d["id"]) for d in deliveries] == [
            ("calendar_event_created", own),
            ("calendar_event_created", outside),
        ]


def test_without_a_public_url_calgate_warns_and_polls(
    receiver: Receiver, tmp_path: Path, push_database: str
) -> None:
    with pushed("GOOGLE_OAUTH", receiver, tmp_path, push_database) as p:
        del p.env["CALGATE_PUBLIC_URL"]
        with p.running():
            assert p.served is not None
            assert "push notifications are off: CALGATE_PUBLIC_URL is not set" in p.served.text()
            p.connect()
            wait_until(lambda: p.calendar_state().get("status") == "ok", 20, "the baseline")
            time.sleep(1.0)  # the keeper would have made a channel by now
            assert p.calendar_state()["push"] is None
            assert p.channel_ids() == []


def test_processes_share_one_channel_per_calendar(
    receiver: Receiver, tmp_path: Path, push_database: str
) -> None:
    if push_database.startswith("sqlite"):
        pytest.skip("one SQLite file between processes: covered on PostgreSQL")
    with pushed("OUTLOOK", receiver, tmp_path, push_database) as p, p.running():
        second = Pushed(p.fakes, p.provider, receiver, p.data, p.env, free_port())
        with second.running():
            p.connect()
            p.wait_active()
            time.sleep(2.0)  # four more looks by each keeper
            assert len(p.channel_ids()) == 1
            made = p.fakes.graph.requests.find("POST", "/v1.0/subscriptions")
            assert len(made) == 1
            _, took = _change_arrives(p, "Seen by one of two")
            assert took < 5.0, took


def test_with_push_the_mirror_answers_reads_past_its_age(
    receiver: Receiver, tmp_path: Path, push_database: str
) -> None:
    """A calendar with a live channel and no notification waiting is current: reads answer
    from the mirror even when its last sync is older than the mirror's age limit; an outside
    change is read once its notification's sync has run."""
    age = {"CALGATE_SYNC_MIRROR_MAX_AGE_SECONDS": "1"}
    with watched("GOOGLE_OAUTH", receiver, tmp_path, push_database, **age) as (p, _):
        event_id, _ = _change_arrives(p, "Read from the mirror")
        url = f"{p.base}/api/v1/calendars/{p.fakes.google.email}/events/{event_id}"

        def read() -> tuple[str, int]:
            reads = len(p.fakes.google.requests.find("GET", "/calendar/v3/calendars/"))
            r = httpx.get(url, params={"account_id": p.account_id}, headers=HEADERS)
            assert r.status_code == 200, r.text
            after = len(p.fakes.google.requests.find("GET", "/calendar/v3/calendars/"))
            return str(r.json()["title"]), after - reads

        time.sleep(1.5)  # older than the age limit: without push the provider would answer
        assert read() == ("Read from the mirror", 0)
        p.outside_rename(event_id, "Renamed outside")
        p.delivered(2)
        time.sleep(1.5)
        assert read() == ("Renamed outside", 0)


def test_duplicate_notifications_report_a_change_once(
    receiver: Receiver, tmp_path: Path, push_database: str
) -> None:
    """Google may repeat a notification: copies of a valid one (same channel, token, message
    number) are taken, and the change behind them is still reported once."""
    with watched("GOOGLE_OAUTH", receiver, tmp_path, push_database) as (p, _):
        [watch] = google_push.live(p.fakes.google)
        event_id, _ = _change_arrives(p, "Notified three times")
        copy = {
            "X-Goog-Channel-ID": watch.id,
            "X-Goog-Channel-Token": watch.token,
            "X-Goog-Resource-ID": watch.resource_id,
            "X-Goog-Resource-State": "exists",
            "X-Goog-Message-Number": str(watch.number),
        }
        accepted = ("calgate_push_notifications_total",)
        before = p.metric(*accepted, provider="google", outcome="accepted")
        answers = [httpx.post(f"{p.base}/api/v1/push/google", headers=copy) for _ in range(2)]
        assert [a.status_code for a in answers] == [202, 202]
        # Each copy is counted before its 202 (the outside change's own notice may still be on
        # its way from the test server: the delivery can come from a sync already due).
        assert p.metric(*accepted, provider="google", outcome="accepted") >= before + 2
        [delivery] = p.delivered(1)
        assert (delivery["event"], delivery["id"]) == ("calendar_event_created", event_id)


def test_a_not_exists_notification_makes_the_deletion_arrive_once(
    receiver: Receiver, tmp_path: Path, push_database: str
) -> None:
    """Google's third resource state, ``not_exists`` (the resource no longer exists), is a
    change like ``exists``: the calendar's sync is due at once and the deletion behind it
    reaches the webhook once, even when Google repeats the message."""
    with watched("GOOGLE_OAUTH", receiver, tmp_path, push_database) as (p, _):
        kept = google_push.watches(p.fakes.google)
        event_id, _ = _change_arrives(p, "Deleted outside")
        seen = p.calendar_state()["push"]["notifications"]
        kept.deletions = "not_exists"
        started = time.monotonic()
        p.outside_delete(event_id)
        wait_until(lambda: len(p.receiver.accepted()) >= 2, 15, "the deletion")
        assert time.monotonic() - started < 5.0  # the poll would take up to 60 s
        [sent] = [s for s in kept.sent if s.state == "not_exists"]
        assert sent.status == 202
        [watch] = google_push.live(p.fakes.google)
        copy = {
            "X-Goog-Channel-ID": watch.id,
            "X-Goog-Channel-Token": watch.token,
            "X-Goog-Resource-ID": watch.resource_id,
            "X-Goog-Resource-State": "not_exists",
            "X-Goog-Message-Number": str(watch.number),
        }
        again = httpx.post(f"{p.base}/api/v1/push/google", headers=copy)
        assert again.status_code == 202
        deliveries = p.delivered(2)
        assert [(d["event"], d["id"]) for d in deliveries] == [
            ("calendar_event_created", event_id),
            ("calendar_event_deleted", event_id),
        ]
        assert p.calendar_state()["push"]["notifications"] >= seen + 2


def test_a_burst_of_notifications_makes_a_sync_run_not_one_each(
    receiver: Receiver, tmp_path: Path, push_database: str
) -> None:
    """64 notifications sent at once for one calendar are each recorded, and the calendar is
    synced once, or a few times when the burst outlasts a run (a run in progress leaves the
    calendar due for one more; 32 client threads take as long as several runs of a few tens of
    milliseconds on a loaded machine, and the faster a run, the more fit in the burst: 9 were
    seen once the provider calls got cheaper): never once per notification, at most one run
    per four."""
    with watched("GOOGLE_OAUTH", receiver, tmp_path, push_database) as (p, _):
        [watch] = google_push.live(p.fakes.google)
        time.sleep(1.0)  # the sync the new channel asked for has run

        def sync_reads() -> int:
            calendar = f"/calendar/v3/calendars/{p.fakes.google.email}/events"
            return len([r for r in p.fakes.google.requests.find("GET", calendar)])

        seen, reads = p.calendar_state()["push"]["notifications"], sync_reads()
        headers = {
            "X-Goog-Channel-ID": watch.id,
            "X-Goog-Channel-Token": watch.token,
            "X-Goog-Resource-ID": watch.resource_id,
            "X-Goog-Resource-State": "exists",
        }
        url = f"{p.base}/api/v1/push/google"
        with httpx.Client() as client, ThreadPoolExecutor(32) as pool:
            answers = list(pool.map(lambda _: client.post(url, headers=headers), range(64)))
        assert {a.status_code for a in answers} == {202}
        time.sleep(1.5)
        assert p.calendar_state()["push"]["notifications"] == seen + 64
        runs = sync_reads() - reads
        assert 1 <= runs <= 16, runs  # typically 2
        assert p.receiver.accepted() == []  # nothing changed: nothing to report
