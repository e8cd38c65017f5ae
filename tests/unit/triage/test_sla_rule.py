"""The SLA-breach rule is written once (triage.domain.lifecycle.sla_missed); its SQL form for counting
in the database must give the same answer on every combination of the fields it reads."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from triage.domain.lifecycle import sla_missed
from triage.storage.conversations import handling_of, new_conversation, sla_missed_clause
from triage.storage.db import Conversation

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
MOMENTS = (None, NOW - timedelta(minutes=5), NOW, NOW + timedelta(minutes=5))


def test_sql_and_domain_agree_on_every_case(session):
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
