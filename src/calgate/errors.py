"""The one error catalogue: every error type calgate can answer, with its status and title.

Each entry of ``CATALOGUE`` is an :class:`ErrorType`. Code raises :class:`CalgateError` (or one of
the named subclasses below) and one handler in :mod:`calgate.api.errors` renders it as
``{"status", "type", "title", "detail", "instance"}``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ErrorType:
    status: int
    type: str
    title: str


def _t(status: int, name: str, title: str) -> ErrorType:
    return ErrorType(status, f"errors/{name}", title)


CATALOGUE: tuple[ErrorType, ...] = (
    # 400: calgate's additions
    _t(400, "invalid_parameters", "Invalid parameters"),
    _t(400, "malformed_request", "Malformed request"),
    _t(400, "content_too_large", "Content too large"),
    _t(400, "idempotency_conflict", "Idempotency key reused with another request"),
    # 401: the seed's list
    _t(401, "missing_credentials", "Missing credentials"),
    _t(401, "multiple_sessions", "Multiple sessions"),
    _t(401, "wrong_account", "Wrong account"),
    _t(401, "invalid_credentials", "Invalid credentials"),
    _t(401, "invalid_proxy_credentials", "Invalid proxy credentials"),
    _t(401, "invalid_imap_configuration", "Invalid IMAP configuration"),
    _t(401, "invalid_smtp_configuration", "Invalid SMTP configuration"),
    _t(401, "invalid_checkpoint_solution", "Invalid checkpoint solution"),
    _t(401, "checkpoint_error", "Checkpoint error"),
    _t(401, "expired_credentials", "Expired credentials"),
    _t(401, "expired_link", "Expired link"),
    _t(401, "insufficient_privileges", "Insufficient privileges"),
    _t(401, "disconnected_account", "Disconnected account"),
    _t(401, "disconnected_feature", "Disconnected feature"),
    # 403
    _t(403, "insufficient_permissions", "Insufficient permissions"),
    _t(403, "account_restricted", "Account restricted"),
    _t(403, "account_mismatch", "Account mismatch"),
    _t(403, "unknown_authentication_context", "Unknown authentication context"),
    _t(403, "session_mismatch", "Session mismatch"),
    _t(403, "feature_not_subscribed", "Feature not subscribed"),
    _t(403, "subscription_required", "Subscription required"),
    _t(403, "resource_access_restricted", "Resource access restricted"),
    _t(403, "action_required", "Action required"),
    # 404
    _t(404, "resource_not_found", "Resource not found"),
    _t(404, "invalid_resource_identifier", "Invalid resource identifier"),
    # 405 / 409 / 415 / 429: calgate's additions
    _t(405, "method_not_allowed", "Method not allowed"),
    _t(409, "conflict", "Conflict"),
    _t(415, "unsupported_media_type", "Unsupported media type"),
    _t(429, "too_many_requests", "Too many requests"),
    # 500
    _t(500, "unexpected_error", "Unexpected error"),
    _t(500, "provider_error", "Provider error"),
    _t(500, "authentication_intent_error", "Authentication intent error"),
    # 501
    _t(501, "feature_not_implemented", "Feature not implemented"),
    # 503
    _t(503, "no_client_session", "No client session"),
    _t(503, "no_channel", "No channel"),
    _t(503, "no_handler", "Handler missing"),
    _t(503, "network_down", "Network down"),
    _t(503, "service_unavailable", "Service unavailable"),
    # 504
    _t(504, "request_timeout", "Request timeout"),
    # 408: a request body that did not arrive in time (after 504, so that the type alone
    # still names the provider timeout)
    _t(408, "request_timeout", "Request timeout"),
)

# Types of the catalogue that calgate never answers (Unipile's mail, messaging and session
# features, which calgate does not have): kept for clients that name them, left out of the
# OpenAPI document's error lists.
NEVER_ANSWERED = frozenset(
    f"errors/{name}"
    for name in (
        "multiple_sessions",
        "wrong_account",
        "invalid_proxy_credentials",
        "invalid_imap_configuration",
        "invalid_smtp_configuration",
        "invalid_checkpoint_solution",
        "checkpoint_error",
        "disconnected_feature",
        "account_restricted",
        "unknown_authentication_context",
        "session_mismatch",
        "feature_not_subscribed",
        "subscription_required",
        "resource_access_restricted",
        "action_required",
        "invalid_resource_identifier",
        "authentication_intent_error",
        "no_client_session",
        "no_channel",
        "no_handler",
    )
)
# Types only some routes answer: a route's error list names them itself (account_mismatch:
# a hosted reconnect consented to by another user, or given another username or server).
ROUTE_SPECIFIC = frozenset(
    {"errors/expired_link", "errors/unsupported_media_type", "errors/account_mismatch"}
)

# Unipile API v2 names each type after who threw it ("thrower/info" in its error reference):
# `api/…` for the API's own, `provider/…` for what the provider answered and is forwarded.
PROVIDER_THROWN = frozenset(
    {"errors/provider_error", "errors/network_down", "errors/insufficient_permissions"}
)


def v2_type(error: ErrorType) -> str:
    """The type as API v2 writes it: ``errors/resource_not_found`` → ``api/resource_not_found``,
    ``errors/provider_error`` → ``provider/provider_error`` (a provider's timeout, 504, too)."""
    name = error.type.removeprefix("errors/")
    thrower = "provider" if error.type in PROVIDER_THROWN or error.status == 504 else "api"
    return f"{thrower}/{name}"


_BY_KEY: dict[tuple[int, str], ErrorType] = {(e.status, e.type): e for e in CATALOGUE}
_BY_NAME: dict[str, ErrorType] = {}
for _e in CATALOGUE:
    _BY_NAME.setdefault(_e.type, _e)


def error_type(name: str, status: int | None = None) -> ErrorType:
    """Look up a catalogue entry by ``errors/...`` type (and status where a type has several)."""
    key = name if name.startswith("errors/") else f"errors/{name}"
    if status is not None:
        return _BY_KEY[(status, key)]
    return _BY_NAME[key]


class CalgateError(Exception):
    """An error with a catalogue entry; rendered by the one error handler."""

    default_type: str = "errors/unexpected_error"
    default_status: int | None = None

    def __init__(
        self,
        detail: str = "",
        *,
        type: str | None = None,
        status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.error = error_type(type or self.default_type, status or self.default_status)
        self.detail = detail
        self.headers = headers or {}
        super().__init__(f"{self.error.type}: {detail}")

    @property
    def status(self) -> int:
        return self.error.status

    def __reduce__(self) -> tuple[object, ...]:
        # Pickled (to and from a recurrence worker process) as made, not from its message.
        return _made, (type(self), self.detail, self.error.type, self.error.status, self.headers)


def _made(
    cls: type[CalgateError], detail: str, type: str, status: int, headers: dict[str, str]
) -> CalgateError:
    return cls(detail, type=type, status=status, headers=headers)


class InvalidParameters(CalgateError):
    default_type = "errors/invalid_parameters"


class MalformedRequest(CalgateError):
    default_type = "errors/malformed_request"


class ContentTooLarge(CalgateError):
    default_type = "errors/content_too_large"


class UnsupportedMediaType(CalgateError):
    default_type = "errors/unsupported_media_type"


class NotFound(CalgateError):
    default_type = "errors/resource_not_found"


class Conflict(CalgateError):
    default_type = "errors/conflict"


class FeatureNotImplemented(CalgateError):
    default_type = "errors/feature_not_implemented"


class Unauthorized(CalgateError):
    default_type = "errors/invalid_credentials"


class ProviderError(CalgateError):
    default_type = "errors/provider_error"


class NetworkDown(CalgateError):
    default_type = "errors/network_down"


class RequestTimeout(CalgateError):
    default_type = "errors/request_timeout"


class TooManyRequests(CalgateError):
    default_type = "errors/too_many_requests"


class ServiceUnavailable(CalgateError):
    default_type = "errors/service_unavailable"


# Source status of an account -> the 401 type its calendar calls answer (api-contract.md).
STATUS_ERRORS: dict[str, str] = {
    "STOPPED": "errors/disconnected_account",
    "ERROR": "errors/disconnected_account",
    "CREDENTIALS": "errors/expired_credentials",
    "PERMISSIONS": "errors/insufficient_privileges",
    "CONNECTING": "errors/disconnected_account",
}
