"""Case-insensitive list filters fold Unicode alike on every database: each event keeps its
title, location and body folded (calgate.domain.filters.fold) in columns of their own.

Revision ID: 0008_folded
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from calgate.domain.filters import fold

revision = "0008_folded"
down_revision = "0001"
branch_labels = None
depends_on = None

COLUMNS = ("title", "location", "body")
CHUNK = 1000


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        for name in COLUMNS:
            batch.add_column(
                sa.Column(f"{name}_folded", sa.Text, nullable=False, server_default="")
            )
    events = sa.table(
        "events",
        sa.column("id", sa.String),
        *(sa.column(name, sa.Text) for name in COLUMNS),
        *(sa.column(f"{name}_folded", sa.Text) for name in COLUMNS),
    )
    conn = op.get_bind()
    after = ""
    while True:
        rows = conn.execute(
            sa.select(events.c.id, *(events.c[name] for name in COLUMNS))
            .where(events.c.id > after)
            .order_by(events.c.id)
            .limit(CHUNK)
        ).all()
        if not rows:
            return
        for row in rows:
            conn.execute(
                events.update()
                .where(events.c.id == row.id)
                .values({f"{name}_folded": fold(row._mapping[name]) for name in COLUMNS})
            )
        after = rows[-1].id


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        for name in COLUMNS:
            batch.drop_column(f"{name}_folded")
