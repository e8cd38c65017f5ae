"""Index conversations by when they started (issue #23): the bias audit and replay read a window of them

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 21:45:00

Without it, `clearline bias` and a replay with --since/--until read the whole conversations table.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0018"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_conversations_started_at", "conversations", ["started_at"])


def downgrade() -> None:
    op.drop_index("ix_conversations_started_at", table_name="conversations")
