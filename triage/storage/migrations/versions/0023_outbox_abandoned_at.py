"""outbox.abandoned_at: a webhook the relay gave up on is kept, marked, and never tried again

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 23:59:00

Before, a webhook whose receiver was gone (404, a revoked token) was retried every five minutes for ever,
and the alerts queued after it under the same key waited behind it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | Sequence[str] | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("outbox", sa.Column("abandoned_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35+), as 0010
    op.drop_column("outbox", "abandoned_at")
