"""csat_ratings and conversations.customer_ref (issue #20: CSAT, a customer's earlier conversations)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 00:30:00

A customer's 1-5 rating after a resolved hand-off or a conversation with the bot, with the hand-off's agent
and queue as it was resolved. ``customer_ref`` is a keyed hash of the provider's customer id (the bot's
``customer_ref`` slot): it links one customer's conversations without storing who they are.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | Sequence[str] | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "csat_ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=255), nullable=False),
        sa.Column("escalation_id", sa.Integer(), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("escalated", sa.Boolean(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("queue", sa.String(length=64), nullable=True),
        sa.Column("channel", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"]),
        sa.ForeignKeyConstraint(["escalation_id"], ["escalations.id"]),
        sa.ForeignKeyConstraint(["agent_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_csat_ratings_conversation_id", "csat_ratings", ["conversation_id"])
    op.create_index("ix_csat_ratings_escalation_id", "csat_ratings", ["escalation_id"])
    op.create_index("ix_csat_ratings_created_at", "csat_ratings", ["created_at"])
    op.add_column("conversations", sa.Column("customer_ref", sa.String(length=64), nullable=True))
    op.create_index("ix_conversations_customer_ref", "conversations", ["customer_ref"])


def downgrade() -> None:
    op.drop_index("ix_conversations_customer_ref", table_name="conversations")
    op.drop_column("conversations", "customer_ref")
    op.drop_index("ix_csat_ratings_created_at", table_name="csat_ratings")
    op.drop_index("ix_csat_ratings_escalation_id", table_name="csat_ratings")
    op.drop_index("ix_csat_ratings_conversation_id", table_name="csat_ratings")
    op.drop_table("csat_ratings")
