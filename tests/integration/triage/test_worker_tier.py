"""The customer tier: Rasa's `customer_tier` slot events, read by the worker from a real SQLite events
table, stored on the conversation in the batch's transaction, and weighed by the policy (pinned: premium
+10, vip +15; "I am angry" scores 0.91 -> stress +45, below the escalation threshold 50 on its own)."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from structlog.testing import capture_logs

from tests.unit.triage.fakes import FakeScorer
from triage.db import AuditRecord, ConsumerOffset, Conversation, Escalation
from triage.rasa_events import action_event, slot_event, user_event

from .test_worker import make_worker, write

ANGRY = "I am angry"  # card_arrival: not an urgent intent


def tier_records(session) -> list[AuditRecord]:
    query = select(AuditRecord).where(AuditRecord.action == "tier").order_by(AuditRecord.id)
    return list(session.scalars(query))


def policy_factors(session, conversation_id: str) -> list[list[str]]:
    """The factor texts of each policy decision of the conversation, in order."""
    records = session.scalars(
        select(AuditRecord)
        .where(AuditRecord.action == "policy", AuditRecord.conversation_id == conversation_id)
        .order_by(AuditRecord.id)
    )
    return [[factor["text"] for factor in record.outcome["factors"]] for record in records]


def test_a_tier_set_at_session_start_counts_in_the_first_messages_decision(session_factory, source, policy):
    write(
        source,
        [
            # what Rasa writes for a new session of a known customer (action_session_start), then the message
            ("anna", action_event("action_session_start")),
            ("anna", {"event": "session_started", "timestamp": 1.0}),
            ("anna", slot_event("customer_tier", "premium")),
            ("anna", action_event()),
            ("anna", user_event(ANGRY)),
            ("other", user_event(ANGRY)),  # the same message from a standard customer
        ],
    )
    result = make_worker(session_factory, source, policy).process_next_batch()
    assert result is not None and result.escalated == ["anna"] and result.tiers == 1
    with session_factory() as s:
        assert s.get(Conversation, "anna").customer_tier == "premium"
        assert s.get(Conversation, "other").customer_tier == "standard"
        escalation = s.scalars(select(Escalation)).one()
        assert escalation.priority == 55
        assert [(f["factor"], f["value"], f["contribution"], f["text"]) for f in escalation.factors] == [
            ("stress", 0.91, 45, "stress 0.91 -> +45"),
            ("tier", "premium", 10, "tier premium -> +10"),
        ]
        assert policy_factors(s, "other") == [["stress 0.91 -> +45"]]
        (record,) = tier_records(s)
        assert record.actor == "worker" and record.conversation_id == "anna"
        assert record.inputs == {"source_event_id": 3, "slot_value": "premium"}
        assert record.outcome == {"tier": "premium", "previous": "standard"}
        assert record.versions == {"policy": policy.version}


def test_a_tier_set_after_a_message_counts_from_the_next_message_on(session_factory, source, policy):
    write(source, [("ben", user_event(ANGRY)), ("ben", slot_event("customer_tier", "vip"))])
    worker = make_worker(session_factory, source, policy)
    result = worker.process_next_batch()
    assert result is not None and result.escalated == []
    write(source, [("ben", user_event(ANGRY))])
    result = worker.process_next_batch()
    assert result is not None and result.escalated == ["ben"]
    with session_factory() as s:
        assert policy_factors(s, "ben") == [
            ["stress 0.91 -> +45"],
            ["stress 0.91 -> +45", "tier vip -> +15"],
        ]
        assert s.scalars(select(Escalation.priority)).one() == 60


def test_the_tier_commits_with_the_offset_and_survives_batch_boundaries(session_factory, source, policy):
    write(source, [("anna", slot_event("customer_tier", "premium")), ("anna", user_event(ANGRY))])

    class BrokenScorer(FakeScorer):
        def score(self, texts):
            raise RuntimeError("model crashed")

    with pytest.raises(RuntimeError, match="model crashed"):
        make_worker(session_factory, source, policy, BrokenScorer()).process_next_batch()
    with session_factory() as s:  # rolled back together: no tier, no audit, no offset
        assert s.get(Conversation, "anna") is None and tier_records(s) == []
        assert s.get(ConsumerOffset, "triage-worker") is None
    # a fresh worker (a restart), one event per batch: the tier's batch commits before the message's
    worker = make_worker(session_factory, source, policy, batch_size=1)
    first = worker.process_next_batch()
    assert first is not None and (first.tiers, first.stored, first.last_event_id) == (1, 0, 1)
    with session_factory() as s:
        assert s.get(Conversation, "anna").customer_tier == "premium"
        assert s.get(ConsumerOffset, "triage-worker").last_event_id == 1
    second = worker.process_next_batch()
    assert second is not None and second.escalated == ["anna"]
    assert worker.process_next_batch() is None
    with session_factory() as s:
        assert len(tier_records(s)) == 1  # applied exactly once
        assert "tier premium -> +10" in [f["text"] for f in s.scalars(select(Escalation)).one().factors]


def test_an_unknown_tier_falls_back_to_standard_with_a_warning(session_factory, source, policy):
    write(
        source,
        [
            ("carl", slot_event("customer_tier", "vip")),
            ("carl", slot_event("customer_tier", "gold")),
            ("carl", user_event(ANGRY)),
        ],
    )
    with capture_logs() as logs:
        result = make_worker(session_factory, source, policy).process_next_batch()
    assert result is not None and result.escalated == []
    warnings = [entry for entry in logs if entry["event"] == "unknown_customer_tier"]
    assert len(warnings) == 1 and warnings[0]["value"] == "gold" and warnings[0]["log_level"] == "warning"
    with session_factory() as s:
        assert s.get(Conversation, "carl").customer_tier == "standard"
        assert policy_factors(s, "carl") == [["stress 0.91 -> +45"]]
        assert [(r.inputs["slot_value"], r.outcome) for r in tier_records(s)] == [
            ("vip", {"tier": "vip", "previous": "standard"}),
            ("gold", {"tier": "standard", "previous": "vip"}),
        ]


def test_unknown_values_are_audited_even_when_the_tier_stays_and_a_reset_tier_is_standard(
    session_factory, source, policy
):
    write(
        source,
        [
            ("dana", slot_event("customer_tier", 7)),  # not even a string
            ("dana", user_event("hello")),
            ("erin", slot_event("customer_tier", "premium")),
            ("erin", slot_event("customer_tier", None)),  # the bot forgot the customer
            ("erin", user_event(ANGRY)),
            ("fay", slot_event("customer_tier", "standard")),  # the default: nothing to store
        ],
    )
    result = make_worker(session_factory, source, policy).process_next_batch()
    assert result is not None and result.tiers == 4 and result.escalated == []
    with session_factory() as s:
        assert s.get(Conversation, "dana").customer_tier == "standard"
        assert s.get(Conversation, "erin").customer_tier == "standard"
        assert s.get(Conversation, "fay") is None
        assert [(r.conversation_id, r.inputs["slot_value"], r.outcome["tier"]) for r in tier_records(s)] == [
            ("dana", "7", "standard"),
            ("erin", "premium", "premium"),
            ("erin", None, "standard"),
        ]
