"""suggestion_verdicts.comment: the agent's comment on a verdict kept with it (issue #20)

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 01:00:00

The comment was in the audit record only; with the verdict it is exported and read with it. Redacted
before it is written, like every comment people write about a conversation.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | Sequence[str] | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("suggestion_verdicts", sa.Column("comment", sa.Text(), nullable=True))


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35+), as 0010
    op.drop_column("suggestion_verdicts", "comment")
