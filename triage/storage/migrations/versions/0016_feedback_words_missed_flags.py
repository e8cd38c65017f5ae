"""feedback.added_words and missed_flags: feedback worth learning from (issues #20, #23)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 10:00:00

People say which words of the customer's messages should have been highlighted (``added_words``, with a
verdict on a flag), and mark a conversation the policy should have escalated and did not (a missed
flag: the conversation, optionally the customer message that should have triggered it, the words, a
comment). Words are offsets into the stored, redacted text (triage/domain/feedback.py). Existing
feedback rows get an empty list.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "feedback", sa.Column("added_words", sa.JSON(), server_default=sa.text("'[]'"), nullable=False)
    )
    op.create_table(
        "missed_flags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=255), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("words", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"]),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_missed_flags_conversation_id", "missed_flags", ["conversation_id"])
    op.create_index("ix_missed_flags_created_at", "missed_flags", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_missed_flags_created_at", table_name="missed_flags")
    op.drop_index("ix_missed_flags_conversation_id", table_name="missed_flags")
    op.drop_table("missed_flags")
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35+), as 0010
    op.drop_column("feedback", "added_words")
