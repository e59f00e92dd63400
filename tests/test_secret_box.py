"""SecretBox keeps what it opened per process: the same secrets each time, a fresh dict for
each caller, a bounded number kept, and a text sealed with another key still refused."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from calgate import secrets
from calgate.errors import CalgateError
from calgate.secrets import SecretBox


def test_opening_again_gives_the_same_secrets_in_a_fresh_dict() -> None:
    box = SecretBox(Fernet.generate_key())
    sealed = box.seal({"refresh_token": "r1", "password": "p"})
    first = box.open(sealed)
    first["refresh_token"] = "changed by a caller"
    assert box.open(sealed) == {"refresh_token": "r1", "password": "p"}


def test_new_secrets_are_a_new_sealed_text() -> None:
    box = SecretBox(Fernet.generate_key())
    old = box.seal({"refresh_token": "r1"})
    assert box.open(old) == {"refresh_token": "r1"}
    assert box.open(box.seal({"refresh_token": "r2"})) == {"refresh_token": "r2"}


def test_another_key_is_still_refused_after_an_open() -> None:
    box, other = SecretBox(Fernet.generate_key()), SecretBox(Fernet.generate_key())
    sealed = box.seal({"password": "p"})
    assert box.open(sealed) == {"password": "p"}
    with pytest.raises(CalgateError):
        other.open(sealed)


def test_the_kept_secrets_are_bounded() -> None:
    box = SecretBox(Fernet.generate_key())
    sealed = [box.seal({"n": str(i)}) for i in range(secrets.OPENED_KEPT + 10)]
    assert [box.open(s)["n"] for s in sealed] == [str(i) for i in range(len(sealed))]
    assert len(box._opened) == secrets.OPENED_KEPT
