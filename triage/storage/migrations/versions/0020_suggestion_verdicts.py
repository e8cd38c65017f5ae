"""suggestion_verdicts: agents accept or dismiss a suggested next action (issue #20)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 00:31:00

Each verdict keeps the suggestion's key, action and the reasons it was shown with: feedback on the rules
that suggest (triage.domain.suggestions).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | Sequence[str] | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "suggestion_verdicts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=255), nullable=False),
        sa.Column("suggestion_key", sa.String(length=128), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_suggestion_verdicts_conversation_id", "suggestion_verdicts", ["conversation_id"])
    op.create_index("ix_suggestion_verdicts_created_at", "suggestion_verdicts", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_suggestion_verdicts_created_at", table_name="suggestion_verdicts")
    op.drop_index("ix_suggestion_verdicts_conversation_id", table_name="suggestion_verdicts")
    op.drop_table("suggestion_verdicts")
