"""typing_signals: who is typing in a conversation, shared by every api process (issue #20)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 00:32:00

One row per conversation and party (customer or agent) with the moment the signal lapses; no text.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | Sequence[str] | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "typing_signals",
        sa.Column("conversation_id", sa.String(length=255), nullable=False),
        sa.Column("party", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("conversation_id", "party"),
    )


def downgrade() -> None:
    op.drop_table("typing_signals")
