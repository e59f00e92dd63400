"""Attendees' replies: which events calgate sent invitations for (found again by UID when a
REPLY arrives), and the COUNTER proposals attendees mailed.

Revision ID: 0015_rsvp
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_rsvp"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "invitation_uids",
        sa.Column("account_id", sa.String(40), primary_key=True),
        sa.Column("event_id", sa.String(255), primary_key=True),
        sa.Column("tenant_id", sa.String(40), nullable=False),
        sa.Column("calendar_id", sa.String(255), nullable=False),
        sa.Column("ical_uid", sa.String(255), nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_invitation_uids_uid", "invitation_uids", ["ical_uid"])
    op.create_table(
        "counter_proposals",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("tenant_id", sa.String(40), nullable=False),
        sa.Column("account_id", sa.String(40), nullable=False),
        sa.Column("calendar_id", sa.String(255), nullable=False),
        sa.Column("event_id", sa.String(255), nullable=False),
        sa.Column("attendee", sa.String(320), nullable=False),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("received_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_counter_proposals_event", "counter_proposals", ["account_id", "event_id"])


def downgrade() -> None:
    op.drop_table("counter_proposals")
    op.drop_table("invitation_uids")
