"""Escalations: raising them (policy or bot), overriding priority, withdrawing flags, feedback. The
conversation's state changes are the domain's (``triage.domain.lifecycle``); this module stores them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from triage import audit
from triage.audit import Actor
from triage.domain.lifecycle import OPEN_STATES, BandRule, Placement, check_priority
from triage.domain.policy import Decision, Policy
from triage.errors import InvalidTransition, ValidationError
from triage.registry.active import active_model_version, active_policy
from triage.services.feedback import checked_words
from triage.storage.conversations import (
    flush,
    get_conversation,
    get_escalation,
    lifecycle,
    new_conversation,
    policy_input,
    store_effects,
)
from triage.storage.db import Conversation, Escalation, Feedback, User, utcnow

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
    now = utcnow()
    placement = Placement(decision.queue, decision.priority, decision.band, decision.sla_seconds)
    with lifecycle(conversation) as machine:
        effects = machine.escalate(placement, now)
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
    store_effects(session, conversation_id, actor, effects, at=now)
    flush(session)
    conversation.latest_escalation_id = escalation.id
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
            "sla_deadline": conversation.sla_deadline.isoformat() if conversation.sla_deadline else None,
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
    with lifecycle(conversation) as machine:
        machine.request_person()
    if intent:
        conversation.latest_intent = intent
    policy = policy or active_policy(session)
    decision = policy.evaluate(policy_input(conversation), force_escalate=True)
    escalation = escalate(
        session,
        conversation_id,
        decision=decision,
        explanations=[],
        trigger="bot_request",
        actor=actor,
        model_version=active_model_version(session),  # the active pair, as on the worker's escalations
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
    check_priority(priority)
    conversation = get_conversation(session, conversation_id)
    band = (policy or active_policy(session)).band_for(priority)
    with lifecycle(conversation) as machine:
        rule = BandRule(band.name, band.sla_seconds)
        effects = machine.override_priority(priority, rule, utcnow(), reason=reason)
    flush(session)
    store_effects(session, conversation_id, actor, effects)
    return conversation


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
    points = policy.tier_points(conversation.customer_tier) - policy.tier_points(previous_tier)

    def band_for(priority: int) -> BandRule:
        band = policy.band_for(priority)
        return BandRule(band.name, band.sla_seconds)

    inputs = {
        "tier": conversation.customer_tier,
        "previous_tier": previous_tier,
        "source_event_id": source_event_id,
    }
    with lifecycle(conversation) as machine:
        effects = machine.follow_tier(points, band_for, utcnow(), inputs=inputs)
    store_effects(session, conversation.id, actor, effects, versions={"policy": policy.version})
    return bool(effects.audit)


def unflag(session: Session, escalation_id: int, *, reason: str, actor: Actor) -> Escalation:
    """Withdraw a wrong flag; a conversation still waiting in the queue goes back to the bot."""
    escalation = get_escalation(session, escalation_id)
    if escalation.unflagged:
        raise InvalidTransition(f"escalation {escalation_id} is already unflagged")
    escalation.unflagged = True
    conversation = escalation.conversation
    latest = conversation.latest_escalation_id == escalation.id
    with lifecycle(conversation) as machine:
        effects = machine.unflag(is_latest_escalation=latest, now=utcnow())
    returned = bool(effects.commands)
    store_effects(session, conversation.id, actor, effects)
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
    added_words: Sequence[Any] = (),
) -> Feedback:
    """Keep a person's verdict on a flag and on the highlighted words: those that should not have been
    (``unmarked_words``) and those of the customer's messages that should have been (``added_words``,
    checked against the stored text: ``triage.domain.feedback``)."""
    if verdict not in VERDICTS:
        raise ValidationError(f"verdict must be one of {', '.join(VERDICTS)}")
    words = _check_unmarked_words(unmarked_words)
    escalation = get_escalation(session, escalation_id)
    added = checked_words(session, escalation.conversation_id, list(added_words))
    feedback = Feedback(
        escalation_id=escalation_id,
        user_id=user.id,
        verdict=verdict,
        unmarked_words=words,
        added_words=added,
        comment=comment,
    )
    session.add(feedback)
    escalation.feedback_state = verdict
    flush(session)
    audit.record(
        session,
        Actor.of(user),
        "feedback",
        conversation_id=escalation.conversation_id,
        inputs={
            "escalation_id": escalation_id,
            "unmarked_words": words,
            "added_words": added,
            "comment": comment,
        },
        outcome={"feedback_id": feedback.id, "verdict": verdict},
    )
    return feedback
