"""conversation_notes, canned_replies: the agent console's internal notes and canned replies (issue #20)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 16:10:00

Internal notes are written by the conversation's agent or a supervisor, stored redacted and never sent to
the customer (no outbox command). Canned replies are kept per queue (NULL: every queue), one title per
queue, with ``{{variable}}`` placeholders checked when saved (triage/domain/canned.py).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "conversation_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=255), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("redactions", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_conversation_notes_conversation_id", "conversation_notes", ["conversation_id"])
    op.create_table(
        "canned_replies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("queue", sa.String(length=64), nullable=True),
        sa.Column("title", sa.String(length=80), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"]),
        sa.ForeignKeyConstraint(["updated_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_canned_replies_queue", "canned_replies", ["queue"])
    op.create_index(
        "ux_canned_replies_queue_title",
        "canned_replies",
        [sa.text("coalesce(queue, '')"), "title"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index("ux_canned_replies_queue_title", table_name="canned_replies")
    op.drop_index("ix_canned_replies_queue", table_name="canned_replies")
    op.drop_table("canned_replies")
    op.drop_index("ix_conversation_notes_conversation_id", table_name="conversation_notes")
    op.drop_table("conversation_notes")
