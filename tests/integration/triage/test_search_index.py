"""The search's condition is the one its index was built for: PostgreSQL plans the GIN expression index
(a different spelling of the expression would be a sequential scan over every message), and SQLite's
FTS5 table answers from the rows the migration found already there."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from tests.integration.triage.migration_rows import insert_conversation_and_message
from tests.postgres import temporary_schema
from triage.storage.db import Conversation, Message, Sender, make_engine, make_session_factory
from triage.storage.migrate import upgrade
from triage.storage.search import Search, conversations_matching


def _matching(session: Session, query: str) -> list[str]:
    stmt = select(Conversation.id).where(conversations_matching(session, Search.parse(query)))
    return sorted(session.scalars(stmt))


@pytest.mark.postgres
def test_postgres_plans_the_gin_index() -> None:
    with temporary_schema("search") as url:
        upgrade(url)
        engine = make_engine(url)
        with make_session_factory(engine)() as session:
            session.add(Conversation(id="c1", stress_trajectory=[]))
            session.add(Message(conversation_id="c1", sender=Sender.CUSTOMER, text="card stolen, 12.50 gone"))
            session.flush()
            session.execute(text("SET LOCAL enable_seqscan = off"))  # a tiny table: make the index the choice
            stmt = select(Conversation.id).where(
                conversations_matching(session, Search.parse('stolen "12.50"'))
            )
            plan = "\n".join(
                session.scalars(
                    text("EXPLAIN " + str(stmt.compile(engine, compile_kwargs={"literal_binds": True})))
                )
            )
            assert "ix_messages_text_search" in plan, plan
            assert _matching(session, 'stolen "12.50"') == ["c1"]
        engine.dispose()


def test_sqlite_indexes_the_messages_stored_before_the_migration(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'before.db'}"
    upgrade(url, "0012")
    engine = make_engine(url)
    with engine.begin() as conn:  # plain SQL: the models have columns that revision 0012 has not
        insert_conversation_and_message(conn, text_="an older complaint")
    upgrade(url)
    with make_session_factory(engine)() as session:
        assert _matching(session, "complaint") == ["c1"]
    engine.dispose()
