"""conversations.priority_overridden: a stored fact instead of a search of the audit log

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 03:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the column and fill it from the audit log the way the old check read it."""
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("priority_overridden", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.execute(
        sa.text(
            "UPDATE conversations SET priority_overridden = :yes WHERE EXISTS ("
            " SELECT 1 FROM audit_log a WHERE a.conversation_id = conversations.id"
            " AND a.action = 'override_priority'"
            " AND (conversations.escalated_at IS NULL OR a.at >= conversations.escalated_at))"
        ).bindparams(yes=True)
    )


def downgrade() -> None:
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_column("priority_overridden")
