"""Alembic: the migrations build exactly the ORM's schema, and go down and up again."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from triage.storage.db import Base, make_engine
from triage.storage.migrate import alembic_config, current_head, upgrade


def test_upgrade_matches_the_models_and_downgrade_removes_everything(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    upgrade(url)  # idempotent
    engine = make_engine(url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
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
