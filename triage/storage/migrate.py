"""Alembic configured in code (no alembic.ini): ``clearline db upgrade`` and the tests use this."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# SQLite's FTS5 search table and its shadow tables (migration 0013): made by SQL, not in the models
SEARCH_TABLES = tuple(f"messages_fts{suffix}" for suffix in ("", "_data", "_idx", "_docsize", "_config"))


# PostgreSQL's full-text index (migration 0013): an expression the models cannot declare for both databases
SEARCH_INDEXES = ("ix_messages_text_search",)


def include_name(name: str | None, type_: str, _parent_names: object) -> bool:
    """For Alembic's comparison of the database with the models: the search tables and the full-text
    index are made by SQL in migration 0013, not declared in the models."""
    if type_ == "table":
        return name not in SEARCH_TABLES
    if type_ == "index":
        return name not in SEARCH_INDEXES
    return True


def alembic_config(url: str, connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))  # configparser interpolation
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(url: str, revision: str = "head", connection: Connection | None = None) -> None:
    """Bring the database at ``url`` (or on ``connection``) to ``revision``."""
    command.upgrade(alembic_config(url, connection), revision)


def current_head() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
