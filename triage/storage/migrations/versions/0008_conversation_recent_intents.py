"""conversations.recent_intents: the intents of a conversation's latest customer turns, for its topic

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 14:00:00

The policy took the queue from the latest intent only, so a complaint followed by a message the NLU
could not place went to the default queue. It now picks the most recent specific intent of the last few
customer turns, which the worker keeps with the conversation. Rows from before this revision keep NULL:
the policy then reads the latest intent, as before, until the conversation's next messages fill the
list. They are not filled from the messages, which would read the largest table for the conversations
that will never write again.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("conversations", sa.Column("recent_intents", sa.JSON(), nullable=True))


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35+): a batch copy of the table would lose the expression
    # index ix_conversations_urgency, which 0005's downgrade then drops
    op.drop_column("conversations", "recent_intents")
