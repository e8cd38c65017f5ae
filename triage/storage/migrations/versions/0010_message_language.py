"""messages.language, messages.language_confidence, conversations.language: the customer's language

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 15:00:00

The worker detects the language of every customer message (triage/language.py) and keeps the
conversation's; the policy sets aside the English-only emotion model's stress of a message in another
language, routing prefers agents who speak it, and the console shows it. Rows from before this revision
keep NULL, which reads as "unknown": their stress counts as before, and they are not detected afresh
(that would read the largest table for conversations that will never write again).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("messages", sa.Column("language", sa.String(8), nullable=True))
    op.add_column("messages", sa.Column("language_confidence", sa.Float(), nullable=True))
    op.add_column("conversations", sa.Column("language", sa.String(8), nullable=True))


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35+), as 0008: a batch copy of conversations would lose the
    # expression index ix_conversations_urgency
    op.drop_column("conversations", "language")
    op.drop_column("messages", "language_confidence")
    op.drop_column("messages", "language")
