"""Migrations, the worker's batch transaction and the services on PostgreSQL (127.0.0.1:5432, db test).

Everything lives in a schema of its own, dropped afterwards.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from tests.postgres import temporary_schema
from tests.unit.triage.fakes import FakeScorer
from triage import services
from triage.audit import Actor
from triage.benchmarks.rasa_events import bot_event, user_event, write_events
from triage.redaction import redact_with_spans
from triage.storage.db import (
    AgentStatus,
    AuditRecord,
    ConsumerOffset,
    Conversation,
    ConversationState,
    Escalation,
    Message,
    OutboxCommand,
    Role,
    User,
    make_engine,
    make_session_factory,
    session_scope,
)
from triage.storage.migrate import current_head, upgrade
from triage.worker.broker import SqlEventSource
from triage.worker.loop import Worker

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_url():
    with temporary_schema("triage") as url:
        yield url


def test_worker_and_services_on_postgres(pg_url, policy):
    upgrade(pg_url)
    engine = make_engine(pg_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == current_head()
    factory = make_session_factory(engine)
    source = SqlEventSource(pg_url)  # Rasa's SQL broker on the same server
    source.ensure_table()
    with session_scope(factory) as s:
        s.add(
            User(
                username="ann",
                display_name="Ann",
                password_hash="x",
                role=Role.AGENT,
                skills=["cards"],
                capacity=2,
                status=AgentStatus.AVAILABLE,
            )
        )
    with source.engine.begin() as conn:
        write_events(
            conn,
            [
                (
                    "pg-1",
                    user_event(
                        "my card 4111 1111 1111 1111 was used, I am furious", intent="compromised_card"
                    ),
                ),
                ("pg-1", bot_event("Let me check.")),
                ("pg-2", user_event("where is my card")),
            ],
        )
    worker = Worker(factory, source, FakeScorer(), policy, redact_with_spans)
    result = worker.process_next_batch()
    assert result is not None and result.escalated == ["pg-1"]
    assert len(worker.route_once()) == 1  # the leader's routing step, after the batch
    assert worker.process_next_batch() is None
    assert worker.explain_once() == [1]
    with factory() as s:
        assert s.get(ConsumerOffset, "triage-worker").last_event_id == 3
        assert s.scalar(select(func.count()).select_from(Message)) == 3
        esc = s.scalars(select(Escalation)).one()
        assert esc.explanations[0]["text"] == "my card <CARD_NUMBER> was used, I am furious"
    with session_scope(factory) as s:
        ann = s.scalars(select(User)).one()
        services.agent_reply(s, "pg-1", ann, "I have frozen your card")
        services.resolve(s, "pg-1", actor=Actor("user", ann.username, ann.id))
    with factory() as s:
        assert s.get(Conversation, "pg-1").state == ConversationState.RESOLVED
        assert [c.kind for c in s.scalars(select(OutboxCommand).order_by(OutboxCommand.id))] == [
            "pause",
            "utter",
            "agent_joined",  # routed to Ann: the customer is told who joined (#20)
            "say",
            "resume",
            "utter",
            "answer_pending",
            "utter",  # the rating question (#20)
        ]
        assert s.scalars(select(AuditRecord.action).order_by(AuditRecord.id)).all()[-4:] == [
            "assign",
            "explain",
            "reply",
            "resolve",
        ]
    source.close()
    engine.dispose()


def test_two_assignments_to_one_agent_wait_for_each_other(pg_url):
    """seat_of locks the agent's row: a second assignment to the same agent waits for the first to
    commit, so it counts the seat the first one took (here: it gives up after 200 ms of waiting)."""
    from sqlalchemy.exc import OperationalError

    from triage.services.handoff import seat_of

    upgrade(pg_url)
    engine = make_engine(pg_url)
    factory = make_session_factory(engine)
    with session_scope(factory) as s:
        s.add(User(username="ann", display_name="Ann", password_hash="x", role=Role.AGENT, capacity=1))
    first, second = factory(), factory()
    try:
        ann = first.scalars(select(User.id).where(User.username == "ann")).one()
        assert seat_of(first, ann).open_count == 0  # holds the lock until it commits
        second.execute(text("SET lock_timeout = '200ms'"))
        with pytest.raises(OperationalError, match="lock"):
            seat_of(second, ann)
        second.rollback()
        first.commit()
        assert seat_of(second, ann).capacity == 1  # free again once the first has committed
    finally:
        first.close()
        second.close()
        engine.dispose()
