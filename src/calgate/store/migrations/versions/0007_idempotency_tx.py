"""Idempotency keys: answers are stored sealed from now on; forget those stored in plaintext.

Kept answers may hold secrets shown once (a feed URL, a webhook secret). Earlier versions stored
them as they were; this revision deletes every kept answer (a retry within its day then does
the work again, as after a key's expiry); keys still in progress stay.

Revision ID: 0007_idempotency_tx
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_idempotency_tx"
down_revision = "0001"
branch_labels = None
depends_on = "0003_idempotency"


def upgrade() -> None:
    op.execute(sa.text("DELETE FROM idempotency_keys WHERE status IS NOT NULL"))


def downgrade() -> None:
    pass  # nothing to restore: plaintext answers are not brought back
