"""Push channels: one Google watch channel or Graph subscription per synced calendar.

Revision ID: 0019_push
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019_push"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "push_channels",
        sa.Column("account_id", sa.String(40), primary_key=True),
        sa.Column("calendar_id", sa.String(255), primary_key=True),
        sa.Column("tenant_id", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("channel_id", sa.String(200), nullable=True, unique=True),
        sa.Column("resource_id", sa.String(200), nullable=False, server_default=""),
        sa.Column("secret_hash", sa.String(64), nullable=False, server_default=""),
        sa.Column("expires_at", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("renew_at", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("lease_owner", sa.String(40), nullable=True),
        sa.Column("lease_until", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text, nullable=False, server_default=""),
        sa.Column("failures", sa.Integer, nullable=False, server_default="0"),
        sa.Column("notifications", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("last_notification_at", sa.BigInteger, nullable=True),
        sa.Column("renewals", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_push_channels_renew", "push_channels", ["renew_at"])


def downgrade() -> None:
    op.drop_index("ix_push_channels_renew", "push_channels")
    op.drop_table("push_channels")
