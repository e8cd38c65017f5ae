"""Escalations: raising them (policy or bot), overriding priority, withdrawing flags, feedback."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from triage import audit
from triage.audit import Actor
from triage.conversations import (
    BOT_STATES,
    HANDOFF_NOTICE,
    OPEN_STATES,
    as_utc,
    flush,
    get_conversation,
    get_escalation,
    new_conversation,
    open_queue,
    policy_input,
    return_to_bot,
)
from triage.db import AuditRecord, Conversation, ConversationState, Escalation, Feedback, User, utcnow
from triage.errors import InvalidTransition, ValidationError
from triage.outbox import enqueue
from triage.policy import Band, Decision, Policy, current_policy

VERDICTS = ("correct", "wrong")


def escalate(
    session: Session,
    conversation_id: str,
    *,
    decision: Decision,
    explanations: list[dict[str, Any]],
    trigger: str,
    actor: Actor,
    model_version: str | None = None,
    source_event_id: int | None = None,
) -> Escalation:
    """Hand the conversation to people: escalation row, queue, pause the bot, tell the customer."""
    conversation = get_conversation(session, conversation_id)
    if conversation.state not in BOT_STATES:
        raise InvalidTransition(f"conversation {conversation_id!r} is already {conversation.state.value}")
    now = utcnow()
    escalation = Escalation(
        conversation_id=conversation_id,
        trigger=trigger,
        priority=decision.priority,
        priority_band=decision.band,
        queue=decision.queue,
        score=float(decision.total),
        factors=decision.factors_as_dicts(),
        explanations=explanations,
        policy_version=decision.policy_version,
        model_version=model_version,
        source_event_id=source_event_id,
        created_at=now,
    )
    session.add(escalation)
    open_queue(conversation, decision, now)
    enqueue(session, conversation_id, "pause")
    enqueue(session, conversation_id, "utter", {"name": HANDOFF_NOTICE})
    flush(session)
    audit.record(
        session,
        actor,
        "escalate",
        conversation_id=conversation_id,
        inputs={
            "trigger": trigger,
            "factors": escalation.factors,
            "explained_message_ids": [e.get("message_id") for e in explanations],
        },
        outcome={
            "escalation_id": escalation.id,
            "priority": decision.priority,
            "band": decision.band,
            "queue": decision.queue,
            "sla_deadline": (now + timedelta(seconds=decision.sla_seconds)).isoformat(),
        },
        versions={"policy": decision.policy_version, "model": model_version},
        at=now,
    )
    return escalation


def request_handoff(
    session: Session,
    conversation_id: str,
    *,
    reason: str,
    intent: str | None,
    actor: Actor,
    policy: Policy | None = None,
) -> Escalation:
    """The bot's explicit hand-off. Idempotent: an already open hand-off is returned as it is."""
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:  # the bot can be faster than the worker that records the conversation
        conversation = new_conversation(conversation_id)
        session.add(conversation)
        flush(session)
    if conversation.state in OPEN_STATES and conversation.escalations:
        return conversation.escalations[-1]
    conversation.human_requested = True
    if intent:
        conversation.latest_intent = intent
    policy = policy or current_policy()
    decision = policy.evaluate(policy_input(conversation), force_escalate=True)
    escalation = escalate(
        session, conversation_id, decision=decision, explanations=[], trigger="bot_request", actor=actor
    )
    audit.record(
        session,
        actor,
        "handoff_request",
        conversation_id=conversation_id,
        inputs={"reason": reason, "intent": intent},
        outcome={"escalation_id": escalation.id},
    )
    return escalation


def set_priority(
    session: Session,
    conversation_id: str,
    *,
    priority: int,
    reason: str,
    actor: Actor,
    policy: Policy | None = None,
) -> Conversation:
    """A person's override of the priority; the band and SLA deadline follow."""
    if isinstance(priority, bool) or not isinstance(priority, int) or not 0 <= priority <= 100:
        raise ValidationError("priority must be an integer from 0 to 100")
    conversation = get_conversation(session, conversation_id)
    if conversation.state not in OPEN_STATES:
        raise InvalidTransition(f"conversation {conversation_id!r} is {conversation.state.value}, not open")
    before, band = _move_priority(conversation, priority, policy or current_policy())
    flush(session)
    audit.record(
        session,
        actor,
        "override_priority",
        conversation_id=conversation_id,
        inputs={"reason": reason, "before": before},
        outcome={"priority": priority, "band": band.name},
    )
    return conversation


def _move_priority(conversation: Conversation, priority: int, policy: Policy) -> tuple[dict[str, Any], Band]:
    """Set the priority and its band; the SLA deadline follows until an agent has replied. Returns the
    priority and band before, for the audit record, and the new band."""
    band = policy.band_for(priority)
    before = {"priority": conversation.priority, "band": conversation.priority_band}
    conversation.priority = priority
    conversation.priority_band = band.name
    if conversation.escalated_at is not None and conversation.first_agent_reply_at is None:
        conversation.sla_deadline = as_utc(conversation.escalated_at) + timedelta(seconds=band.sla_seconds)
    return before, band


def follow_tier(
    session: Session,
    conversation: Conversation,
    *,
    previous_tier: str,
    policy: Policy,
    actor: Actor,
    source_event_id: int | None = None,
) -> bool:
    """Move a conversation waiting for an agent with its customer's new tier: the old tier's points are
    taken off its priority and the new tier's added (band and SLA deadline follow). A priority a person
    set is left alone, and so is a conversation an agent already has. Returns whether it moved."""
    if conversation.state != ConversationState.QUEUED or conversation.priority is None:
        return False
    if priority_overridden(session, conversation):
        return False
    points = policy.tier_points(conversation.customer_tier) - policy.tier_points(previous_tier)
    priority = max(0, min(100, conversation.priority + points))
    if priority == conversation.priority:
        return False
    before, band = _move_priority(conversation, priority, policy)
    audit.record(
        session,
        actor,
        "reprioritise",
        conversation_id=conversation.id,
        inputs={
            "reason": "tier",
            "tier": conversation.customer_tier,
            "previous_tier": previous_tier,
            "source_event_id": source_event_id,
            "before": before,
        },
        outcome={"priority": priority, "band": band.name},
        versions={"policy": policy.version},
    )
    return True


def priority_overridden(session: Session, conversation: Conversation) -> bool:
    """Whether a person set this conversation's priority since it was last escalated."""
    query = select(AuditRecord.id).where(
        AuditRecord.conversation_id == conversation.id, AuditRecord.action == "override_priority"
    )
    if conversation.escalated_at is not None:
        query = query.where(AuditRecord.at >= conversation.escalated_at)
    return session.scalars(query.limit(1)).first() is not None


def unflag(session: Session, escalation_id: int, *, reason: str, actor: Actor) -> Escalation:
    """Withdraw a wrong flag; a conversation still waiting in the queue goes back to the bot."""
    escalation = get_escalation(session, escalation_id)
    if escalation.unflagged:
        raise InvalidTransition(f"escalation {escalation_id} is already unflagged")
    escalation.unflagged = True
    conversation = escalation.conversation
    returned = False
    if conversation.state == ConversationState.QUEUED and conversation.escalations[-1].id == escalation.id:
        # no agent has seen what the customer wrote while it waited: the bot answers the last message
        return_to_bot(session, conversation, ConversationState.BOT, unanswered_since=conversation.queued_at)
        returned = True
    flush(session)
    audit.record(
        session,
        actor,
        "unflag",
        conversation_id=conversation.id,
        inputs={"escalation_id": escalation_id, "reason": reason},
        outcome={"returned_to_bot": returned, "state": conversation.state.value},
    )
    return escalation


def _check_unmarked_words(words: Any) -> list[dict[str, Any]]:
    if not isinstance(words, list):
        raise ValidationError("unmarked_words must be a list")
    checked = []
    for item in words:
        if not isinstance(item, dict) or not {"start", "end", "word"} <= item.keys():
            raise ValidationError("each unmarked word needs start, end and word")
        start, end = item["start"], item["end"]
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end):
            raise ValidationError("unmarked word offsets must be integers with 0 <= start < end")
        checked.append(
            {"message_id": item.get("message_id"), "start": start, "end": end, "word": str(item["word"])}
        )
    return checked


def record_feedback(
    session: Session,
    escalation_id: int,
    *,
    user: User,
    verdict: str,
    unmarked_words: list[dict[str, Any]],
    comment: str | None,
) -> Feedback:
    """Keep a person's verdict on a flag and on the highlighted words."""
    if verdict not in VERDICTS:
        raise ValidationError(f"verdict must be one of {', '.join(VERDICTS)}")
    words = _check_unmarked_words(unmarked_words)
    escalation = get_escalation(session, escalation_id)
    feedback = Feedback(
        escalation_id=escalation_id, user_id=user.id, verdict=verdict, unmarked_words=words, comment=comment
    )
    session.add(feedback)
    escalation.feedback_state = verdict
    flush(session)
    audit.record(
        session,
        Actor("user", user.username, user.id),
        "feedback",
        conversation_id=escalation.conversation_id,
        inputs={"escalation_id": escalation_id, "unmarked_words": words, "comment": comment},
        outcome={"feedback_id": feedback.id, "verdict": verdict},
    )
    return feedback
