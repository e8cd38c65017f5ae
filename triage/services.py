"""The escalation lifecycle, used by the worker and the api.

Every function takes a ``Session`` and never commits: the caller's unit of work commits the business
rows, the audit records and the outbox commands together. Errors are the domain exceptions of
``triage.errors``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from triage import audit, routing
from triage.audit import Actor
from triage.db import (
    AgentStatus,
    Conversation,
    ConversationState,
    Escalation,
    Feedback,
    Message,
    Role,
    Sender,
    User,
    utcnow,
)
from triage.errors import (
    AgentNotFound,
    ConversationNotFound,
    EscalationNotFound,
    InvalidTransition,
    NotAssignedToYou,
    StaleUpdate,
    ValidationError,
)
from triage.outbox import enqueue
from triage.policy import Decision, Policy, PolicyInput, current_policy

MAX_REPLY_CHARS = 2000
HANDOFF_NOTICE = "utter_handoff_notice"
HANDOFF_RESUMED = "utter_handoff_resumed"
OPEN_STATES = (ConversationState.QUEUED, ConversationState.ASSIGNED)
BOT_STATES = (ConversationState.BOT, ConversationState.RESOLVED)
VERDICTS = ("correct", "wrong")


def as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything Clearline stores is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _flush(session: Session) -> None:
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
        customer_tier="standard",
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


def _get_escalation(session: Session, escalation_id: int) -> Escalation:
    escalation = session.get(Escalation, escalation_id)
    if escalation is None:
        raise EscalationNotFound(f"escalation {escalation_id} not found")
    return escalation


def _is_supervisor(user: User | None) -> bool:
    return user is not None and user.role in (Role.SUPERVISOR, Role.ADMIN)


def _require_owner_or_supervisor(session: Session, conversation: Conversation, actor: Actor) -> None:
    """Agents act on their own conversations only; supervisors, admins and the system on any."""
    if actor.kind != "user":
        return
    user = session.get(User, actor.user_id) if actor.user_id is not None else None
    if _is_supervisor(user):
        return
    if conversation.assigned_agent_id is None or conversation.assigned_agent_id != actor.user_id:
        raise NotAssignedToYou(f"conversation {conversation.id!r} is not assigned to you")


def _conversation_ref(conversation: Conversation) -> dict[str, Any]:
    return {"state": conversation.state.value, "queue": conversation.queue, "priority": conversation.priority}


def _open_queue(conversation: Conversation, decision: Decision, now: datetime) -> None:
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
    _open_queue(conversation, decision, now)
    enqueue(session, conversation_id, "pause")
    enqueue(session, conversation_id, "utter", {"name": HANDOFF_NOTICE})
    _flush(session)
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
        _flush(session)
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
    _flush(session)
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
    _flush(session)
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
    _require_owner_or_supervisor(session, conversation, actor)
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
    _flush(session)
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
    _require_owner_or_supervisor(session, conversation, actor)
    before = _conversation_ref(conversation) | {"agent_id": conversation.assigned_agent_id}
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
    _flush(session)
    audit.record(
        session,
        actor,
        "transfer",
        conversation_id=conversation_id,
        inputs={"reason": reason, "to_queue": to_queue, "to_agent_id": to_agent_id, "before": before},
        outcome=_conversation_ref(conversation) | {"agent_id": conversation.assigned_agent_id},
        at=now,
    )
    return conversation


def resolve(session: Session, conversation_id: str, *, actor: Actor) -> Conversation:
    """End the hand-off: the bot answers again and the customer is told."""
    conversation = get_conversation(session, conversation_id)
    if conversation.state not in OPEN_STATES:
        raise InvalidTransition(f"conversation {conversation_id!r} is {conversation.state.value}, not open")
    _require_owner_or_supervisor(session, conversation, actor)
    _return_to_bot(session, conversation, ConversationState.RESOLVED)
    _flush(session)
    audit.record(
        session,
        actor,
        "resolve",
        conversation_id=conversation_id,
        outcome={"state": conversation.state.value},
    )
    return conversation


def _return_to_bot(session: Session, conversation: Conversation, state: ConversationState) -> None:
    conversation.state = state
    conversation.resolved_at = utcnow()
    conversation.human_requested = False
    conversation.fallback_count = 0
    enqueue(session, conversation.id, "resume")
    enqueue(session, conversation.id, "utter", {"name": HANDOFF_RESUMED})


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
    band = (policy or current_policy()).band_for(priority)
    before = {"priority": conversation.priority, "band": conversation.priority_band}
    conversation.priority = priority
    conversation.priority_band = band.name
    if conversation.escalated_at is not None and conversation.first_agent_reply_at is None:
        conversation.sla_deadline = as_utc(conversation.escalated_at) + timedelta(seconds=band.sla_seconds)
    _flush(session)
    audit.record(
        session,
        actor,
        "override_priority",
        conversation_id=conversation_id,
        inputs={"reason": reason, "before": before},
        outcome={"priority": priority, "band": band.name},
    )
    return conversation


def unflag(session: Session, escalation_id: int, *, reason: str, actor: Actor) -> Escalation:
    """Withdraw a wrong flag; a conversation still waiting in the queue goes back to the bot."""
    escalation = _get_escalation(session, escalation_id)
    if escalation.unflagged:
        raise InvalidTransition(f"escalation {escalation_id} is already unflagged")
    escalation.unflagged = True
    conversation = escalation.conversation
    returned = False
    if conversation.state == ConversationState.QUEUED and conversation.escalations[-1].id == escalation.id:
        _return_to_bot(session, conversation, ConversationState.BOT)
        returned = True
    _flush(session)
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
    escalation = _get_escalation(session, escalation_id)
    feedback = Feedback(
        escalation_id=escalation_id, user_id=user.id, verdict=verdict, unmarked_words=words, comment=comment
    )
    session.add(feedback)
    escalation.feedback_state = verdict
    _flush(session)
    audit.record(
        session,
        Actor("user", user.username, user.id),
        "feedback",
        conversation_id=escalation.conversation_id,
        inputs={"escalation_id": escalation_id, "unmarked_words": words, "comment": comment},
        outcome={"feedback_id": feedback.id, "verdict": verdict},
    )
    return feedback


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
    _flush(session)
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
    _flush(session)
    return breached
