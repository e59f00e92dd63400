"""Initial schema: tenants, API keys, accounts, calendars, events.

Revision ID: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("revoked_at", sa.BigInteger, nullable=True),
    )
    op.create_index("ix_api_keys_tenant_id", "api_keys", ["tenant_id"])
    op.create_table(
        "accounts",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("type", sa.String(20), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("params", sa.Text, nullable=False),
        sa.Column("secrets", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_accounts_tenant_id", "accounts", ["tenant_id"])
    op.create_table(
        "calendars",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("account_id", sa.String(40), sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("color", sa.String(7), nullable=False),
        sa.Column("is_default", sa.Boolean, nullable=False),
        sa.Column("feed_token", sa.String(64), nullable=True, unique=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_calendars_account_id", "calendars", ["account_id"])
    op.create_table(
        "events",
        sa.Column("id", sa.String(80), primary_key=True),
        sa.Column("calendar_id", sa.String(40), sa.ForeignKey("calendars.id"), nullable=False),
        sa.Column("ical_uid", sa.String(255), nullable=False),
        sa.Column("master_event_id", sa.String(40), nullable=False),
        sa.Column("recurrence_id", sa.String(20), nullable=False),
        sa.Column("start_utc", sa.BigInteger, nullable=False),
        sa.Column("end_utc", sa.BigInteger, nullable=False),
        sa.Column("is_recurring", sa.Boolean, nullable=False),
        sa.Column("is_cancelled", sa.Boolean, nullable=False),
        sa.Column("busy", sa.Boolean, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("location", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("attendee_emails", sa.Text, nullable=False),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("sequence", sa.Integer, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("calendar_id", "ical_uid", "recurrence_id", name="uq_events_uid"),
    )
    op.create_index("ix_events_window", "events", ["calendar_id", "start_utc", "id"])
    op.create_index("ix_events_series", "events", ["calendar_id", "is_recurring", "end_utc"])
    op.create_index("ix_events_master", "events", ["master_event_id"])
    op.create_index("ix_events_updated", "events", ["calendar_id", "updated_at"])


def downgrade() -> None:
    for table in ("events", "calendars", "accounts", "api_keys", "tenants"):
        op.drop_table(table)
