"""model_versions, policy_versions: the registry of emotion models and triage policies, one of each active

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 16:00:00

Every emotion model (its directory, weights digest, calibration, dev metrics, training data, who added it
and why) and every triage policy (its YAML text and digest, who added it and why) that may be used; the
active one of each is what the worker scores and decides with and the api applies (triage/registry).
A partial unique index over the active rows keeps it to one of each. The tables start empty: the api and
the worker register the configured model and policy at their first start (triage/registry/bootstrap.py).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("model_versions", "policy_versions")


def _common(version_length: int) -> list[sa.Column[object]]:
    return [
        sa.Column("added_by", sa.String(length=128), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("previous_version", sa.String(length=version_length), nullable=True),
    ]


def upgrade() -> None:
    op.create_table(
        "model_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=128), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("weights_digest", sa.String(length=64), nullable=False),
        sa.Column("calibration", sa.JSON(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("training_data", sa.Text(), nullable=False),
        *_common(128),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "policy_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("yaml", sa.Text(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        *_common(64),
        sa.PrimaryKeyConstraint("id"),
    )
    for table in TABLES:
        op.create_index(f"ux_{table}_version", table, ["version"], unique=True)
        op.create_index(
            f"ux_{table}_active",
            table,
            ["active"],
            unique=True,
            sqlite_where=sa.text("active"),
            postgresql_where=sa.text("active"),
        )


def downgrade() -> None:
    for table in TABLES:
        op.drop_index(f"ux_{table}_active", table_name=table)
        op.drop_index(f"ux_{table}_version", table_name=table)
        op.drop_table(table)
