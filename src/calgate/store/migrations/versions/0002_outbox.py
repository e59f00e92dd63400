"""Outbox: deliveries (invitation mail, webhook calls), their shared payloads, the notification
state of events, and webhooks.

Revision ID: 0002_outbox
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_outbox"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox_payloads",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("tenant_id", sa.String(40), nullable=False),
        sa.Column("account_id", sa.String(40), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("target", sa.String(320), nullable=False),
        sa.Column("topic", sa.String(40), nullable=False),
        sa.Column("change_id", sa.String(40), nullable=False),
        sa.Column("event_id", sa.String(80), nullable=False),
        sa.Column("payload_id", sa.String(40), sa.ForeignKey("outbox_payloads.id"), nullable=False),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.BigInteger, nullable=False),
        sa.Column("claim", sa.String(40), nullable=True),
        sa.Column("last_code", sa.Integer, nullable=True),
        sa.Column("last_error", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.Column("delivered_at", sa.BigInteger, nullable=True),
    )
    op.create_index("ix_outbox_due", "outbox", ["status", "next_attempt_at"])
    op.create_index("ix_outbox_target", "outbox", ["target", "created_at"])
    op.create_index("ix_outbox_change", "outbox", ["change_id"])
    op.create_index("ix_outbox_payload", "outbox", ["payload_id"])
    op.create_table(
        "notices",
        sa.Column("account_id", sa.String(40), primary_key=True),
        sa.Column("event_id", sa.String(80), primary_key=True),
        sa.Column("change_id", sa.String(40), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "webhooks",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("request_url", sa.Text, nullable=False),
        sa.Column("events", sa.Text, nullable=False),
        sa.Column("account_ids", sa.Text, nullable=False),
        sa.Column("headers", sa.Text, nullable=False),
        sa.Column("secret", sa.Text, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_webhooks_tenant_id", "webhooks", ["tenant_id"])


def downgrade() -> None:
    op.drop_table("webhooks")
    op.drop_table("notices")
    op.drop_table("outbox")
    op.drop_table("outbox_payloads")
