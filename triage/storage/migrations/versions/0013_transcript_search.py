"""Full-text search over the stored transcripts (issue #20): a GIN index on PostgreSQL, FTS5 on SQLite

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 18:00:00

The texts searched are the ones stored, already redacted: a search never sees a raw e-mail address.
PostgreSQL: an expression index on ``to_tsvector('simple', ...)`` of the text with its punctuation made
spaces, the expression the search's condition uses as written (triage/storage/search.py).
SQLite: an external-content FTS5 table over ``messages`` kept in step
by triggers on insert, update and delete, so erasure and the retention purge remove a text from the index
in the same statement that removes it from the table. A later batch migration of ``messages`` on SQLite
(a table copy) drops these triggers: it must create them again.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_UP = [
    # unicode61 without removing diacritics: PostgreSQL's 'simple' configuration keeps them too
    "CREATE VIRTUAL TABLE messages_fts USING fts5("
    "text, content='messages', content_rowid='id', tokenize='unicode61 remove_diacritics 0')",
    "CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN "
    "INSERT INTO messages_fts(rowid, text) VALUES (new.id, new.text); END",
    "CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN "
    "INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.id, old.text); END",
    "CREATE TRIGGER messages_fts_update AFTER UPDATE OF text ON messages BEGIN "
    "INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.id, old.text); "
    "INSERT INTO messages_fts(rowid, text) VALUES (new.id, new.text); END",
    "INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')",  # the messages stored before
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS messages_fts_update",
    "DROP TRIGGER IF EXISTS messages_fts_delete",
    "DROP TRIGGER IF EXISTS messages_fts_insert",
    "DROP TABLE IF EXISTS messages_fts",
]


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for statement in SQLITE_UP:
            op.execute(statement)
    elif dialect == "postgresql":
        # punctuation made spaces first, as triage/storage/search.py queries it (see _pg_words there)
        op.execute(
            "CREATE INDEX ix_messages_text_search ON messages USING gin "
            "(to_tsvector('simple', regexp_replace(text, '[^[:alnum:]]+', ' ', 'g')))"
        )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for statement in SQLITE_DOWN:
            op.execute(statement)
    elif dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_messages_text_search")
