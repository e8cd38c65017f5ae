"""The SLA-breach rule is written once (triage.domain.lifecycle.sla_missed); its SQL form for counting
in the database must give the same answer on every combination of the fields it reads."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.postgres import temporary_schema
from triage.domain.lifecycle import sla_missed
from triage.storage.conversations import handling_of, new_conversation, sla_missed_clause
from triage.storage.db import Conversation, make_engine, make_session_factory
from triage.storage.migrate import upgrade

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
MOMENTS = (None, NOW - timedelta(minutes=5), NOW, NOW + timedelta(minutes=5))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Session]:
    """A migrated database of each kind: SQLite compares timestamps as text, PostgreSQL as times."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'sla.db'}"
        upgrade(url)
        engine = make_engine(url)
        with make_session_factory(engine)() as session:
            yield session
        engine.dispose()
        return
    with temporary_schema("sla") as url:
        upgrade(url)
        engine = make_engine(url)
        with make_session_factory(engine)() as session:
            yield session
        engine.dispose()


def test_sql_and_domain_agree_on_every_case(db: Session) -> None:
    session = db
    cases = list(itertools.product((False, True), MOMENTS, MOMENTS))
    for i, (breached, deadline, replied) in enumerate(cases):
        row = new_conversation(f"c{i}", NOW)
        session.add(row)
        session.flush()
        # rows as the adapter stores them; this test sets the fields directly to cover every case
        session.execute(
            Conversation.__table__.update()
            .where(Conversation.id == row.id)
            .values(sla_breached=breached, sla_deadline=deadline, first_agent_reply_at=replied)
        )
    session.expire_all()
    in_sql = set(session.scalars(select(Conversation.id).where(sla_missed_clause(NOW))))
    in_domain = {c.id for c in session.scalars(select(Conversation)) if sla_missed(handling_of(c), NOW)}
    assert in_sql == in_domain
    assert 0 < len(in_domain) < len(cases)  # both answers occur
