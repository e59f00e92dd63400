"""The one settings object: ``CALGATE_*`` environment variables, an optional TOML file, CLI flags.

Precedence, highest first: CLI flags (passed as init arguments), environment, the config file
named by ``CALGATE_CONFIG`` (or ``--config``), defaults. Read once at start and passed in.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


def default_data_dir() -> Path:
    """The per-user data directory, used when neither ``CALGATE_DATA_DIR``, ``--data-dir`` nor
    the config file names one: ``$XDG_DATA_HOME/calgate``, else ``~/.local/share/calgate``."""
    xdg = os.environ.get("XDG_DATA_HOME", "")
    base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".local" / "share"
    return base / "calgate"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CALGATE_", extra="forbid")

    host: str = Field("127.0.0.1", description="Address `calgate serve` listens on.")
    port: int = Field(13111, description="Port `calgate serve` listens on (Unipile's default).")
    data_dir: Path = Field(
        default_factory=default_data_dir,
        description="Directory for the SQLite database and key files, the same for `calgate "
        "serve` and every other command; unset: `$XDG_DATA_HOME/calgate`, else "
        "`~/.local/share/calgate` (`calgate info` prints the one in use).",
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL; default `sqlite+aiosqlite:///<data_dir>/calgate.db`. "
        "PostgreSQL: `postgresql+asyncpg://user@host:5432/db`.",
    )
    api_key: SecretStr | None = Field(
        None, description="API key to create on the first start instead of a random one."
    )
    public_url: str | None = Field(
        None,
        description="Base URL clients use to reach calgate (for printed examples and feed URLs).",
    )
    max_body_bytes: int = Field(1_000_000, description="Largest request body accepted (400 above).")
    body_timeout_seconds: float = Field(
        60.0,
        gt=0,
        description="Time a request's headers (from its first byte), then its body (from "
        "the end of the headers), may each take to arrive (408 past it).",
    )
    log_level: str = Field("info", description="Log level: debug, info, warning, error.")
    sqlite_synchronous: str = Field(
        "FULL",
        description="SQLite `synchronous` pragma: FULL survives power loss, "
        "NORMAL survives process crashes.",
    )
    secret_key: SecretStr | None = Field(
        None,
        description="Fernet key encrypting provider credentials at rest; default: "
        "`<data_dir>/secret.key`, created on first start.",
    )
    cache_seconds: float = Field(
        2.0,
        description="How long API keys and accounts are cached in a process; a key revoked or "
        "an account changed elsewhere is seen within this time (0 disables).",
    )
    db_pool_size: int = Field(10, description="Database connections per process (PostgreSQL).")
    recurrence_work_limit: int = Field(
        200_000,
        ge=1000,
        description="Steps of recurrence work (candidate times, days and rule periods scanned) "
        "one request may spend expanding or checking series; past it the request gets a 400 "
        "naming this limit. About a second of one core at the default.",
    )
    recurrence_threads: int = Field(
        2,
        ge=1,
        description="Threads that expand and check recurring series, off the event loop and "
        "apart from the database threads (requests beyond them wait their turn).",
    )
    recurrence_processes: int = Field(
        2,
        ge=0,
        le=64,
        description="Worker processes, at the lowest CPU priority, that expand the series of "
        "expanded lists of LOCAL calendars and read big provider answers (CalDAV answers "
        "and Google sync pages of 64 KB or more, Graph delta rounds of 100 rows or more) in "
        "place of those threads: that work then shares no interpreter lock with the event "
        "loop (0: in the threads).",
    )
    recurrence_priority: Literal["idle", "nice"] = Field(
        "idle",
        description="The worker processes' CPU priority: `idle`, Linux's SCHED_IDLE (they run "
        "on CPU time nothing at the normal priority wants, and give a core up at once when "
        "something does; nice 19 where the system refuses it or has no such policy), or "
        "`nice`: nice 19 at the normal policy (a request's work that wakes up may wait for "
        "the rest of a worker's time slice; a worker gets about 1.5 % of a core kept busy at "
        "the normal priority, against about 0.3 % with `idle`).",
    )
    shutdown_timeout_seconds: int = Field(
        10,
        ge=1,
        description="On SIGTERM, how long `calgate serve` lets requests in flight finish "
        "before it closes their connections and stops.",
    )

    # Invitations (iMIP mail), meeting links, webhooks and the outbox worker delivering them.
    smtp_host: str | None = Field(
        None, description="SMTP server for invitations; unset: calgate sends no mail."
    )
    smtp_port: int = Field(587, description="SMTP port (587 submission, 465 TLS, 25 relay).")
    smtp_tls: Literal["none", "starttls", "tls"] = Field(
        "starttls", description="`starttls` (upgrade, required), `tls` (implicit TLS), `none`."
    )
    smtp_username: str | None = Field(None, description="SMTP login (unset: no AUTH).")
    smtp_password: SecretStr | None = Field(None, description="SMTP password.")
    smtp_timeout_seconds: float = Field(30.0, gt=0, description="SMTP connect/command timeout.")
    mail_from: str | None = Field(
        None,
        description="From address of invitation mail (`Calendar <cal@example.org>`); also the "
        "ORGANIZER of events whose account has no e-mail address.",
    )
    mail_max_retries: int = Field(
        8, ge=0, description="Retries of a mail the SMTP server refused temporarily."
    )
    meeting_url_template: str | None = Field(
        None,
        description="Meeting link made for `conference` without `url` on LOCAL/CalDAV accounts; "
        "`{room}` is replaced by an unguessable room name, e.g. `https://meet.jit.si/{room}`.",
    )
    inbound_smtp_port: int | None = Field(
        None,
        ge=1,
        le=65535,
        description="Port of calgate's inbound mail listener for attendees' REPLY mail "
        "(`calgate serve`, `calgate inbound`); unset: no listener.",
    )
    inbound_smtp_host: str = Field(
        "127.0.0.1", description="Address the inbound mail listener binds to."
    )
    inbound_lmtp: bool = Field(
        False, description="The inbound listener speaks LMTP (RFC 2033) instead of SMTP."
    )
    worker_enabled: bool = Field(
        True, description="Run the outbox worker (mail, webhooks) inside `calgate serve`."
    )
    worker_concurrency: int = Field(8, ge=1, description="Deliveries in flight per worker.")
    worker_tenant_concurrency: int = Field(
        0,
        ge=0,
        description="Deliveries of one tenant in flight per worker (0: half of "
        "`worker_concurrency`, at least 1); each webhook or recipient has one at a time.",
    )
    worker_poll_seconds: float = Field(
        1.0, gt=0, description="How often an idle worker looks for due deliveries."
    )
    worker_lease_seconds: float = Field(
        300.0,
        gt=0,
        description="How long a claimed delivery stays reserved; a crashed worker's claims are "
        "retried after it (kept above the webhook and SMTP timeouts).",
    )
    retry_base_seconds: float = Field(
        10.0, gt=0, description="Delay before the first retry; each next one is 3 times longer."
    )
    retry_max_seconds: float = Field(3600.0, gt=0, description="Longest delay between retries.")
    webhook_timeout_seconds: float = Field(
        30.0, gt=0, description="A webhook delivery without a 2xx answer within this time fails."
    )
    webhook_max_retries: int = Field(5, ge=0, description="Retries of a failed webhook delivery.")
    outbox_retention_days: float = Field(
        30.0, gt=0, description="How long delivered and failed deliveries stay visible."
    )
    # Provider sync (docs/sync.md).
    sync_enabled: bool = Field(
        True,
        description="Run provider sync (CALDAV/ICLOUD changes made outside calgate reach "
        "webhooks) inside `calgate serve` and `calgate worker`.",
    )
    sync_interval_seconds: float = Field(
        60.0, gt=0, description="How often each synced calendar is polled for changes."
    )
    sync_concurrency: int = Field(8, ge=1, description="Calendar syncs in flight per process.")
    sync_per_account: int = Field(
        2, ge=1, description="Calendars of one account synced at once, across all processes."
    )
    sync_mirror_max_age_seconds: float = Field(
        0.0,
        ge=0,
        description="GET and list of a synced calendar answer from the sync mirror while its "
        "last successful sync is younger than this (the staleness bound of such reads); "
        "0: always ask the provider.",
    )
    sync_lease_seconds: float = Field(
        300.0,
        gt=0,
        description="How long a claimed sync job stays reserved; a crashed process's jobs are "
        "run again after it (a run that outlives it commits nothing).",
    )
    # Push notifications (docs/push.md): Google watch channels, Graph subscriptions.
    push_enabled: bool = Field(
        True,
        description="Ask Google and Outlook to push changes to `{public_url}/api/v1/push/…` "
        "(needs CALGATE_PUBLIC_URL, HTTPS); without it those calendars are only polled.",
    )
    push_allow_http: bool = Field(
        False, description="Accept an http:// public URL for push (development and tests only)."
    )
    push_ttl_seconds: float = Field(
        604_800.0,
        gt=0,
        description="Lifetime asked for a channel (Google's default, a week; Graph's event "
        "subscriptions are capped at 4,230 minutes).",
    )
    push_renew_before_seconds: float = Field(
        3600.0, gt=0, description="How long before its expiry a channel is renewed."
    )
    push_check_seconds: float = Field(
        30.0, gt=0, description="How often each process looks for channels to create or renew."
    )
    # Free/busy and availability (docs/availability.md).
    free_busy_max_window_days: int = Field(
        62,
        ge=1,
        le=366,
        description="Longest window of a free/busy or availability request, in days (400 above).",
    )
    free_busy_max_calendars: int = Field(
        50, ge=1, description="Calendars one free/busy or availability request may read."
    )
    availability_max_participants: int = Field(
        20, ge=1, description="Participants of one availability request."
    )
    availability_max_slots: int = Field(
        10_000,
        ge=1,
        description="Slot starts one availability request may examine (window, duration and "
        "interval decide how many; 400 above).",
    )
    # Reliability and security (docs/production.md).
    allow_loopback_urls: bool = Field(
        False,
        description="Accept webhook/callback URLs on loopback and link-local addresses "
        "(development and tests only).",
    )
    rate_limit_per_second: float = Field(
        0.0,
        description="Requests per second each API key may make, per instance (token bucket; "
        "0 disables).",
    )
    rate_limit_burst: int = Field(
        0, description="Bucket size: requests an API key may make at once (0: 2 s worth)."
    )
    fair_share_requests: int = Field(
        2,
        ge=0,
        description="Requests each API key may have running at once while other keys have "
        "requests too (more wait their turn; a key alone is not held; 0 disables).",
    )
    idempotency_ttl_seconds: float = Field(
        86_400, description="How long an Idempotency-Key and its answer are kept."
    )
    idempotency_wait_seconds: float = Field(
        10.0,
        description="How long a request waits for a concurrent one with the same "
        "Idempotency-Key before answering 409.",
    )
    idempotency_lease_seconds: float = Field(
        15.0,
        description="A request with an Idempotency-Key renews its lease every third of this "
        "while it runs; a key in progress whose lease lapsed is taken to be abandoned (its "
        "process died) and a retry may do the work.",
    )
    log_format: str = Field("text", description="Log lines: `text` or `json` (one object a line).")
    access_log: bool = Field(True, description="Log one line per request (at info level).")
    metrics_enabled: bool = Field(True, description="Serve Prometheus metrics at `/metrics`.")
    fast_routes: bool = Field(
        True,
        description="Answer the hot event routes (get, list and create events) before FastAPI's "
        "routing, with the same answers; false: FastAPI answers them (for comparison).",
    )
    # Remote providers (docs/caldav.md).
    provider_timeout_seconds: float = Field(
        30.0,
        gt=0,
        description="Deadline of one calgate operation on a remote provider, retries and "
        "waits included (504 request_timeout past it).",
    )
    provider_max_answer_bytes: int = Field(
        16 * 2**20,
        gt=0,
        description="Largest answer read from a provider (a CalDAV calendar query over a wide "
        "window is the big one); past it the call fails with 500 provider_error.",
    )
    icloud_url: str = Field(
        "https://caldav.icloud.com/", description="CalDAV server of ICLOUD accounts."
    )
    # Google Calendar and Outlook (docs/google-outlook.md).
    provider_retries: int = Field(
        3,
        ge=0,
        description="Retries of a provider call (429, rate limits; 5xx and network "
        "failures on calls safe to repeat), within `provider_timeout_seconds`.",
    )
    google_client_id: str | None = Field(None, description="OAuth client id of calgate at Google.")
    google_client_secret: SecretStr | None = Field(None, description="Its client secret.")
    google_api_url: str = Field(
        "https://www.googleapis.com", description="Google Calendar API base URL."
    )
    google_auth_url: str = Field(
        "https://accounts.google.com/o/oauth2/v2/auth",
        description="Google's OAuth authorization endpoint (hosted flow).",
    )
    google_token_url: str = Field(
        "https://oauth2.googleapis.com/token", description="Google's OAuth token endpoint."
    )
    google_scopes: str = Field(
        "https://www.googleapis.com/auth/calendar",
        description="Scopes asked in the hosted flow (space-separated).",
    )
    microsoft_client_id: str | None = Field(
        None, description="Application (client) id of calgate in Microsoft Entra ID."
    )
    microsoft_client_secret: SecretStr | None = Field(None, description="Its client secret.")
    microsoft_tenant: str = Field(
        "common",
        description="Directory of the Microsoft sign-in: `common`, `organizations`, "
        "`consumers` or a tenant id.",
    )
    microsoft_login_url: str = Field(
        "https://login.microsoftonline.com",
        description="Microsoft identity platform base URL (authorize and token endpoints).",
    )
    graph_api_url: str = Field(
        "https://graph.microsoft.com", description="Microsoft Graph base URL."
    )
    microsoft_scopes: str = Field(
        "offline_access Calendars.ReadWrite User.Read",
        description="Scopes asked in the hosted flow and on refresh (space-separated).",
    )
    hosted_link_seconds: int = Field(
        3600, gt=0, description="Default lifetime of a hosted-auth link (at most 24 h)."
    )

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'calgate.db').as_posix()}"

    @property
    def base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "localhost" if self.host in ("127.0.0.1", "0.0.0.0", "::") else self.host
        return f"http://{host}:{self.port}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config = os.environ.get("CALGATE_CONFIG")
        if config:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config)))
        return tuple(sources)


def load_settings(config_file: str | None = None, **overrides: Any) -> Settings:
    """Build the settings; ``overrides`` are CLI flags (None values are ignored)."""
    if config_file:
        os.environ["CALGATE_CONFIG"] = config_file
    given = {k: v for k, v in overrides.items() if v is not None}
    return Settings(**given)
