"""Migration 0009: event_receipts, and event ids that hold a message broker's 53-bit event numbers."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from tests.integration.triage.migration_rows import insert_conversation_and_message
from tests.postgres import temporary_schema
from triage.rabbitmq_topology import event_key, event_number
from triage.storage.db import Base, make_engine
from triage.storage.migrate import alembic_config, include_name, upgrade

BIG_ID = event_number(event_key({"event": "user", "sender_id": "c1", "text": "hi", "timestamp": 1.0}))


def _check_0009(url: str) -> None:
    """Rows written before 0009 survive it; afterwards a 53-bit id fits; the schema is the models'; and
    0009 goes down and up again."""
    config = alembic_config(url)
    command.upgrade(config, "0008")
    engine = make_engine(url)
    with engine.begin() as conn:
        insert_conversation_and_message(conn)
    upgrade(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO messages (conversation_id, sender, text, source_event_id, flagged, created_at)"
                " VALUES ('c1', 'customer', 'after', :id, false, CURRENT_TIMESTAMP)"
            ),
            {"id": BIG_ID},
        )
        conn.execute(
            text(
                "INSERT INTO consumer_offsets (consumer, last_event_id, updated_at)"
                " VALUES ('k', :o, CURRENT_TIMESTAMP)"
            ),
            {"o": 2**40},
        )
        stored = conn.execute(text("SELECT text, source_event_id FROM messages ORDER BY id")).all()
        assert [tuple(row) for row in stored] == [("before", 7), ("after", BIG_ID)]
        assert conn.execute(text("SELECT last_event_id FROM consumer_offsets")).scalar_one() == 2**40
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_name": include_name})
        assert compare_metadata(context, Base.metadata) == []
    assert "event_receipts" in inspect(engine).get_table_names()
    indexes = {ix["name"] for ix in inspect(engine).get_indexes("messages")}
    assert {"ux_messages_source_event_id", "ix_messages_scored"} <= indexes
    with engine.begin() as conn:  # a downgrade cannot keep ids past 32 bits on PostgreSQL
        conn.execute(text("DELETE FROM messages WHERE source_event_id = :id"), {"id": BIG_ID})
        conn.execute(text("DELETE FROM consumer_offsets"))
    command.downgrade(config, "0008")
    assert "event_receipts" not in inspect(engine).get_table_names()
    upgrade(url)
    assert "event_receipts" in inspect(engine).get_table_names()
    engine.dispose()


def test_0009_on_sqlite(tmp_path):
    _check_0009(f"sqlite:///{tmp_path / 'm.db'}")


@pytest.mark.postgres
def test_0009_on_postgres():
    with temporary_schema("m9") as url:
        _check_0009(url)
