"""Outbox: an index for fair claims (the oldest pending delivery of each target, found by a
skip scan over targets instead of a scan of every due delivery).

Revision ID: 0012_delivery
"""

from __future__ import annotations

from alembic import op

revision = "0012_delivery"
down_revision = "0001"
branch_labels = None
depends_on = ("0002_outbox",)


def upgrade() -> None:
    op.create_index("ix_outbox_pending_target", "outbox", ["status", "target", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_outbox_pending_target", table_name="outbox")
