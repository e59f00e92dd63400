"""What `calgate serve` answers to a client that sends its body too slowly (issue 13, item 5)
and to a request line too long to parse (item 12): both in the contract's JSON error shape,
through the real server and a raw socket."""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Iterator

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
        answered = False
        sock.settimeout(0.01)
        for byte in body:  # one byte every 0.3 s: about 20 s for the whole body
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                break  # closed by the server after its answer
            try:
                if sock.recv(1, socket.MSG_PEEK):
                    answered = True
                    break
            except TimeoutError:
                pass
            if time.monotonic() - started > 8:
                break
            time.sleep(0.3)
        assert answered, "no answer while the body trickled in"
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


def test_a_prompt_body_is_not_affected(served: Served) -> None:
    import httpx

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
