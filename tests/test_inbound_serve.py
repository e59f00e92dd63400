"""A real `calgate serve` with its inbound SMTP listener on a loopback port: an attendee's REPLY
sent with smtplib changes the attendee's answer and reaches a webhook; `calgate inbound` runs
the same listener on its own."""

from __future__ import annotations

import json
import os
import smtplib
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.receiver import running_receiver
from tests.serve import free_port, serve
from tests.smtp import mail_settings, running_smtp
from tests.test_inbound import imip

pytestmark = pytest.mark.system
KEY = "cg_inbound_serve_key"


def settle(check: Any, within: float = 15.0) -> Any:
    deadline = time.monotonic() + within
    while True:
        found = check()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_a_reply_by_smtp_reaches_the_event_and_the_webhook(tmp_path: Path) -> None:
    port = free_port()
    with running_smtp() as sink, running_receiver() as receiver:
        env = {f"CALGATE_{k.upper()}": str(v) for k, v in mail_settings(sink).items()}
        env |= {
            "CALGATE_API_KEY": KEY,
            "CALGATE_INBOUND_SMTP_PORT": str(port),
            "CALGATE_ALLOW_LOOPBACK_URLS": "true",
        }
        with (
            serve(tmp_path, env) as served,
            httpx.Client(base_url=served.base_url, headers={"X-API-KEY": KEY}, timeout=10) as api,
        ):
            assert f"replies by SMTP on 127.0.0.1:{port}" in served.text()
            body: dict[str, Any] = {
                "provider": "LOCAL",
                "name": "Olga",
                "email": "olga@example.org",
            }
            account = api.post("/api/v1/accounts", json=body).json()["account_id"]
            params = {"account_id": account}
            calendar = api.get("/api/v1/calendars", params=params).json()["data"][0]["id"]
            hook = {"source": "calendar_event", "request_url": receiver.url, "name": "h"}
            assert api.post("/api/v1/webhooks", json=hook).status_code == 201
            event = {
                "title": "Design review",
                "start": {"date_time": "2026-05-04T09:00:00Z"},
                "end": {"date_time": "2026-05-04T10:00:00Z"},
                "attendees": [{"email": "ada@example.org"}],
                "notify": True,
            }
            url = f"/api/v1/calendars/{calendar}/events"
            event_id = api.post(url, params=params, json=event).json()["event_id"]
            created = api.get(f"{url}/{event_id}", params=params).json()
            assert settle(lambda: sink.to("ada@example.org"))  # the invitation went out

            with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
                refused = client.sendmail(
                    "ada@example.org",
                    ["calendar@calgate.test"],
                    imip(created, partstat="ACCEPTED", comment="Count me in"),
                )
            assert refused == {}

            def answered() -> bool:
                got = api.get(f"{url}/{event_id}", params=params).json()
                return bool(got["attendees"][0]["response_status"] == "yes")

            assert settle(answered), served.text()
            assert (
                api.get(f"{url}/{event_id}", params=params).json()["attendees"][0]["comment"]
                == "Count me in"
            )

            def updated() -> list[dict[str, Any]]:
                return [
                    json.loads(r.body)
                    for r in receiver.received()
                    if json.loads(r.body)["event"] == "calendar_event_updated"
                ]

            [delivery] = settle(updated)
            assert delivery["id"] == event_id
            assert delivery["attendees"][0]["response_status"] == "yes"

            # A message that does not match is accepted by SMTP, logged and dropped.
            with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
                client.sendmail(
                    "mallory@example.net",
                    ["calendar@calgate.test"],
                    imip(created, partstat="DECLINED", sender="mallory@example.net"),
                )
            assert settle(lambda: "is not the ATTENDEE" in served.text()), served.text()
            assert (
                api.get(f"{url}/{event_id}", params=params).json()["attendees"][0][
                    "response_status"
                ]
                == "yes"
            )


def test_calgate_inbound_runs_the_listener_alone(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "CALGATE_DATA_DIR": str(tmp_path), "CALGATE_API_KEY": KEY}
    # A database to read: the first `calgate serve` start makes it.
    with serve(tmp_path, {"CALGATE_API_KEY": KEY}):
        pass
    log = (tmp_path / "inbound.log").open("w")
    cmd = [sys.executable, "-m", "calgate", "inbound", "--port", str(port)]
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
    try:

        def greeted() -> bool:
            try:
                with smtplib.SMTP("127.0.0.1", port, timeout=2) as client:
                    return client.noop()[0] == 250
            except OSError:
                return False

        assert settle(greeted), (tmp_path / "inbound.log").read_text()
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.sendmail(
                "x@example.org", ["calendar@calgate.test"], b"Subject: hi\r\n\r\nno\r\n"
            )
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()
    text = (tmp_path / "inbound.log").read_text()
    assert f"by SMTP on 127.0.0.1:{port}" in text
    assert "calgate inbound stopped" in text
