"""The worker over a real SQLite events database written as Rasa writes it (fake scorer)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.unit.triage.fakes import FakeScorer
from triage.broker import SqlEventSource
from triage.db import (
    AgentStatus,
    AuditRecord,
    ConsumerOffset,
    Conversation,
    ConversationState,
    Escalation,
    Message,
    OutboxCommand,
    Role,
    Sender,
    User,
    session_scope,
)
from triage.policy import Policy
from triage.rasa_events import action_event, bot_event, user_event, write_events
from triage.redaction import redact
from triage.worker import Worker, WorkerOptions


def make_worker(
    factory: sessionmaker[Session],
    source: SqlEventSource,
    policy: Policy,
    scorer: FakeScorer | None = None,
    batch_size: int = 256,
) -> Worker:
    return Worker(
        factory, source, scorer or FakeScorer(), policy, redact, options=WorkerOptions(batch_size=batch_size)
    )


def write(source: SqlEventSource, rows: list) -> list[int]:
    with source.engine.begin() as conn:
        return write_events(conn, rows)


def test_batch_scores_across_conversations_in_one_call_and_stores_everything(session_factory, source, policy):
    write(
        source,
        [
            ("c1", user_event("where is my card", intent="card_arrival")),
            ("c1", action_event()),
            ("c1", bot_event("It is on its way.")),
            ("c2", user_event("my email is jane@example.com", intent="edit_personal_details")),
            ("c3", user_event("nlu did not get this", intent="nlu_fallback")),
        ],
    )
    scorer = FakeScorer()
    worker = make_worker(session_factory, source, policy, scorer)
    result = worker.process_next_batch()
    assert result is not None and result.events == 5 and result.stored == 4 and result.skipped == 1
    assert scorer.score_calls == [["where is my card", "my email is <EMAIL>", "nlu did not get this"]]
    with session_factory() as s:
        texts = s.execute(
            select(Message.conversation_id, Message.sender, Message.text).order_by(Message.id)
        ).all()
        assert texts == [
            ("c1", Sender.CUSTOMER, "where is my card"),
            ("c1", Sender.BOT, "It is on its way."),
            ("c2", Sender.CUSTOMER, "my email is <EMAIL>"),
            ("c3", Sender.CUSTOMER, "nlu did not get this"),
        ]
        assert s.get(ConsumerOffset, "triage-worker").last_event_id == 5
        assert s.get(Conversation, "c3").fallback_count == 1
        assert s.get(Conversation, "c1").channel == "socketio"
        assert s.get(Conversation, "c1").stress_trajectory == [0.05]
        assert s.scalar(select(func.count()).where(AuditRecord.action == "score")) == 3
        assert s.scalar(select(func.count()).where(AuditRecord.action == "policy")) == 3
    assert worker.process_next_batch() is None  # nothing new: offset respected


def test_stressed_conversation_escalates_with_redacted_explanations_and_is_routed(
    session_factory, source, policy
):
    with session_scope(session_factory) as s:
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
    write(
        source,
        [
            ("c1", user_event("someone used my card 4111 1111 1111 1111", intent="compromised_card")),
            ("c1", user_event("this is unacceptable, I am furious", intent="compromised_card")),
            ("c1", user_event("hello?? I am angry", intent="compromised_card")),
        ],
    )
    scorer = FakeScorer()
    result = make_worker(session_factory, source, policy, scorer, batch_size=2).process_next_batch()
    assert result is not None and result.escalated == ["c1"] and result.assigned == [("c1", 1)]
    with session_factory() as s:
        conv = s.get(Conversation, "c1")
        assert conv.state == ConversationState.ASSIGNED and conv.assigned_agent_id == 1
        assert conv.queue == "cards" and conv.priority_band == "P1" and conv.sla_deadline is not None
        esc = s.scalars(select(Escalation)).one()
        assert esc.trigger == "policy" and esc.model_version == "fake-emotions@test"
        factors = {f["factor"]: f for f in esc.factors}
        assert factors["stress"]["text"] == "stress 0.97 -> +48"
        assert factors["intent"]["contribution"] == 30
        assert [e["text"] for e in esc.explanations] == ["this is unacceptable, I am furious"]
        words = esc.explanations[0]["words"]
        furious = next(w for w in words if w["word"] == "furious")
        assert esc.explanations[0]["text"][furious["start"] : furious["end"]] == "furious"
        first = s.scalars(select(Message).order_by(Message.id)).first()
        assert first.text == "someone used my card <CARD_NUMBER>"
        kinds = s.execute(select(OutboxCommand.kind, OutboxCommand.payload).order_by(OutboxCommand.id)).all()
        assert kinds == [("pause", {}), ("utter", {"name": "utter_handoff_notice"})]
        actions = s.scalars(select(AuditRecord.action).order_by(AuditRecord.id)).all()
        assert actions == ["score", "policy", "score", "policy", "escalate", "assign"]
    # the third message arrives during hand-off: stored for the agent, no new policy decision
    result = make_worker(session_factory, source, policy, scorer).process_next_batch()
    assert result is not None and result.escalated == []
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Message)) == 3
        assert s.scalar(select(func.count()).where(AuditRecord.action == "policy")) == 2
