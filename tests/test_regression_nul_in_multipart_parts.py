"""Regression: a NUL character sent inside a base64 or quoted-printable multipart part passed
the NUL guard (it sees only the raw body) and reached PostgreSQL as a 500. The decoded file is
now checked too: a 400, and nothing is written."""

from __future__ import annotations

import base64

import pytest

from tests.conftest import Api
from tests.test_api_ics import count_rows, ics_url, vcalendar, vevent

pytestmark = pytest.mark.anyio

BOUNDARY = "calgate-boundary"
FILE = vcalendar(vevent("nul-1", "SUMMARY:a\x00b"))


def multipart(encoding: str, payload: bytes) -> bytes:
    head = (
        f"--{BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="file"; filename="cal.ics"\r\n'
        "Content-Type: text/calendar\r\n"
        f"Content-Transfer-Encoding: {encoding}\r\n\r\n"
    ).encode()
    return head + payload + f"\r\n--{BOUNDARY}--\r\n".encode()


QUOTED = FILE.replace(b"\x00", b"=00").replace(b"\r\n", b"=0D=0A")


@pytest.mark.parametrize(
    "body",
    [multipart("base64", base64.encodebytes(FILE)), multipart("quoted-printable", QUOTED)],
    ids=["base64", "quoted-printable"],
)
async def test_a_nul_inside_an_encoded_part_is_400(api: Api, body: bytes) -> None:
    assert b"\x00" not in body
    r = await api.call(
        "POST", ics_url(api), content=body,
        headers={"content-type": f"multipart/form-data; boundary={BOUNDARY}"},
    )  # fmt: skip
    assert r.status_code == 400, r.text
    assert r.json()["type"] == "errors/invalid_parameters"
    assert "NUL" in r.json()["detail"]
    assert await count_rows(api) == 0
