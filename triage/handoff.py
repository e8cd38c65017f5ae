"""Work on escalated conversations: routing, agents accepting, replying, transferring, resolving,
agent status and the first-reply SLA."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from triage import audit, routing
from triage.audit import Actor
from triage.conversations import (
    OPEN_STATES,
    as_utc,
    conversation_ref,
    flush,
    get_conversation,
    require_owner_or_supervisor,
    return_to_bot,
)
from triage.db import AgentStatus, Conversation, ConversationState, Message, Sender, User, utcnow
from triage.errors import AgentNotFound, InvalidTransition, NotAssignedToYou, ValidationError
from triage.outbox import enqueue
from triage.policy import Policy, current_policy

MAX_REPLY_CHARS = 2000


def _open_counts(session: Session) -> dict[int, int]:
    rows = session.execute(
        select(Conversation.assigned_agent_id, func.count())
        .where(Conversation.state == ConversationState.ASSIGNED, Conversation.assigned_agent_id.is_not(None))
        .group_by(Conversation.assigned_agent_id)
    )
    return {agent_id: count for agent_id, count in rows if agent_id is not None}


def assign_waiting(session: Session, now: datetime) -> list[tuple[str, int]]:
    """Route queued conversations to free agents; return (conversation id, agent id) pairs."""
    queued = list(session.scalars(select(Conversation).where(Conversation.state == ConversationState.QUEUED)))
    if not queued:
        return []
    agents = list(
        session.scalars(select(User).where(User.is_active.is_(True), User.status == AgentStatus.AVAILABLE))
    )
    counts = _open_counts(session)
    slots = [
        routing.AgentSlot(a.id, frozenset(a.skills or []), a.capacity, counts.get(a.id, 0), True)
        for a in agents
    ]
    waiting = [
        routing.WaitingConversation(
            c.id, c.queue or "general", c.priority or 0, as_utc(c.queued_at or c.last_message_at)
        )
        for c in queued
    ]
    by_id = {c.id: c for c in queued}
    plan = routing.plan_assignments(waiting, slots)
    for item in plan:
        conversation = by_id[item.conversation_id]
        conversation.state = ConversationState.ASSIGNED
        conversation.assigned_agent_id = item.agent_id
        conversation.assigned_at = now
        audit.record(
            session,
            audit.ROUTER,
            "assign",
            conversation_id=conversation.id,
            inputs={"queue": conversation.queue, "priority": conversation.priority},
            outcome={"agent_id": item.agent_id},
            at=now,
        )
    flush(session)
    return [(item.conversation_id, item.agent_id) for item in plan]


def accept(session: Session, conversation_id: str, agent: User) -> Conversation:
    """An agent takes a queued conversation, or confirms one routed to them."""
    conversation = get_conversation(session, conversation_id)
    if conversation.state not in OPEN_STATES:
        raise InvalidTransition(
            f"conversation {conversation_id!r} is {conversation.state.value}, not waiting"
        )
    if conversation.state == ConversationState.ASSIGNED and conversation.assigned_agent_id != agent.id:
        raise NotAssignedToYou(f"conversation {conversation_id!r} is assigned to another agent")
    if conversation.state == ConversationState.QUEUED:
        conversation.state = ConversationState.ASSIGNED
        conversation.assigned_agent_id = agent.id
        conversation.assigned_at = utcnow()
    flush(session)
    audit.record(
        session,
        Actor("user", agent.username, agent.id),
        "accept",
        conversation_id=conversation_id,
        outcome={"agent_id": agent.id},
    )
    return conversation


def agent_reply(session: Session, conversation_id: str, agent: User, text: str) -> Message:
    """Store the agent's reply (redacted) and queue its delivery to the customer's channel."""
    from triage.redaction import redact  # presidio is only needed when replies are written

    text = text.strip() if isinstance(text, str) else ""
    if not text:
        raise ValidationError("the reply is empty")
    if len(text) > MAX_REPLY_CHARS:
        raise ValidationError(f"the reply is longer than {MAX_REPLY_CHARS} characters")
    conversation = get_conversation(session, conversation_id)
    if conversation.state != ConversationState.ASSIGNED:
        raise InvalidTransition(
            f"conversation {conversation_id!r} is {conversation.state.value}, not assigned"
        )
    actor = Actor("user", agent.username, agent.id)
    require_owner_or_supervisor(session, conversation, actor)
    now = utcnow()
    message = Message(
        conversation_id=conversation_id,
        sender=Sender.AGENT,
        text=redact(text),
        agent_id=agent.id,
        created_at=now,
        delivered=False,
    )
    session.add(message)
    if conversation.first_agent_reply_at is None:
        conversation.first_agent_reply_at = now
    conversation.last_message_at = now
    flush(session)
    enqueue(session, conversation_id, "say", {"text": text, "message_id": message.id})
    audit.record(
        session, actor, "reply", conversation_id=conversation_id, outcome={"message_id": message.id}, at=now
    )
    return message


def transfer(
    session: Session,
    conversation_id: str,
    *,
    actor: Actor,
    to_queue: str | None = None,
    to_agent_id: int | None = None,
    reason: str,
    policy: Policy | None = None,
) -> Conversation:
    """Move an open conversation to another queue (it waits there) or straight to an agent."""
    if (to_queue is None) == (to_agent_id is None):
        raise ValidationError("give exactly one of to_queue and to_agent_id")
    conversation = get_conversation(session, conversation_id)
    if conversation.state not in OPEN_STATES:
        raise InvalidTransition(f"conversation {conversation_id!r} is {conversation.state.value}, not open")
    require_owner_or_supervisor(session, conversation, actor)
    before = conversation_ref(conversation) | {"agent_id": conversation.assigned_agent_id}
    now = utcnow()
    if to_queue is not None:
        known = (policy or current_policy()).config.queue_names
        if to_queue not in known:
            raise ValidationError(f"unknown queue {to_queue!r}; known: {', '.join(known)}")
        conversation.queue = to_queue
        conversation.state = ConversationState.QUEUED
        conversation.assigned_agent_id = None
        conversation.queued_at = now
    else:
        target = session.get(User, to_agent_id)
        if target is None or not target.is_active:
            raise AgentNotFound(f"agent {to_agent_id} not found")
        conversation.state = ConversationState.ASSIGNED
        conversation.assigned_agent_id = target.id
        conversation.assigned_at = now
    flush(session)
    audit.record(
        session,
        actor,
        "transfer",
        conversation_id=conversation_id,
        inputs={"reason": reason, "to_queue": to_queue, "to_agent_id": to_agent_id, "before": before},
        outcome=conversation_ref(conversation) | {"agent_id": conversation.assigned_agent_id},
        at=now,
    )
    return conversation


def resolve(session: Session, conversation_id: str, *, actor: Actor) -> Conversation:
    """End the hand-off: the bot answers again and the customer is told."""
    conversation = get_conversation(session, conversation_id)
    if conversation.state not in OPEN_STATES:
        raise InvalidTransition(f"conversation {conversation_id!r} is {conversation.state.value}, not open")
    require_owner_or_supervisor(session, conversation, actor)
    return_to_bot(session, conversation, ConversationState.RESOLVED)
    flush(session)
    audit.record(
        session,
        actor,
        "resolve",
        conversation_id=conversation_id,
        outcome={"state": conversation.state.value},
    )
    return conversation


def set_agent_status(session: Session, agent: User, status: AgentStatus, *, actor: Actor) -> list[str]:
    """Change an agent's status; going offline puts their open conversations back in the queue."""
    status = AgentStatus(status)
    if session.get(User, agent.id) is None:
        raise AgentNotFound(f"agent {agent.id} not found")
    before = agent.status
    agent.status = status
    requeued: list[str] = []
    if status == AgentStatus.OFFLINE:
        now = utcnow()
        owned = session.scalars(
            select(Conversation).where(
                Conversation.assigned_agent_id == agent.id, Conversation.state == ConversationState.ASSIGNED
            )
        )
        for conversation in owned:
            conversation.state = ConversationState.QUEUED
            conversation.assigned_agent_id = None
            conversation.queued_at = now
            requeued.append(conversation.id)
            audit.record(
                session,
                actor,
                "requeue",
                conversation_id=conversation.id,
                inputs={"agent_id": agent.id, "reason": "agent offline"},
                at=now,
            )
    flush(session)
    audit.record(
        session,
        actor,
        "agent_status",
        inputs={"agent_id": agent.id, "before": before.value},
        outcome={"status": status.value, "requeued": requeued},
    )
    return requeued


def check_sla(session: Session, now: datetime) -> list[str]:
    """Mark open conversations whose first agent reply is overdue; return the newly breached ids."""
    overdue = session.scalars(
        select(Conversation).where(
            Conversation.state.in_(OPEN_STATES),
            Conversation.first_agent_reply_at.is_(None),
            Conversation.sla_breached.is_(False),
            Conversation.sla_deadline.is_not(None),
            Conversation.sla_deadline < now,
        )
    )
    breached = []
    for conversation in overdue:
        conversation.sla_breached = True
        breached.append(conversation.id)
        audit.record(
            session,
            audit.SLA_MONITOR,
            "sla_breach",
            conversation_id=conversation.id,
            inputs={
                "deadline": conversation.sla_deadline.isoformat() if conversation.sla_deadline else None,
                "band": conversation.priority_band,
            },
            outcome={
                "state": conversation.state.value,
                "queue": conversation.queue,
                "agent_id": conversation.assigned_agent_id,
            },
            at=now,
        )
    flush(session)
    return breached
