"""Window queries: each calendar records its longest single event.

Revision ID: 0006_window
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_window"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("calendars") as batch:
        batch.add_column(
            sa.Column("max_span_us", sa.BigInteger, nullable=False, server_default="0")
        )
    op.execute(
        "UPDATE calendars SET max_span_us = COALESCE((SELECT MAX(end_utc - start_utc) "
        "FROM events WHERE events.calendar_id = calendars.id AND is_recurring = false), 0)"
    )


def downgrade() -> None:
    with op.batch_alter_table("calendars") as batch:
        batch.drop_column("max_span_us")
