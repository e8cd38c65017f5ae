"""Alembic: the migrations build exactly the ORM's schema, and go down and up again."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from tests.postgres import temporary_schema
from triage.storage.db import Base, make_engine
from triage.storage.migrate import alembic_config, current_head, include_name, upgrade


def test_upgrade_matches_the_models_and_downgrade_removes_everything(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    upgrade(url)  # idempotent
    engine = make_engine(url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_name": include_name})
        assert context.get_current_revision() == current_head()
        assert compare_metadata(context, Base.metadata) == []
    command.downgrade(alembic_config(url), "base")
    assert set(inspect(engine).get_table_names()) == {"alembic_version"}
    upgrade(url)
    assert {"conversations", "messages", "escalations", "outbox", "audit_log"} <= set(
        inspect(engine).get_table_names()
    )
    engine.dispose()


def test_cli_db_upgrade(tmp_path):
    from typer.testing import CliRunner

    from api.cli import app

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    result = CliRunner().invoke(app, ["db", "upgrade", "--url", url])
    assert result.exit_code == 0, result.output
    assert "consumer_offsets" in inspect(make_engine(url)).get_table_names()


# compare_metadata above skips expression indexes and does not compare partial ones' WHERE clauses:
# these are checked by name and definition on both databases.
def _index_sql(conn, dialect: str) -> dict[str, str]:
    if dialect == "sqlite":
        rows = conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        )
    else:
        rows = conn.exec_driver_sql(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()"
        )
    # one spelling for both: PostgreSQL writes -1 as '-1'::integer and may quote names
    return {
        name: " ".join(sql.lower().replace("'-1'::integer", "-1").replace('"', "").split())
        for name, sql in rows
    }


def _check_view_indexes(url: str) -> None:
    upgrade(url)
    engine = make_engine(url)
    with engine.connect() as conn:
        indexes = _index_sql(conn, engine.dialect.name)
    engine.dispose()
    urgency, scored = indexes["ix_conversations_urgency"], indexes["ix_messages_scored"]
    assert (
        "coalesce(priority, -1) desc" in urgency and "coalesce(escalated_at, last_message_at) desc" in urgency
    )
    assert "(created_at, stress)" in scored.replace('"', "") and "stress is not null" in scored


def test_the_views_expression_and_partial_indexes_exist_on_sqlite(tmp_path):
    _check_view_indexes(f"sqlite:///{tmp_path / 'ix.db'}")


@pytest.mark.postgres
def test_the_views_expression_and_partial_indexes_exist_on_postgres():
    with temporary_schema("ix") as url:
        _check_view_indexes(url)
