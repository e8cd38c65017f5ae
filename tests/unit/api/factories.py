"""Small row builders for api tests: users, escalated conversations with explanations."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from api.security import hash_password
from triage import services
from triage.audit import POLICY, Actor
from triage.domain.policy import current_policy
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
from triage.worker.explaining import pending_record

PASSWORD = "correct horse battery"  # noqa: S105

STRESSED = "This is ridiculous, my card was stolen and nobody helps me!"


_HASH = hash_password(PASSWORD)  # argon2 is slow on purpose: hash once for all test users


def user(
    session: Session, username: str, role: Role, skills: tuple[str, ...] = (), capacity: int = 3
) -> User:
    status = AgentStatus.AVAILABLE if role == Role.AGENT else AgentStatus.OFFLINE
    row = User(
        username=username,
        display_name=username.title(),
        password_hash=_HASH,
        role=role,
        skills=list(skills),
        capacity=capacity,
        status=status,
    )
    session.add(row)
    session.flush()
    return row


def explanation_for(message: Message, score: float = 0.91, without_top: float = 0.32) -> dict[str, Any]:
    words = []
    for word, attribution in (("ridiculous", 0.42), ("stolen", 0.31), ("nobody", 0.12), ("card", -0.2)):
        start = message.text.find(word)
        if start >= 0:
            words.append({"word": word, "start": start, "end": start + len(word), "attribution": attribution})
    return {
        "message_id": message.id,
        "text": message.text,
        "words": words,
        "delta": 0.003,
        "comprehensiveness": score - without_top,
        "sufficiency": 0.1,
        "random_comprehensiveness": 0.05,
        "score": score,
        "score_without_top": without_top,
        "target": "stress",
    }


def escalated(
    session: Session,
    conversation_id: str,
    *,
    text: str = STRESSED,
    intent: str = "lost_or_stolen_card",
    stress: float = 0.91,
    minutes_ago: float = 0,
    explained: bool = True,
) -> Conversation:
    """A conversation with a bot turn and a stressed customer turn, escalated by the real policy.

    ``explained=False`` stores the escalation as the worker's pipeline does: a pending placeholder for
    the stressed turn, for ``triage.worker.explaining.explain_pending`` to fill (or to leave pending).
    """
    now = utcnow() - timedelta(minutes=minutes_ago)
    conversation = Conversation(
        id=conversation_id,
        channel="socketio",
        latest_intent=intent,
        stress_trajectory=[0.12, stress],
        max_stress=max(0.12, stress),  # as the worker keeps it
        started_at=now,
        last_message_at=now,
    )
    session.add(conversation)
    session.add(
        Message(
            conversation_id=conversation_id,
            sender=Sender.CUSTOMER,
            text="hi",
            stress=0.12,
            emotions={"emotions": {"neutral": 0.8, "joy": 0.1}},
            labels=["neutral"],
            created_at=now,
        )
    )
    session.add(
        Message(
            conversation_id=conversation_id, sender=Sender.BOT, text="Hello! How can I help?", created_at=now
        )
    )
    message = Message(
        conversation_id=conversation_id,
        sender=Sender.CUSTOMER,
        text=text,
        intent=intent,
        stress=stress,
        flagged=True,
        labels=["anger", "annoyance"],
        emotions={"emotions": {"anger": 0.71, "annoyance": 0.55, "neutral": 0.05}},
        created_at=now,
    )
    session.add(message)
    session.flush()
    decision = current_policy().evaluate(services.policy_input(conversation))
    escalation = services.escalate(
        session,
        conversation_id,
        decision=decision,
        explanations=[explanation_for(message) if explained else pending_record(message)],
        trigger="policy",
        actor=POLICY,
    )
    escalation.explanations_pending = not explained
    if minutes_ago:
        conversation.escalated_at = now
        conversation.queued_at = now
        conversation.sla_deadline = now + timedelta(seconds=60)
    session.flush()
    return conversation


def assign(session: Session, conversation: Conversation, agent: User) -> None:
    conversation.state = ConversationState.ASSIGNED
    conversation.assigned_agent_id = agent.id
    conversation.assigned_at = utcnow()
    session.flush()


def bot_only(
    session: Session, conversation_id: str, *, text: str = "I have been charged twice and nobody cares"
) -> Conversation:
    """A conversation the bot kept: a customer turn the policy let pass (stress 0.35), the bot's answer."""
    conversation = services.new_conversation(conversation_id)
    conversation.stress_trajectory, conversation.max_stress = [0.35], 0.35
    session.add(conversation)
    session.flush()
    session.add(Message(conversation_id=conversation_id, sender=Sender.CUSTOMER, text=text, stress=0.35))
    session.add(
        Message(conversation_id=conversation_id, sender=Sender.BOT, text="Let me check that for you.")
    )
    session.flush()
    return conversation


def handed_off_on_request(
    session: Session, conversation_id: str, agent: User, *, text: str = "my card is gone, I am so done"
) -> Conversation:
    """A bot-only conversation whose customer asked for a person (the bot's hand-off, not the policy's
    flag), which ``agent`` accepted and resolved: back with the bot, in the cards queue."""
    conversation = bot_only(session, conversation_id, text=text)
    services.request_handoff(
        session,
        conversation_id,
        reason="customer asked for a human",
        intent="lost_or_stolen_card",
        actor=POLICY,
    )
    services.accept(session, conversation_id, agent)
    services.resolve(session, conversation_id, actor=Actor.of(agent), reason="sorted on the phone")
    session.flush()
    return conversation
