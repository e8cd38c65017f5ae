"""Migration 0010: the language of messages and conversations."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from tests.integration.triage.migration_rows import insert_conversation_and_message
from tests.postgres import temporary_schema
from triage.storage.db import Base, make_engine
from triage.storage.migrate import alembic_config, include_name


def _columns(engine, table: str) -> set[str]:
    return {column["name"] for column in inspect(engine).get_columns(table)}


def _check_0010(url: str) -> None:
    """Rows written before 0010 survive it with no language; a language is stored after it; the schema
    is the models'; and 0010 goes down and up again."""
    config = alembic_config(url)
    command.upgrade(config, "0009")
    engine = make_engine(url)
    with engine.begin() as conn:
        insert_conversation_and_message(conn)
    command.upgrade(config, "0010")
    with engine.begin() as conn:
        assert conn.execute(text("SELECT language FROM conversations")).scalar_one() is None
        before = conn.execute(text("SELECT text, language, language_confidence FROM messages")).one()
        assert tuple(before) == ("before", None, None)
        conn.execute(
            text(
                "INSERT INTO messages (conversation_id, sender, text, source_event_id, flagged, created_at,"
                " language, language_confidence) VALUES ('c1', 'customer', 'mi tarjeta no funciona', 8,"
                " false, CURRENT_TIMESTAMP, 'es', 0.71)"
            )
        )
        conn.execute(text("UPDATE conversations SET language = 'es'"))
        after = conn.execute(text("SELECT language, language_confidence FROM messages WHERE id > 1")).one()
        assert tuple(after) == ("es", 0.71)
    command.upgrade(config, "head")
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_name": include_name})
        assert compare_metadata(context, Base.metadata) == []
    command.downgrade(config, "0009")
    assert "language" not in _columns(engine, "conversations")
    assert not {"language", "language_confidence"} & _columns(engine, "messages")
    with engine.connect() as conn:  # the rows themselves survive the downgrade
        assert conn.execute(text("SELECT count(*) FROM messages")).scalar_one() == 2
    command.upgrade(config, "0010")
    assert {"language", "language_confidence"} <= _columns(engine, "messages")
    engine.dispose()


def test_0010_on_sqlite(tmp_path):
    _check_0010(f"sqlite:///{tmp_path / 'm.db'}")


@pytest.mark.postgres
def test_0010_on_postgres():
    with temporary_schema("m10") as url:
        _check_0010(url)
