"""Conversation helpers shared by the triage services: lookups, state sets, ownership, time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from triage.audit import Actor
from triage.db import Conversation, ConversationState, Escalation, Role, User, utcnow
from triage.errors import ConversationNotFound, EscalationNotFound, NotAssignedToYou, StaleUpdate
from triage.outbox import enqueue
from triage.policy import DEFAULT_TIER, Decision, PolicyInput

HANDOFF_NOTICE = "utter_handoff_notice"
HANDOFF_RESUMED = "utter_handoff_resumed"
OPEN_STATES = (ConversationState.QUEUED, ConversationState.ASSIGNED)
BOT_STATES = (ConversationState.BOT, ConversationState.RESOLVED)


def as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything Clearline stores is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def flush(session: Session) -> None:
    try:
        session.flush()
    except StaleDataError as exc:
        raise StaleUpdate("the conversation was changed by someone else; reload and retry") from exc


def new_conversation(conversation_id: str, at: datetime | None = None) -> Conversation:
    """A conversation with its defaults set now (column defaults only apply at INSERT)."""
    at = at or utcnow()
    return Conversation(
        id=conversation_id,
        state=ConversationState.BOT,
        customer_tier=DEFAULT_TIER,
        fallback_count=0,
        human_requested=False,
        stress_trajectory=[],
        started_at=at,
        last_message_at=at,
        sla_breached=False,
    )


def get_conversation(session: Session, conversation_id: str) -> Conversation:
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise ConversationNotFound(f"conversation {conversation_id!r} not found")
    return conversation


def get_escalation(session: Session, escalation_id: int) -> Escalation:
    escalation = session.get(Escalation, escalation_id)
    if escalation is None:
        raise EscalationNotFound(f"escalation {escalation_id} not found")
    return escalation


def is_supervisor(user: User | None) -> bool:
    return user is not None and user.role in (Role.SUPERVISOR, Role.ADMIN)


def require_owner_or_supervisor(session: Session, conversation: Conversation, actor: Actor) -> None:
    """Agents act on their own conversations only; supervisors, admins and the system on any."""
    if actor.kind != "user":
        return
    user = session.get(User, actor.user_id) if actor.user_id is not None else None
    if is_supervisor(user):
        return
    if conversation.assigned_agent_id is None or conversation.assigned_agent_id != actor.user_id:
        raise NotAssignedToYou(f"conversation {conversation.id!r} is not assigned to you")


def conversation_ref(conversation: Conversation) -> dict[str, Any]:
    return {"state": conversation.state.value, "queue": conversation.queue, "priority": conversation.priority}


def open_queue(conversation: Conversation, decision: Decision, now: datetime) -> None:
    conversation.state = ConversationState.QUEUED
    conversation.queue = decision.queue
    conversation.priority = decision.priority
    conversation.priority_band = decision.band
    conversation.assigned_agent_id = None
    conversation.escalated_at = now
    conversation.queued_at = now
    conversation.assigned_at = None
    conversation.first_agent_reply_at = None
    conversation.sla_deadline = now + timedelta(seconds=decision.sla_seconds)
    conversation.sla_breached = False
    conversation.resolved_at = None


def policy_input(conversation: Conversation, now: datetime | None = None) -> PolicyInput:
    """What the policy sees of a stored conversation."""
    trajectory = [float(s) for s in conversation.stress_trajectory or []]
    started = conversation.started_at
    elapsed = ((now or utcnow()) - as_utc(started)).total_seconds() / 60 if started is not None else 0.0
    return PolicyInput(
        latest_stress=trajectory[-1] if trajectory else None,
        stress_trajectory=trajectory,
        fallback_count=conversation.fallback_count,
        human_requested=conversation.human_requested,
        intent=conversation.latest_intent,
        customer_tier=conversation.customer_tier,
        minutes_elapsed=max(0.0, elapsed),
    )


def return_to_bot(
    session: Session,
    conversation: Conversation,
    state: ConversationState,
    unanswered_since: datetime | None = None,
) -> None:
    """Resume the bot and tell the customer. The bot then answers the customer's last message if it
    came after ``unanswered_since`` (default: now), i.e. no agent saw it: one sent between this commit
    and the resume reaching Rasa is logged by the paused bot but answered by nobody otherwise."""
    now = utcnow()
    conversation.state = state
    conversation.resolved_at = now
    conversation.human_requested = False
    conversation.fallback_count = 0
    since = as_utc(unanswered_since) if unanswered_since is not None else now
    enqueue(session, conversation.id, "resume")
    enqueue(session, conversation.id, "utter", {"name": HANDOFF_RESUMED})
    enqueue(session, conversation.id, "answer_pending", {"since": since.timestamp()})
