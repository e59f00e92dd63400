"""What `calgate serve` answers to a client that sends its body too slowly (issue 13, item 5)
and to a request line too long to parse (item 12): both in the contract's JSON error shape,
through the real server and a raw socket."""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.serve import Served, ids_from_banner, serve

KEY = "cg_test_key_slow_clients"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    env = {
        "CALGATE_API_KEY": KEY,
        "CALGATE_BODY_TIMEOUT_SECONDS": "1.5",
        "CALGATE_WORKER_ENABLED": "false",
    }
    with serve(tmp_path_factory.mktemp("slow"), env) as s:
        yield s


def address(served: Served) -> tuple[str, int]:
    host, port = served.base_url.removeprefix("http://").split(":")
    return host, int(port)


def read_answer(sock: socket.socket, within: float) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of one HTTP/1.1 answer (the server closes or sends a length)."""
    sock.settimeout(within)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed without an answer: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {k.strip().lower(): v.strip() for k, v in (x.split(":", 1) for x in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, "connection closed mid-body"
        body += chunk
    return status, headers, body


def trickle(sock: socket.socket, data: bytes, started: float) -> bool:
    """Send ``data`` one byte every 0.3 s until the server answers (True) or 8 s passed."""
    sock.settimeout(0.01)
    for byte in data:
        try:
            sock.sendall(bytes([byte]))
        except OSError:
            return True  # closed by the server after its answer
        with contextlib.suppress(TimeoutError):
            if sock.recv(1, socket.MSG_PEEK):
                return True
        if time.monotonic() - started > 8:
            return False
        time.sleep(0.3)
    return False


def test_slow_body_gets_408_json(served: Served) -> None:
    account_id, calendar_id = ids_from_banner(served.text())
    body = json.dumps(
        {"title": "slow", "start": {"date": "2026-03-02"}, "end": {"date": "2026-03-03"}}
    ).encode()
    head = (
        f"POST /api/v1/calendars/{calendar_id}/events?account_id={account_id} HTTP/1.1\r\n"
        f"Host: calgate\r\nX-API-KEY: {KEY}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection(address(served)) as sock:
        started = time.monotonic()
        sock.sendall(head)
        assert trickle(sock, body, started), "no answer while the body trickled in"
        status, headers, raw = read_answer(sock, 5)
    waited = time.monotonic() - started
    assert status == 408
    assert headers["content-type"] == "application/json"
    assert headers["connection"] == "close"
    error = json.loads(raw)
    assert error["status"] == 408
    assert error["type"] == "errors/request_timeout"
    assert "1.5 s" in error["detail"]
    assert error["instance"] == f"/api/v1/calendars/{calendar_id}/events"
    assert 1.4 < waited < 4


def test_slow_headers_get_408_json(served: Served) -> None:
    """The same bound holds for the headers: one header byte every 0.3 s."""
    header = b"X-Slow: " + b"a" * 60 + b"\r\n"
    with socket.create_connection(address(served)) as sock:
        started = time.monotonic()
        sock.sendall(b"GET /api/v1/calendars HTTP/1.1\r\nHost: calgate\r\n")
        assert trickle(sock, header, started), "no answer while the headers trickled in"
        status, headers, raw = read_answer(sock, 5)
    waited = time.monotonic() - started
    assert status == 408
    assert headers["content-type"] == "application/json"
    error = json.loads(raw)
    assert error["type"] == "errors/request_timeout"
    assert "headers did not arrive within 1.5 s" in error["detail"]
    assert 1.4 < waited < 4


def test_an_idle_kept_alive_connection_is_not_a_slow_request(served: Served) -> None:
    with httpx.Client(base_url=served.base_url, headers={"X-API-KEY": KEY}) as client:
        assert client.get("/healthz").status_code == 200
        time.sleep(2.0)  # longer than the bound, between two requests of one connection
        assert client.get("/healthz").status_code == 200


def test_a_prompt_body_is_not_affected(served: Served) -> None:
    account_id, calendar_id = ids_from_banner(served.text())
    r = httpx.post(
        f"{served.base_url}/api/v1/calendars/{calendar_id}/events",
        params={"account_id": account_id},
        headers={"X-API-KEY": KEY},
        json={"title": "t", "start": {"date": "2026-03-02"}, "end": {"date": "2026-03-03"}},
    )
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    "request_line",
    [
        b"GET /api/v1/calendars?q=" + b"a" * 70_000 + b" HTTP/1.1",
        b"GET /api/v1/calendars?q=" + b"a" * 300_000 + b" HTTP/1.1",
        b"NOT AN HTTP REQUEST",
    ],
    ids=["70KB", "300KB", "garbage"],
)
def test_unparsable_request_gets_json(served: Served, request_line: bytes) -> None:
    with socket.create_connection(address(served)) as sock:
        # The server may answer and close before reading everything.
        with contextlib.suppress(OSError):
            sock.sendall(request_line + b"\r\nHost: calgate\r\n\r\n")
        status, headers, raw = read_answer(sock, 5)
    assert status == 400
    assert headers["content-type"] == "application/json"
    error = json.loads(raw)
    assert error["status"] == 400
    assert error["type"] == "errors/malformed_request"
    assert error["title"] == "Malformed request"
    assert "HTTP" in error["detail"]
