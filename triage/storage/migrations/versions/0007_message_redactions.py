"""messages.redactions: where a message's redaction placeholders are, stored beside its text

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 11:00:00

A reader told a placeholder ("<EMAIL>") from the customer's own words by matching the text, so a
customer who typed "<SCRIPT>" got a "redacted" chip. Now the writers store the spans the redactor
returns. Messages stored before this revision keep NULL: "no structural markers recorded". Their texts
are not matched to make any up, since a text cannot tell a placeholder from a customer who typed one,
and NULL (not []) keeps them apart from messages known to hold no placeholder; the upgrade also
rewrites no rows of what is the largest table.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("redactions", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("redactions")
