"""The database schema (SQLAlchemy Core). Times are integer microseconds since the epoch (UTC).

Changing anything here needs a migration in ``store/migrations/versions``.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

# End bound of a series without an end: larger than any real instant, so that window queries
# stay plain range comparisons on one index.
OPEN_END = 2**62

tenants = Table(
    "tenants",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("created_at", BigInteger, nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("tenant_id", String(40), ForeignKey("tenants.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("revoked_at", BigInteger, nullable=True),
)

# Operator keys (migration 0016_console): they sign in to the console, not to the API.
admin_keys = Table(
    "admin_keys",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("revoked_at", BigInteger, nullable=True),
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("tenant_id", String(40), ForeignKey("tenants.id"), nullable=False, index=True),
    Column("type", String(20), nullable=False),
    Column("name", String(200), nullable=False),
    Column("email", String(320), nullable=False, default=""),
    Column("status", String(20), nullable=False, default="OK"),
    Column("params", Text, nullable=False, default="{}"),
    Column("secrets", Text, nullable=False, default=""),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

calendars = Table(
    "calendars",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("account_id", String(40), ForeignKey("accounts.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("timezone", String(64), nullable=False, default="UTC"),
    Column("color", String(7), nullable=False, default="#1A73E8"),
    Column("is_default", Boolean, nullable=False, default=False),
    Column("feed_token", String(64), nullable=True, unique=True),
    Column("version", Integer, nullable=False, default=1),
    Column("created_at", BigInteger, nullable=False),
    # The longest single event (end - start, microseconds) ever stored in the calendar: window
    # queries look for single events starting after `window start - max_span_us`, one short
    # index range however large the calendar.
    Column("max_span_us", BigInteger, nullable=False, default=0, server_default="0"),
)

events = Table(
    "events",
    metadata,
    Column("id", String(80), primary_key=True),
    Column("calendar_id", String(40), ForeignKey("calendars.id"), nullable=False),
    Column("ical_uid", String(255), nullable=False),
    Column("master_event_id", String(40), nullable=False, default=""),
    Column("recurrence_id", String(20), nullable=False, default=""),
    # First start and last end of the event or series (OPEN_END when the series never ends).
    Column("start_utc", BigInteger, nullable=False),
    Column("end_utc", BigInteger, nullable=False),
    Column("is_recurring", Boolean, nullable=False, default=False),
    Column("is_cancelled", Boolean, nullable=False, default=False),
    Column("busy", Boolean, nullable=False, default=True),
    Column("title", Text, nullable=False, default=""),
    Column("location", Text, nullable=False, default=""),
    Column("body", Text, nullable=False, default=""),
    Column("attendee_emails", Text, nullable=False, default=""),
    # title, location and body folded (calgate.domain.filters.fold) for the list filters.
    Column("title_folded", Text, nullable=False, default=""),
    Column("location_folded", Text, nullable=False, default=""),
    Column("body_folded", Text, nullable=False, default=""),
    Column("data", Text, nullable=False),
    Column("version", Integer, nullable=False, default=1),
    Column("sequence", Integer, nullable=False, default=0),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    UniqueConstraint("calendar_id", "ical_uid", "recurrence_id", name="uq_events_uid"),
    Index("ix_events_window", "calendar_id", "start_utc", "id"),
    Index("ix_events_series", "calendar_id", "is_recurring", "end_utc"),
    Index("ix_events_master", "master_event_id"),
    Index("ix_events_updated", "calendar_id", "updated_at"),
)

# Idempotency-Key answers (calgate.api.middleware.idempotency). A row is "pending" while its
# first request runs (status NULL, owner set) and holds the stored answer afterwards.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("tenant_id", String(40), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("request", String(600), nullable=False),
    Column("owner", String(32), nullable=False),
    Column("status", Integer, nullable=True),
    Column("headers", Text, nullable=False, default="[]"),
    Column("body", LargeBinary, nullable=False, default=b""),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    # What an attempt noted before calling a provider that chooses the id of what it makes
    # (migration 0020_idempotency_noted): how a retry after a crash recognises it.
    Column("noted", Text, nullable=True),
    Index("ix_idempotency_expires", "expires_at"),
)

# Outbox (migration 0002_outbox): deliveries written in the transaction of the change that
# causes them (invitation mail, webhook calls), delivered by the outbox worker.
outbox_payloads = Table(
    "outbox_payloads",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("data", Text, nullable=False),  # JSON shared by the deliveries of one change
    Column("created_at", BigInteger, nullable=False),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", String(40), primary_key=True),  # also the delivery id / Message-ID
    Column("tenant_id", String(40), nullable=False),
    Column("account_id", String(40), nullable=False),
    Column("channel", String(16), nullable=False),  # "mail" | "webhook"
    Column("target", String(320), nullable=False),  # webhook id, or the mail recipient
    Column("topic", String(40), nullable=False),  # webhook event, or the iTIP method
    Column("change_id", String(40), nullable=False),
    Column("event_id", String(80), nullable=False),
    Column("payload_id", String(40), ForeignKey("outbox_payloads.id"), nullable=False),
    Column("data", Text, nullable=False),  # JSON of this delivery only
    Column("status", String(12), nullable=False),  # pending | delivered | failed
    Column("attempts", Integer, nullable=False, default=0),
    # When the delivery is due; while claimed, when the claim expires.
    Column("next_attempt_at", BigInteger, nullable=False),
    Column("claim", String(40), nullable=True),
    Column("last_code", Integer, nullable=True),
    Column("last_error", Text, nullable=False, default=""),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Column("delivered_at", BigInteger, nullable=True),
    Index("ix_outbox_due", "status", "next_attempt_at"),
    Index("ix_outbox_target", "target", "created_at"),
    # Fair claims (migration 0012_delivery): each target's oldest pending delivery.
    Index("ix_outbox_pending_target", "status", "target", "next_attempt_at"),
    Index("ix_outbox_change", "change_id"),
    Index("ix_outbox_payload", "payload_id"),
)

# What the latest invitation-relevant change of an event did about notifications.
notices = Table(
    "notices",
    metadata,
    Column("account_id", String(40), primary_key=True),
    Column("event_id", String(80), primary_key=True),
    Column("change_id", String(40), nullable=False),
    Column("state", String(20), nullable=False),  # none|queued|sent|failed|forced_by_provider
    Column("updated_at", BigInteger, nullable=False),
)

webhooks = Table(
    "webhooks",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("tenant_id", String(40), ForeignKey("tenants.id"), nullable=False, index=True),
    Column("name", String(256), nullable=False, default=""),
    Column("source", String(40), nullable=False),
    Column("request_url", Text, nullable=False),
    Column("events", Text, nullable=False),  # JSON list
    Column("account_ids", Text, nullable=False),  # JSON list; empty: every account
    Column("headers", Text, nullable=False),  # JSON list of {"key", "value"}
    Column("secret", Text, nullable=False),  # sealed with the secret key
    Column("enabled", Boolean, nullable=False, default=True),
    Column("created_at", BigInteger, nullable=False),
    # v1 or v2: the Unipile API the webhook was registered through (its payloads' shape).
    Column("api_version", String(4), nullable=False, server_default="v1"),
)


# Provider sync (migration 0009_sync): what is due when and who holds it (a lease), per
# account (finding its calendars) and per calendar (its change feed), and the mirror.
def _schedule() -> list[Column[object]]:
    return [
        Column("due_at", BigInteger, nullable=False),
        Column("lease_owner", String(40), nullable=True),
        Column("lease_until", BigInteger, nullable=False, default=0, server_default="0"),
        Column("last_error", Text, nullable=False, default="", server_default=""),
        Column("failures", Integer, nullable=False, default=0, server_default="0"),
        Column("updated_at", BigInteger, nullable=False),
    ]


sync_accounts = Table(
    "sync_accounts",
    metadata,
    Column("account_id", String(40), primary_key=True),
    Column("tenant_id", String(40), nullable=False),
    *_schedule(),
    Index("ix_sync_accounts_due", "due_at"),
)

sync_calendars = Table(
    "sync_calendars",
    metadata,
    Column("account_id", String(40), primary_key=True),
    Column("calendar_id", String(255), primary_key=True),
    Column("tenant_id", String(40), nullable=False),
    Column("href", Text, nullable=False, default=""),  # the calendar's address at the provider
    Column("mode", String(20), nullable=False, default=""),  # how the feed reads changes
    Column("cursor", Text, nullable=True),  # sync token / delta link; NULL: no baseline yet
    Column("last_success_at", BigInteger, nullable=True),
    Column("changes_seen", BigInteger, nullable=False, default=0),
    Column("full_resyncs", Integer, nullable=False, default=0),
    Column("created_at", BigInteger, nullable=False),
    *_schedule(),
    Index("ix_sync_calendars_due", "due_at"),
)

# One provider object (a CalDAV resource, a Google or Graph event) as sync last saw it:
# its events as calgate's model (codec JSON), its ETag/version, and the version calgate's
# own last write produced (so that sync does not report that write again).
sync_items = Table(
    "sync_items",
    metadata,
    Column("account_id", String(40), primary_key=True),
    Column("calendar_id", String(255), primary_key=True),
    Column("item_id", String(1024), primary_key=True),
    Column("href", Text, nullable=False, default=""),
    Column("etag", Text, nullable=False, default=""),
    Column("version", BigInteger, nullable=False),
    Column("own_version", BigInteger, nullable=True),
    Column("events", Text, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)
