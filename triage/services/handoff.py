"""Work on escalated conversations: routing, agents accepting, replying, transferring, resolving,
agent status and the first-reply SLA. Each function loads rows, lets the conversation's state machine
(``triage.domain.lifecycle``) decide, and stores what it returns; nothing here sets a state itself."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from triage import audit
from triage.audit import Actor
from triage.domain import canned, routing
from triage.domain.alerts import agent_offline_alert
from triage.domain.lifecycle import OPEN_STATES, AgentSeat
from triage.domain.policy import Policy
from triage.domain.typing_indicator import AGENT
from triage.errors import AgentNotFound, ValidationError
from triage.registry.active import active_policy
from triage.services import typing_indicator as typing_signals
from triage.services.alerts import raise_alert
from triage.services.locking import hold_write_lock, lock_free_queued
from triage.storage.conversations import (
    as_utc,
    flush,
    get_conversation,
    is_supervisor,
    lifecycle,
    require_owner_or_supervisor,
    store_effects,
)
from triage.storage.db import (
    AgentStatus,
    Conversation,
    ConversationState,
    Message,
    Role,
    Sender,
    User,
    utcnow,
)
from triage.storage.outbox import enqueue

MAX_REPLY_CHARS = 2000


def open_counts(session: Session) -> dict[int, int]:
    """How many conversations each agent holds now (the load that capacity limits)."""
    rows = session.execute(
        select(Conversation.assigned_agent_id, func.count())
        .where(Conversation.state == ConversationState.ASSIGNED, Conversation.assigned_agent_id.is_not(None))
        .group_by(Conversation.assigned_agent_id)
    )
    return {agent_id: count for agent_id, count in rows if agent_id is not None}


def seat_of(session: Session, user_id: int) -> AgentSeat:
    """What the rules need to know of a user who may receive a conversation. The user's row is locked
    (FOR UPDATE, on PostgreSQL; SQLite has one writer anyway) until the caller commits, so two
    assignments to the same agent at once cannot both see the last free seat."""
    user = session.scalars(select(User).where(User.id == user_id).with_for_update()).first()
    if user is None:
        raise AgentNotFound(f"agent {user_id} not found")
    held = session.scalar(
        select(func.count()).where(
            Conversation.state == ConversationState.ASSIGNED, Conversation.assigned_agent_id == user_id
        )
    )
    return AgentSeat(user.id, user.role == Role.AGENT, bool(user.is_active), user.capacity, int(held or 0))


def _override(actor: Actor, session: Session, reason: str | None) -> str | None:
    """A capacity override counts only from a supervisor or an admin."""
    if reason is None:
        return None
    user = session.get(User, actor.user_id) if actor.user_id is not None else None
    if not is_supervisor(user):
        raise ValidationError("only a supervisor can assign over an agent's capacity")
    return reason


def assign_waiting(session: Session, now: datetime) -> list[tuple[str, int]]:
    """Route queued conversations to free agents; return (conversation id, agent id) pairs. A queued
    conversation that another transaction holds (a scoring batch) is left for the next call
    (``triage.services.locking``)."""
    if not session.scalar(select(exists().where(Conversation.state == ConversationState.QUEUED))):
        return []  # nothing to route: no lock taken
    hold_write_lock(session)
    agents = {
        a.id: a
        for a in session.scalars(
            select(User)
            .where(User.is_active.is_(True), User.status == AgentStatus.AVAILABLE, User.role == Role.AGENT)
            .order_by(User.id)
            .with_for_update()  # as in seat_of: no accept or reassign fills a seat while this plan is made
        )
    }
    queued = lock_free_queued(session)  # after the agents: the order an accept or a transfer locks in
    if not queued:
        return []
    counts = open_counts(session)
    slots = [
        routing.AgentSlot(a.id, frozenset(a.skills or []), a.capacity, counts.get(a.id, 0), True)
        for a in agents.values()
    ]
    waiting = [
        routing.WaitingConversation(
            c.id, c.queue or "general", c.priority or 0, as_utc(c.queued_at or c.last_message_at), c.language
        )
        for c in queued
    ]
    by_id = {c.id: c for c in queued}
    done = []
    for item in routing.plan_assignments(waiting, slots):
        agent = agents[item.agent_id]
        seat = AgentSeat(agent.id, True, True, agent.capacity, counts.get(agent.id, 0))
        with lifecycle(by_id[item.conversation_id]) as machine:
            effects = machine.route(seat, now)
        counts[agent.id] = seat.open_count + 1
        store_effects(session, item.conversation_id, audit.ROUTER, effects, at=now)
        done.append((item.conversation_id, item.agent_id))
    flush(session)
    return done


def accept(session: Session, conversation_id: str, agent: User) -> Conversation:
    """An agent takes a queued conversation, or confirms one routed to them; never over their capacity
    (a supervisor can give them one more through a transfer, with a reason)."""
    conversation = get_conversation(session, conversation_id)
    actor = Actor.of(agent)
    now = utcnow()
    with lifecycle(conversation) as machine:
        effects = machine.accept(seat_of(session, agent.id), now)
    flush(session)
    store_effects(session, conversation_id, actor, effects, at=now)
    return conversation


def agent_reply(session: Session, conversation_id: str, agent: User, text: str) -> Message:
    """Store the agent's reply (redacted) and queue its delivery to the customer's channel."""
    from triage.redaction import redact_with_spans  # presidio is only needed when replies are written

    text = text.strip() if isinstance(text, str) else ""
    if not text:
        raise ValidationError("the reply is empty")
    if len(text) > MAX_REPLY_CHARS:
        raise ValidationError(f"the reply is longer than {MAX_REPLY_CHARS} characters")
    left = canned.unfilled(text)  # a canned reply inserted and not filled in: never sent with a hole
    if left:
        raise ValidationError("fill in " + ", ".join("{{" + name + "}}" for name in left) + " before sending")
    conversation = get_conversation(session, conversation_id)
    actor = Actor.of(agent)
    now = utcnow()
    with lifecycle(conversation) as machine:
        machine.agent_replied(agent.id, now)  # the state first: replying to a queued one is a conflict
        require_owner_or_supervisor(session, conversation, actor)
    redacted = redact_with_spans(text)
    message = Message(
        conversation_id=conversation_id,
        sender=Sender.AGENT,
        text=redacted.text,
        redactions=[span.as_dict() for span in redacted.spans],
        agent_id=agent.id,
        created_at=now,
        delivered=False,
    )
    session.add(message)
    conversation.last_message_at = now
    flush(session)
    # the customer sees who answers (the web chat labels the reply with it), never "Support team"
    payload = {"text": text, "message_id": message.id, "agent_name": agent.display_name or agent.username}
    enqueue(session, conversation_id, "say", payload)
    typing_signals.clear(session, conversation_id, AGENT)  # the message is there: "is typing…" goes with it
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
    over_capacity_reason: str | None = None,
) -> Conversation:
    """Move an open conversation to another queue (it waits there) or straight to an agent."""
    if (to_queue is None) == (to_agent_id is None):
        raise ValidationError("give exactly one of to_queue and to_agent_id")
    conversation = get_conversation(session, conversation_id)
    now = utcnow()
    with lifecycle(conversation) as machine:
        machine.require_open("not open")
        require_owner_or_supervisor(session, conversation, actor)
        if to_queue is not None:
            known = (policy or active_policy(session)).config.queue_names
            effects = machine.transfer_to_queue(to_queue, list(known), now, reason=reason)
        else:
            assert to_agent_id is not None  # one of the two, checked above
            override = _override(actor, session, over_capacity_reason)
            seat = seat_of(session, to_agent_id)
            effects = machine.transfer_to_agent(seat, now, reason=reason, override_reason=override)
    flush(session)
    store_effects(session, conversation_id, actor, effects, at=now)
    return conversation


def resolve(
    session: Session, conversation_id: str, *, actor: Actor, reason: str | None = None
) -> Conversation:
    """End the hand-off: the bot answers again and the customer is told. A conversation no agent
    answered needs a reason."""
    conversation = get_conversation(session, conversation_id)
    now = utcnow()
    with lifecycle(conversation) as machine:
        machine.require_open("not open")
        require_owner_or_supervisor(session, conversation, actor)
        effects = machine.resolve(now, reason=reason)
    flush(session)
    store_effects(session, conversation_id, actor, effects, at=now)
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
            with lifecycle(conversation) as machine:
                effects = machine.requeue(now, reason="agent offline", agent_id=agent.id)
            store_effects(session, conversation.id, actor, effects, at=now)
            requeued.append(conversation.id)
    flush(session)
    audit.record(
        session,
        actor,
        "agent_status",
        inputs={"agent_id": agent.id, "before": before.value},
        outcome={"status": status.value, "requeued": requeued},
    )
    offline = agent_offline_alert(agent.id, agent.display_name or agent.username, len(requeued), utcnow())
    if offline is not None:  # their customers wait again: the supervisors should know
        raise_alert(session, offline, actor)
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
        with lifecycle(conversation) as machine:
            effects = machine.check_sla(now)
        if effects.audit:
            store_effects(session, conversation.id, audit.SLA_MONITOR, effects, at=now)
            breached.append(conversation.id)
    flush(session)
    return breached
