"""Shadow model (issue #23): which registered model scores beside the active one, and its scores

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 21:20:00

A candidate model scores the live customer messages without acting (triage/monitoring/shadow.py). Its
scores sit on the message they are about, so that erasure and retention, which delete messages, take them
too; ``model_versions.shadow`` marks the candidate (at most one, a partial unique index).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "model_versions", sa.Column("shadow", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    op.add_column("model_versions", sa.Column("shadow_since", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "ux_model_versions_shadow",
        "model_versions",
        ["shadow"],
        unique=True,
        sqlite_where=sa.text("shadow"),
        postgresql_where=sa.text("shadow"),
    )
    op.add_column("messages", sa.Column("shadow_stress", sa.Float(), nullable=True))
    op.add_column("messages", sa.Column("shadow_flagged", sa.Boolean(), nullable=True))
    op.add_column("messages", sa.Column("shadow_model_version", sa.String(128), nullable=True))
    op.create_index(
        "ix_messages_shadow",
        "messages",
        ["shadow_model_version", "id"],
        postgresql_where=sa.text("shadow_model_version IS NOT NULL"),
        sqlite_where=sa.text("shadow_model_version IS NOT NULL"),
    )


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35+), as 0010: a batch copy would lose expression indexes
    op.drop_index("ix_messages_shadow", table_name="messages")
    op.drop_column("messages", "shadow_model_version")
    op.drop_column("messages", "shadow_flagged")
    op.drop_column("messages", "shadow_stress")
    op.drop_index("ux_model_versions_shadow", table_name="model_versions")
    op.drop_column("model_versions", "shadow_since")
    op.drop_column("model_versions", "shadow")
