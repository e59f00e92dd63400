"""Webhooks remember the API version they were registered through (v2: v2's envelope).

Revision ID: 0017_v2
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017_v2"
down_revision = "0001"
branch_labels = None
depends_on = "0002_outbox"  # the webhooks table


def upgrade() -> None:
    with op.batch_alter_table("webhooks") as batch:
        batch.add_column(
            sa.Column("api_version", sa.String(4), nullable=False, server_default="v1")
        )


def downgrade() -> None:
    with op.batch_alter_table("webhooks") as batch:
        batch.drop_column("api_version")
