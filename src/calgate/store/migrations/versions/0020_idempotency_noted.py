"""Idempotency keys: what an attempt noted before calling a provider that chooses the id of
what it makes (a Google or Outlook calendar), so that a retry after a crash recognises it.

Revision ID: 0020_idempotency_noted
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020_idempotency_noted"
down_revision = "0001"
branch_labels = None
depends_on = "0003_idempotency"  # the idempotency_keys table


def upgrade() -> None:
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.add_column(sa.Column("noted", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.drop_column("noted")
