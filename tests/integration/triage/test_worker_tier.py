"""The customer tier: Rasa's `customer_tier` slot events, read by the worker from a real SQLite events
table, stored on the conversation (SQLite and PostgreSQL) in the batch's transaction, and weighed by the
policy (pinned: premium +10, vip +15; "I am angry" scores 0.91 -> stress +45, below the escalation
threshold 50 on its own)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from structlog.testing import capture_logs

from tests.postgres import temporary_schema
from tests.unit.triage.conftest import add_user
from tests.unit.triage.fakes import FakeScorer
from triage import services
from triage.audit import Actor
from triage.benchmarks.rasa_events import action_event, slot_event, user_event
from triage.storage.db import AuditRecord, ConsumerOffset, Conversation, Escalation, Role, User, utcnow
from triage.storage.migrate import upgrade

from .test_worker import make_worker, write

ANGRY = "I am angry"  # card_arrival: not an urgent intent


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def clearline_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Clearline's database, migrated: SQLite, and PostgreSQL in a schema of its own (dropped after)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'clearline.db'}"
        upgrade(url)
        yield url
        return
    with temporary_schema("tier") as url:
        upgrade(url)
        yield url


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


def as_user(user: User) -> Actor:
    return Actor("user", user.username, user.id)


def reprioritise_records(session) -> list[AuditRecord]:
    query = select(AuditRecord).where(AuditRecord.action == "reprioritise").order_by(AuditRecord.id)
    return list(session.scalars(query))


def angry_customers(source, tier: str, *senders: str) -> None:
    """Each sender gets ``tier`` from the bot, then says they are angry."""
    write(source, [(s, e) for s in senders for e in (slot_event("customer_tier", tier), user_event(ANGRY))])


def test_a_waiting_customer_moves_up_the_queue_when_their_tier_rises(session_factory, source, policy):
    """Two premium customers wait with the same priority; the one who turns out to be vip is served first."""
    angry_customers(source, "premium", "gia", "hal")
    worker = make_worker(session_factory, source, policy)
    result = worker.process_next_batch()
    assert result is not None and result.escalated == ["gia", "hal"] and worker.route_once() == []
    with session_factory() as s:
        assert [s.get(Conversation, c).priority for c in ("gia", "hal")] == [55, 55]  # +45 stress, +10 tier
    write(source, [("hal", slot_event("customer_tier", "vip"))])
    assert worker.process_next_batch() is not None
    with session_factory() as s:
        hal = s.get(Conversation, "hal")
        assert (hal.priority, hal.priority_band, hal.customer_tier) == (
            60,
            "P2",
            "vip",
        )  # premium 10 -> vip 15
        assert services.as_utc(hal.sla_deadline) - services.as_utc(hal.escalated_at) == timedelta(seconds=300)
        assert s.get(Conversation, "gia").priority == 55
        (record,) = reprioritise_records(s)
        assert record.actor == "worker" and record.conversation_id == "hal"
        assert record.inputs["before"] == {"priority": 55, "band": "P3"}
        assert (record.inputs["tier"], record.inputs["previous_tier"]) == ("vip", "premium")
        assert record.outcome == {"priority": 60, "band": "P2"}
        # one free agent: the vip customer, though they escalated second, is served first
        add_user(s, "ann", skills=("cards", "general"), capacity=1)
        assert services.assign_waiting(s, utcnow()) == [("hal", s.scalars(select(User.id)).one())]


def test_a_forgotten_customer_loses_the_tier_points_but_a_persons_priority_stays(
    session_factory, source, policy
):
    angry_customers(source, "vip", "ida", "jon")
    worker = make_worker(session_factory, source, policy)
    assert worker.process_next_batch() is not None
    with session_factory() as s, s.begin():
        boss = add_user(s, "boss", role=Role.SUPERVISOR)
        services.set_priority(
            s, "jon", priority=90, reason="complained twice", actor=as_user(boss), policy=policy
        )
    write(source, [("ida", slot_event("customer_tier", None)), ("jon", slot_event("customer_tier", None))])
    assert worker.process_next_batch() is not None
    with session_factory() as s:
        assert (s.get(Conversation, "ida").priority, s.get(Conversation, "ida").customer_tier) == (
            45,
            "standard",
        )
        assert (s.get(Conversation, "jon").priority, s.get(Conversation, "jon").customer_tier) == (
            90,
            "standard",
        )
        assert [r.conversation_id for r in reprioritise_records(s)] == ["ida"]
