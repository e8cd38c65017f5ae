"""The escalation lifecycle on a real SQLite database: transitions, errors, audit and outbox rows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from triage import services
from triage.audit import WORKER, Actor
from triage.domain.policy import PolicyInput
from triage.errors import (
    AgentNotFound,
    CapacityExceeded,
    ConversationNotFound,
    EscalationNotFound,
    InvalidTransition,
    NotAssignedToYou,
    StaleUpdate,
    ValidationError,
)
from triage.sealing import unseal
from triage.settings import get_settings
from triage.storage.db import (
    AgentStatus,
    AuditRecord,
    Conversation,
    ConversationState,
    Escalation,
    Feedback,
    OutboxCommand,
    Role,
    Sender,
    utcnow,
)

from .conftest import add_user


def actions(session):
    return session.scalars(select(AuditRecord.action).order_by(AuditRecord.id)).all()


def outbox(session):
    return session.execute(select(OutboxCommand.kind, OutboxCommand.payload).order_by(OutboxCommand.id)).all()


def as_user(user):
    return Actor("user", user.username, user.id)


@pytest.fixture
def escalated(session, policy):
    """A conversation escalated by the policy into the cards queue."""
    session.add(services.new_conversation("c1"))
    session.flush()
    decision = policy.evaluate(PolicyInput(0.95, [0.2, 0.95], intent="compromised_card"))
    escalation = services.escalate(
        session,
        "c1",
        decision=decision,
        explanations=[{"message_id": 1}],
        trigger="policy",
        actor=WORKER,
        model_version="m@1",
        source_event_id=7,
    )
    return escalation


def test_escalate_queues_pauses_and_tells_the_customer(session, escalated):
    conv = session.get(Conversation, "c1")
    assert conv.state == ConversationState.QUEUED and conv.queue == "cards" and conv.priority_band == "P1"
    assert services.as_utc(conv.sla_deadline) - services.as_utc(conv.escalated_at) == timedelta(seconds=120)
    assert escalated.source_event_id == 7 and escalated.model_version == "m@1"
    assert outbox(session) == [
        ("pause", {}),
        ("utter", {"name": "utter_handoff_notice", "handoff": "waiting"}),
    ]
    record = session.scalars(select(AuditRecord)).one()
    assert record.action == "escalate" and record.actor == "worker" and record.versions["model"] == "m@1"
    assert record.outcome["escalation_id"] == escalated.id and record.inputs["explained_message_ids"] == [1]


def test_escalating_twice_is_refused(session, escalated, policy):
    with pytest.raises(InvalidTransition):
        services.escalate(
            session,
            "c1",
            decision=policy.evaluate(PolicyInput(0.9)),
            explanations=[],
            trigger="policy",
            actor=WORKER,
        )
    with pytest.raises(ConversationNotFound):
        services.escalate(
            session,
            "nope",
            decision=policy.evaluate(PolicyInput(0.9)),
            explanations=[],
            trigger="policy",
            actor=WORKER,
        )


def test_request_handoff_creates_escalates_and_is_idempotent(session, policy):
    bot = Actor.system("bot")
    first = services.request_handoff(
        session, "new-conv", reason="asked", intent="request_refund", actor=bot, policy=policy
    )
    conv = session.get(Conversation, "new-conv")
    assert first.trigger == "bot_request" and conv.state == ConversationState.QUEUED
    assert conv.queue == "refunds" and conv.human_requested and first.priority == 60
    again = services.request_handoff(
        session, "new-conv", reason="asked again", intent=None, actor=bot, policy=policy
    )
    assert (
        again.id == first.id
        and session.scalar(select(Escalation.id).where(Escalation.id != first.id)) is None
    )
    assert actions(session) == ["escalate", "handoff_request"]


def test_assign_waiting_routes_by_skill_and_capacity(session, escalated):
    add_user(session, "refunder", skills=("refunds",))
    carl = add_user(session, "carl", skills=("cards",), capacity=1)
    assert services.assign_waiting(session, utcnow()) == [("c1", carl.id)]
    conv = session.get(Conversation, "c1")
    assert conv.state == ConversationState.ASSIGNED and conv.assigned_agent_id == carl.id
    assert actions(session)[-1] == "assign"
    assert services.assign_waiting(session, utcnow()) == []


def test_a_tier_change_moves_only_a_conversation_still_waiting(session, escalated, policy):
    conv = session.get(Conversation, "c1")
    conv.priority, conv.customer_tier = 50, "vip"  # the worker stored the new tier
    assert services.follow_tier(session, conv, previous_tier="standard", policy=policy, actor=WORKER)
    raised = 50 + policy.tier_points("vip")
    assert policy.tier_points("vip") > 0 and (conv.priority, conv.priority_band) == (
        raised,
        policy.band_for(raised).name,
    )
    carl = add_user(session, "carl", skills=("cards",), capacity=1)
    assert services.assign_waiting(session, utcnow()) == [("c1", carl.id)]
    conv.customer_tier = "standard"
    assert not services.follow_tier(session, conv, previous_tier="vip", policy=policy, actor=WORKER)
    assert conv.priority == raised  # an agent has it: the queue no longer matters
    assert actions(session).count("reprioritise") == 1


def test_accept_from_the_queue_and_ownership(session, escalated):
    ann, bob = add_user(session, "ann"), add_user(session, "bob")
    services.accept(session, "c1", ann)
    assert session.get(Conversation, "c1").assigned_agent_id == ann.id
    with pytest.raises(NotAssignedToYou):
        services.accept(session, "c1", bob)
    services.accept(session, "c1", ann)  # confirming one's own conversation is fine
    services.resolve(session, "c1", actor=as_user(ann), reason="customer left before we answered")
    with pytest.raises(InvalidTransition):
        services.accept(session, "c1", ann)


def test_resolving_a_conversation_nobody_answered_needs_a_reason(session, escalated):
    ann = add_user(session, "ann")
    services.accept(session, "c1", ann)
    for missing in (None, "", "   "):
        with pytest.raises(ValidationError, match="needs a reason"):
            services.resolve(session, "c1", actor=as_user(ann), reason=missing)
    assert session.get(Conversation, "c1").state == ConversationState.ASSIGNED  # nothing changed
    services.resolve(session, "c1", actor=as_user(ann), reason="duplicate of another chat")
    resolved = session.scalars(select(AuditRecord).where(AuditRecord.action == "resolve")).one()
    assert resolved.inputs == {"reason": "duplicate of another chat"}


def test_accept_over_capacity_is_refused_and_a_supervisor_reason_is_audited(session, policy):
    ann = add_user(session, "ann")
    ann.capacity = 1
    sam = add_user(session, "sam")
    sam.role = Role.SUPERVISOR
    for cid in ("c1", "c2"):
        session.add(services.new_conversation(cid))
        session.flush()
        services.escalate(
            session,
            cid,
            decision=policy.evaluate(
                services.policy_input(session.get(Conversation, cid)), force_escalate=True
            ),
            explanations=[],
            trigger="test",
            actor=WORKER,
        )
    services.accept(session, "c1", ann)
    with pytest.raises(CapacityExceeded, match="1/1"):
        services.accept(session, "c2", ann)
    with pytest.raises(ValidationError, match="only a supervisor"):
        # only a person with a supervisor's role can confirm it (here: the system, which has none)
        services.transfer(
            session, "c2", actor=WORKER, to_agent_id=ann.id, reason="x", over_capacity_reason="y"
        )
    assert session.get(Conversation, "c2").state == ConversationState.QUEUED
    services.transfer(
        session, "c2", actor=as_user(sam), to_agent_id=ann.id, reason="VIP", over_capacity_reason="knows them"
    )
    assert session.get(Conversation, "c2").assigned_agent_id == ann.id
    moved = session.scalars(select(AuditRecord).where(AuditRecord.action == "transfer")).one()
    assert moved.inputs["over_capacity"] == {"reason": "knows them", "open": 1, "capacity": 1}


def test_agent_reply_is_redacted_stored_and_queued_for_delivery(session, escalated):
    ann = add_user(session, "ann")
    services.accept(session, "c1", ann)
    message = services.agent_reply(session, "c1", ann, "  Email me at ann@example.com  ")
    assert (
        message.sender == Sender.AGENT
        and message.text == "Email me at <EMAIL>"
        and message.delivered is False
    )
    assert session.get(Conversation, "c1").first_agent_reply_at is not None
    kind, payload = outbox(session)[-1]
    assert kind == "say" and payload["message_id"] == message.id
    # queued sealed: only the relay opens it, to deliver the reply as the agent typed it
    assert "ann@example.com" not in payload["text"]
    assert unseal(payload["text"], get_settings().pii_key) == "Email me at ann@example.com"
    assert actions(session)[-1] == "reply"


def test_agent_reply_errors(session, escalated):
    ann, bob = add_user(session, "ann"), add_user(session, "bob")
    with pytest.raises(InvalidTransition):  # still queued
        services.agent_reply(session, "c1", ann, "hello")
    services.accept(session, "c1", ann)
    with pytest.raises(ValidationError):
        services.agent_reply(session, "c1", ann, "   ")
    with pytest.raises(ValidationError):
        services.agent_reply(session, "c1", ann, "x" * 2001)
    with pytest.raises(NotAssignedToYou):
        services.agent_reply(session, "c1", bob, "hello")
    boss = add_user(session, "boss", role=Role.SUPERVISOR)
    services.agent_reply(session, "c1", boss, "a supervisor may step in")
    with pytest.raises(ConversationNotFound):
        services.agent_reply(session, "missing", ann, "hello")


def test_transfer_to_a_queue_or_an_agent(session, escalated, policy):
    ann, bob = add_user(session, "ann"), add_user(session, "bob", skills=("refunds",))
    services.accept(session, "c1", ann)
    conv = services.transfer(
        session, "c1", actor=as_user(ann), to_queue="refunds", reason="refund", policy=policy
    )
    assert (
        conv.state == ConversationState.QUEUED and conv.queue == "refunds" and conv.assigned_agent_id is None
    )
    conv = services.transfer(session, "c1", actor=WORKER, to_agent_id=bob.id, reason="direct", policy=policy)
    assert conv.state == ConversationState.ASSIGNED and conv.assigned_agent_id == bob.id
    transfer = session.scalars(select(AuditRecord).where(AuditRecord.action == "transfer")).first()
    assert transfer.inputs["before"]["agent_id"] == ann.id and transfer.inputs["reason"] == "refund"
    with pytest.raises(NotAssignedToYou):
        services.transfer(session, "c1", actor=as_user(ann), to_queue="cards", reason="x", policy=policy)
    with pytest.raises(ValidationError, match="unknown queue"):
        services.transfer(session, "c1", actor=WORKER, to_queue="nowhere", reason="x", policy=policy)
    with pytest.raises(ValidationError, match="exactly one"):
        services.transfer(session, "c1", actor=WORKER, reason="x", policy=policy)
    with pytest.raises(AgentNotFound):
        services.transfer(session, "c1", actor=WORKER, to_agent_id=999, reason="x", policy=policy)


def test_resolve_resumes_the_bot_and_next_customer_message_can_escalate_again(session, escalated, policy):
    ann = add_user(session, "ann")
    services.accept(session, "c1", ann)
    services.agent_reply(session, "c1", ann, "Sorted, your refund is on its way.")
    conv = services.resolve(session, "c1", actor=as_user(ann))
    assert conv.state == ConversationState.RESOLVED and conv.resolved_at is not None
    # resume, tell the customer, then answer a message sent in the moment before the resume
    since = services.as_utc(conv.resolved_at).timestamp()
    assert outbox(session)[-4:] == [
        ("resume", {}),
        ("utter", {"name": "utter_handoff_resumed", "handoff": "ended"}),
        ("answer_pending", {"since": since}),
        # Ann answered: the customer is asked to rate it, and the bot keeps what the question is about
        (
            "utter",
            {
                "name": "utter_ask_csat",
                "optional": True,
                "slots": {"csat_asked": f"escalation:{conv.latest_escalation_id}"},
            },
        ),
    ]
    with pytest.raises(InvalidTransition):
        services.resolve(session, "c1", actor=as_user(ann))
    decision = policy.evaluate(PolicyInput(0.99, [0.99]), force_escalate=True)
    second = services.escalate(
        session, "c1", decision=decision, explanations=[], trigger="policy", actor=WORKER
    )
    assert second.id != escalated.id and session.get(Conversation, "c1").state == ConversationState.QUEUED


def test_set_priority_recomputes_band_and_deadline(session, escalated, policy):
    boss = add_user(session, "boss", role=Role.SUPERVISOR)
    conv = services.set_priority(
        session, "c1", priority=30, reason="calm now", actor=as_user(boss), policy=policy
    )
    assert conv.priority_band == "P4"
    assert services.as_utc(conv.sla_deadline) - services.as_utc(conv.escalated_at) == timedelta(seconds=1200)
    record = session.scalars(select(AuditRecord).where(AuditRecord.action == "override_priority")).one()
    assert record.inputs["before"] == {"priority": 100, "band": "P1"} and record.outcome["band"] == "P4"
    for bad in (-1, 101, True, "50"):
        with pytest.raises(ValidationError):
            services.set_priority(session, "c1", priority=bad, reason="x", actor=WORKER, policy=policy)


def test_unflag_returns_a_waiting_conversation_to_the_bot(session, escalated):
    boss = add_user(session, "boss", role=Role.SUPERVISOR)
    services.unflag(session, escalated.id, reason="sarcasm", actor=as_user(boss))
    conv = session.get(Conversation, "c1")
    assert escalated.unflagged and conv.state == ConversationState.BOT
    # nobody answered what the customer wrote while waiting: the bot answers messages since the queueing
    queued = services.as_utc(conv.queued_at).timestamp()
    assert outbox(session)[-3:] == [
        ("resume", {}),
        ("utter", {"name": "utter_handoff_resumed", "handoff": "ended"}),
        ("answer_pending", {"since": queued}),
    ]
    with pytest.raises(InvalidTransition):
        services.unflag(session, escalated.id, reason="again", actor=as_user(boss))
    with pytest.raises(EscalationNotFound):
        services.unflag(session, 999, reason="x", actor=as_user(boss))


def test_record_feedback_keeps_verdict_and_words(session, escalated):
    ann = add_user(session, "ann")
    words = [{"message_id": 1, "start": 0, "end": 4, "word": "this"}]
    feedback = services.record_feedback(
        session, escalated.id, user=ann, verdict="wrong", unmarked_words=words, comment="not stressed"
    )
    assert session.get(Feedback, feedback.id).unmarked_words == words and escalated.feedback_state == "wrong"
    assert actions(session)[-1] == "feedback"
    with pytest.raises(ValidationError):
        services.record_feedback(
            session, escalated.id, user=ann, verdict="maybe", unmarked_words=[], comment=None
        )
    with pytest.raises(ValidationError):
        services.record_feedback(
            session,
            escalated.id,
            user=ann,
            verdict="wrong",
            unmarked_words=[{"start": 5, "end": 2, "word": "x"}],
            comment=None,
        )
    with pytest.raises(EscalationNotFound):
        services.record_feedback(session, 999, user=ann, verdict="correct", unmarked_words=[], comment=None)


def test_agent_going_offline_requeues_their_conversations(session, escalated):
    ann = add_user(session, "ann")
    services.accept(session, "c1", ann)
    assert services.set_agent_status(session, ann, AgentStatus.AWAY, actor=as_user(ann)) == []
    assert session.get(Conversation, "c1").state == ConversationState.ASSIGNED
    assert services.set_agent_status(session, ann, AgentStatus.OFFLINE, actor=as_user(ann)) == ["c1"]
    conv = session.get(Conversation, "c1")
    assert conv.state == ConversationState.QUEUED and conv.assigned_agent_id is None
    # the supervisors are alerted: her customer waits again
    assert actions(session)[-3:] == ["requeue", "agent_status", "alert"]
    with pytest.raises(ValueError):
        services.set_agent_status(session, ann, "sleeping", actor=as_user(ann))


def test_check_sla_flags_overdue_first_replies_once(session, escalated):
    conv = session.get(Conversation, "c1")
    later = services.as_utc(conv.sla_deadline) + timedelta(seconds=1)
    assert services.check_sla(session, later - timedelta(seconds=5)) == []
    assert services.check_sla(session, later) == ["c1"]
    assert services.check_sla(session, later) == []
    assert conv.sla_breached and actions(session)[-1] == "sla_breach"


def test_sla_stops_counting_after_the_first_agent_reply(session, escalated):
    ann = add_user(session, "ann")
    services.accept(session, "c1", ann)
    services.agent_reply(session, "c1", ann, "hello, I am here")
    assert services.check_sla(session, utcnow() + timedelta(hours=1)) == []


def test_concurrent_edit_raises_stale_update(session, escalated, policy, tmp_path):
    from triage.storage.db import make_engine, make_session_factory

    other = make_session_factory(make_engine(f"sqlite:///{tmp_path / 'clearline.db'}"))()
    session.commit()
    mine = session.get(Conversation, "c1")
    theirs = other.get(Conversation, "c1")
    theirs.priority = 10
    other.commit()
    other.close()
    assert mine.priority == 100  # this session still holds the version it read
    with pytest.raises(StaleUpdate):
        services.set_priority(session, "c1", priority=20, reason="x", actor=WORKER, policy=policy)
