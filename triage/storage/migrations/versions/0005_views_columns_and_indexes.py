"""columns and indexes for the supervisor's views at scale

conversations.max_stress and conversations.latest_escalation_id (filled from messages and
escalations) so the list neither groups every message nor every escalation; indexes for the
figures' time windows and the list's filters.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 02:40:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (
    ("ix_conversations_max_stress", "conversations", ["max_stress"]),
    ("ix_conversations_escalated_at", "conversations", ["escalated_at"]),
    ("ix_conversations_latest_escalation_id", "conversations", ["latest_escalation_id"]),
    ("ix_escalations_created_at", "escalations", ["created_at"]),
    ("ix_feedback_created_at", "feedback", ["created_at"]),
)


def upgrade() -> None:
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("max_stress", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("latest_escalation_id", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE conversations SET max_stress = (SELECT max(m.stress) FROM messages m"
        " WHERE m.conversation_id = conversations.id AND m.stress IS NOT NULL)"
    )
    op.execute(
        "UPDATE conversations SET latest_escalation_id = (SELECT max(e.id) FROM escalations e"
        " WHERE e.conversation_id = conversations.id)"
    )
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)
    scored = sa.text("stress IS NOT NULL")
    op.create_index(
        "ix_messages_scored",
        "messages",
        ["created_at", "stress"],
        postgresql_where=scored,
        sqlite_where=scored,
    )
    op.create_index(
        "ix_conversations_urgency",
        "conversations",
        [
            sa.text("coalesce(priority, -1) DESC"),
            sa.text("coalesce(escalated_at, last_message_at) DESC"),
            "id",
        ],
    )


def downgrade() -> None:
    op.drop_index("ix_conversations_urgency", table_name="conversations")
    op.drop_index("ix_messages_scored", table_name="messages")
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_column("latest_escalation_id")
        batch_op.drop_column("max_stress")
