"""event_receipts, and 64-bit event ids: a message broker's events are remembered by key

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 18:00:00

The worker can read Rasa's events from RabbitMQ (or Kafka) instead of the SQL broker's table. Those
events have no row id: the worker remembers each processed event by its stable key in
``event_receipts``, committed with the rows it produced, so a redelivery is skipped. A stored message's
``source_event_id`` is then a 53-bit number made from the key, and a Kafka offset can pass 2**31: the
columns that hold an event id become BIGINT (PostgreSQL's INTEGER is 32-bit; SQLite's INTEGER already
holds 64 bits, its tables are copied only so that the declared type matches the models).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column, nullable) of every column that stores a broker event's id or position
EVENT_ID_COLUMNS = (
    ("messages", "source_event_id", True),
    ("escalations", "source_event_id", True),
    ("consumer_offsets", "last_event_id", False),
)


def _retype(old: sa.types.TypeEngine[int], new: sa.types.TypeEngine[int]) -> None:
    for table, column, nullable in EVENT_ID_COLUMNS:
        with op.batch_alter_table(table) as batch_op:
            batch_op.alter_column(column, existing_type=old, type_=new, existing_nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "event_receipts",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("sender_id", sa.String(length=255), nullable=False),
        sa.Column("event_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index("ix_event_receipts_received_at", "event_receipts", ["received_at"])
    op.create_index("ix_event_receipts_sender_event_at", "event_receipts", ["sender_id", "event_at"])
    _retype(sa.Integer(), sa.BigInteger())


def downgrade() -> None:
    # fails on PostgreSQL when a stored id no longer fits 32 bits: such ids cannot be kept in INTEGER
    _retype(sa.BigInteger(), sa.Integer())
    op.drop_index("ix_event_receipts_sender_event_at", table_name="event_receipts")
    op.drop_index("ix_event_receipts_received_at", table_name="event_receipts")
    op.drop_table("event_receipts")
