"""URL validation for webhook and OAuth callback URLs, and redaction of secrets."""

from __future__ import annotations

import pytest

from calgate.errors import InvalidParameters
from calgate.security import is_blocked_address, mask, redact, validate_public_url

GOOD = [
    "https://example.org/hook",
    "http://example.org:8080/a/b?x=1&y=%20",
    "https://hooks.example.co.uk./path",
    "https://10.0.0.5/internal",
    "https://[2001:db8::1]:8443/x",
    "https://xn--nicode-2ya.example/",
]

BAD = [
    ("", "expected an http(s) URL"),
    ("ftp://example.org/x", "the scheme must be http or https"),
    ("javascript:alert(1)", "the scheme must be http or https"),
    ("https://", "the URL has no host"),
    ("https:///path", "the URL has no host"),
    ("https://user:pass@example.org/", "user information"),
    ("https://user@example.org/", "user information"),
    ("https://example.org/\r\nX-Injected: 1", "control characters"),
    ("https://example.org/\nx", "control characters"),
    ("https://exa mple.org/", "control characters"),
    ("https://example.org/#frag", "a fragment"),
    ("https://example.org:0/", "port 0"),
    ("https://example.org:70000/", "not a valid URL"),
    ("https://exa_mple..org/", "not a valid host name"),
    ("https://" + "a" * 2050 + ".org/", "longer than 2048"),
    ("http://localhost:8000/", "loopback"),
    ("http://api.localhost/", "loopback"),
    ("http://127.0.0.1/", "loopback"),
    ("http://127.1/", "loopback"),
    ("http://2130706433/", "loopback"),
    ("http://0x7f.0.0.1/", "loopback"),
    ("http://[::1]/", "loopback"),
    ("http://[::ffff:127.0.0.1]/", "loopback"),
    ("http://0.0.0.0/", "loopback"),
    ("http://169.254.169.254/latest/meta-data", "link-local"),
    ("http://[fe80::1]/", "link-local"),
]


@pytest.mark.parametrize("url", GOOD)
def test_public_urls_pass(url: str) -> None:
    assert validate_public_url(url, allow_loopback=False) == url


@pytest.mark.parametrize(("url", "reason"), BAD)
def test_bad_urls_are_a_400_naming_field_and_reason(url: str, reason: str) -> None:
    with pytest.raises(InvalidParameters) as caught:
        validate_public_url(url, allow_loopback=False, field="request_url")
    assert caught.value.status == 400
    assert caught.value.error.type == "errors/invalid_parameters"
    assert caught.value.detail.startswith("request_url: ")
    assert reason in caught.value.detail


def test_not_a_string() -> None:
    with pytest.raises(InvalidParameters, match="redirect_uri: expected an http"):
        validate_public_url(42, allow_loopback=True, field="redirect_uri")


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:9000/hook", "http://localhost/cb", "http://[::1]:80/"]
)
def test_loopback_allowed_when_the_deployment_says_so(url: str) -> None:
    assert validate_public_url(url, allow_loopback=True) == url


@pytest.mark.parametrize(
    "url", ["https://u:p@example.org/", "http://127.0.0.1/\r\nHost: x", "file:///etc/passwd"]
)
def test_allow_loopback_keeps_every_other_rule(url: str) -> None:
    with pytest.raises(InvalidParameters):
        validate_public_url(url, allow_loopback=True)


@pytest.mark.parametrize(
    ("address", "blocked"),
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("169.254.169.254", True),
        ("0.0.0.0", True),
        ("224.0.0.1", True),
        ("::ffff:169.254.1.1", True),
        ("10.1.2.3", False),
        ("93.184.216.34", False),
        ("2001:db8::1", False),
    ],
)
def test_blocked_addresses(address: str, blocked: bool) -> None:
    assert is_blocked_address(address) is blocked


def test_redact_known_shapes() -> None:
    text = (
        "key cg_AbCdEfGhIjKlMnOp used; Authorization: Bearer ya29.a0AfH6SM; "
        'password=hunter22 {"refresh_token": "1//0gLx", "title": "Lunch"} '
        "client_secret='shh-123'"
    )
    out = redact(text)
    for secret in ("cg_AbCdEfGhIjKlMnOp", "ya29.a0AfH6SM", "hunter22", "1//0gLx", "shh-123"):
        assert secret not in out
    assert '"title": "Lunch"' in out
    assert "password=***" in out
    assert '"refresh_token": "***"' in out


def test_redact_given_secrets_anywhere() -> None:
    assert redact("opaque s3cr3t-value inside", ["s3cr3t-value"]) == "opaque *** inside"
    assert redact("short ab stays", ["ab"]) == "short ab stays"


def test_mask() -> None:
    assert mask("cg_0123456789abcdef") == "cg_012…"
    assert mask("short") == "***"
