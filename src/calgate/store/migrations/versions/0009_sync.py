"""Provider sync: per-account and per-calendar sync state (cursor, schedule, lease) and the
mirror of what sync found in each calendar.

Revision ID: 0009_sync
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_sync"
down_revision = "0001"
branch_labels = None
depends_on = None


def _schedule() -> list[sa.Column[object]]:
    return [
        sa.Column("due_at", sa.BigInteger, nullable=False),
        sa.Column("lease_owner", sa.String(40), nullable=True),
        sa.Column("lease_until", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text, nullable=False, server_default=""),
        sa.Column("failures", sa.Integer, nullable=False, server_default="0"),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "sync_accounts",
        sa.Column("account_id", sa.String(40), primary_key=True),
        sa.Column("tenant_id", sa.String(40), nullable=False),
        *_schedule(),
    )
    op.create_index("ix_sync_accounts_due", "sync_accounts", ["due_at"])
    op.create_table(
        "sync_calendars",
        sa.Column("account_id", sa.String(40), primary_key=True),
        sa.Column("calendar_id", sa.String(255), primary_key=True),
        sa.Column("tenant_id", sa.String(40), nullable=False),
        sa.Column("href", sa.Text, nullable=False, server_default=""),
        sa.Column("mode", sa.String(20), nullable=False, server_default=""),
        sa.Column("cursor", sa.Text, nullable=True),
        sa.Column("last_success_at", sa.BigInteger, nullable=True),
        sa.Column("changes_seen", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("full_resyncs", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        *_schedule(),
    )
    op.create_index("ix_sync_calendars_due", "sync_calendars", ["due_at"])
    op.create_table(
        "sync_items",
        sa.Column("account_id", sa.String(40), primary_key=True),
        sa.Column("calendar_id", sa.String(255), primary_key=True),
        sa.Column("item_id", sa.String(1024), primary_key=True),
        sa.Column("href", sa.Text, nullable=False, server_default=""),
        sa.Column("etag", sa.Text, nullable=False, server_default=""),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("own_version", sa.BigInteger, nullable=True),
        sa.Column("events", sa.Text, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("sync_items")
    op.drop_index("ix_sync_calendars_due", "sync_calendars")
    op.drop_table("sync_calendars")
    op.drop_index("ix_sync_accounts_due", "sync_accounts")
    op.drop_table("sync_accounts")
