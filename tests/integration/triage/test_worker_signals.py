"""Issue #21 through the real worker: a request for a person inside a complaint escalates with the words
that show it, and the queue follows the conversation's topic, not its latest intent (fake scorer)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.unit.triage.fakes import FakeScorer
from triage.benchmarks.rasa_events import user_event, write_events
from triage.domain.policy import Policy
from triage.redaction import redact_with_spans
from triage.storage.db import AuditRecord, Conversation, Escalation, Message
from triage.worker.broker import SqlEventSource
from triage.worker.loop import Worker


def run_batch(
    factory: sessionmaker[Session], source: SqlEventSource, policy: Policy, rows: list[tuple[str, dict]]
) -> list[str]:
    with source.engine.begin() as conn:
        write_events(conn, rows)
    result = Worker(factory, source, FakeScorer(), policy, redact_with_spans).process_next_batch()
    assert result is not None
    return result.escalated


def test_a_manager_demand_inside_a_complaint_escalates_with_its_words(session_factory, source, policy):
    # the NLU reads the complaint; the fake model's stress (0.05) is far under the bar; the e-mail is
    # redacted first, so the words' offsets are into the stored, redacted text
    text = "You charged me twice, mail me at jane@example.com, I want to speak to a manager NOW"
    escalated = run_batch(
        session_factory, source, policy, [("c1", user_event(text, intent="transaction_charged_twice"))]
    )
    assert escalated == ["c1"]
    with session_factory() as s:
        message = s.scalars(select(Message)).one()
        escalation = s.scalars(select(Escalation)).one()
        decided = s.scalars(select(AuditRecord).where(AuditRecord.action == "policy")).one()
    assert "<EMAIL>" in message.text and "jane@" not in message.text
    assert escalation.queue == "refunds" and escalation.trigger == "policy"
    (asked,) = [f for f in escalation.factors if f["factor"] == "person_request"]
    assert asked["contribution"] == 60 and asked["message_id"] == message.id
    assert asked["text"] == "asked for a person -> +60"  # the words are in "words" only
    (word,) = asked["words"]
    assert word["word"] == "speak to a manager" and message.text[word["start"] : word["end"]] == word["word"]
    assert [f["factor"] for f in escalation.factors] == ["person_request"]  # "NOW" alone is no shouting
    assert [f["factor"] for f in decided.outcome["factors"]] == ["person_request"]


def test_capitals_and_punctuation_are_stored_with_the_escalation(session_factory, source, policy):
    text = "I am furious, WHERE IS MY CARD???"
    assert run_batch(session_factory, source, policy, [("c1", user_event(text))]) == ["c1"]
    with session_factory() as s:
        message = s.scalars(select(Message)).one()
        factors = {f["factor"]: f for f in s.scalars(select(Escalation)).one().factors}
    assert factors["shouting"]["text"] == "SHOUTING (4 words) -> +16"
    assert [w["word"] for w in factors["shouting"]["words"]] == ["WHERE", "IS", "MY", "CARD"]
    assert factors["punctuation"]["words"] == [{"word": "???", "start": 30, "end": 33}]
    for factor in ("shouting", "punctuation"):
        assert factors[factor]["message_id"] == message.id
        for w in factors[factor]["words"]:
            assert message.text[w["start"] : w["end"]] == w["word"]
    assert "words" not in factors["stress"] and "message_id" not in factors["stress"]


def test_a_complaint_then_an_angry_message_the_nlu_cannot_place_goes_to_its_queue(
    session_factory, source, policy
):
    rows = [
        ("c1", user_event("hello", intent="greet")),
        ("c1", user_event("I was charged twice for one payment", intent="transaction_charged_twice")),
        ("c1", user_event("this is unacceptable", intent="nlu_fallback")),
    ]
    assert run_batch(session_factory, source, policy, rows) == ["c1"]
    with session_factory() as s:
        conversation = s.get(Conversation, "c1")
        escalation = s.scalars(select(Escalation)).one()
    assert conversation.latest_intent == "nlu_fallback"
    assert conversation.recent_intents == ["greet", "transaction_charged_twice", "nlu_fallback"]
    assert escalation.queue == conversation.queue == "refunds"


def test_the_worker_keeps_the_latest_intents_only(session_factory, source, policy):
    rows = [("c1", user_event(f"question {i}", intent=f"intent_{i}")) for i in range(12)]
    run_batch(session_factory, source, policy, rows)
    with session_factory() as s:
        kept = s.get(Conversation, "c1").recent_intents
    assert kept == [f"intent_{i}" for i in range(2, 12)]


def test_a_conversation_from_before_the_intents_were_kept_starts_its_list(session_factory, source, policy):
    """A row from before migration 0008 (recent_intents NULL): the worker starts the list, and the policy
    reads what it has, since the earlier intents are not known."""
    with session_factory.begin() as s:
        s.add(Conversation(id="c1", latest_intent="transaction_charged_twice", recent_intents=None))
    run_batch(session_factory, source, policy, [("c1", user_event("I am furious!!!", intent="nlu_fallback"))])
    with session_factory() as s:
        conversation = s.get(Conversation, "c1")
    assert conversation.recent_intents == ["nlu_fallback"] and conversation.queue == "general"
