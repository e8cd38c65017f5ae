"""Keeping a customer's rating (the rules: ``triage.domain.csat``). Never commits: the caller's unit of
work commits the rating with its audit record."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, true
from sqlalchemy.orm import Session

from triage import audit
from triage.domain import csat
from triage.errors import ConversationNotFound
from triage.storage.conversations import as_utc
from triage.storage.db import Conversation, Message, Sender, utcnow
from triage.storage.workplace_tables import CsatRating


@dataclass(frozen=True)
class Recorded:
    rating: CsatRating
    replaced: bool  # an earlier rating of the same subject was changed, not a new one added


def _resolved_handoff(session: Session, conversation: Conversation) -> csat.ResolvedHandoff | None:
    """The newest hand-off if an agent answered it and it is resolved (the fields are reset when the next
    escalation starts), with the agent who had it: the one it was resolved with, else (resolved from the
    queue after its agent went offline) the one who answered last."""
    if (
        conversation.latest_escalation_id is None
        or conversation.resolved_at is None
        or conversation.first_agent_reply_at is None
    ):
        return None
    agent_id = conversation.assigned_agent_id
    if agent_id is None:
        answered = select(Message.agent_id).where(
            Message.conversation_id == conversation.id,
            Message.sender == Sender.AGENT,
            Message.created_at >= conversation.escalated_at if conversation.escalated_at else true(),
        )
        agent_id = session.scalar(answered.order_by(Message.id.desc()).limit(1))
    return csat.ResolvedHandoff(
        conversation.latest_escalation_id, as_utc(conversation.resolved_at), agent_id, conversation.queue
    )


def record_csat(
    session: Session,
    conversation_id: str,
    rating: object,
    *,
    about: str | None = None,
    channel: str | None = None,
    now: datetime | None = None,
) -> Recorded:
    """Store the customer's rating for what it rates (``csat.subject_of``), replacing their earlier rating
    of the same subject; audited as ``csat`` by the bot.

    Raises:
        ValidationError: not a whole number from 1 to 5, or ``about`` of another shape.
        ConversationNotFound: Clearline has not seen this conversation.
        InvalidTransition: the conversation is waiting for or with an agent, or the hand-off the question
            was about is not its latest resolved one.
    """
    value = csat.checked_rating(rating)
    now = now or utcnow()
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise ConversationNotFound(f"conversation {conversation_id!r} not found")
    subject = csat.subject_of(conversation.state, _resolved_handoff(session, conversation), now, about)
    earlier = [
        csat.EarlierRating(r.id, r.escalation_id, as_utc(r.created_at))
        for r in session.scalars(select(CsatRating).where(CsatRating.conversation_id == conversation_id))
    ]
    replaced_id = csat.replaces(subject, earlier, now)
    row = session.get(CsatRating, replaced_id) if replaced_id is not None else None
    previous = row.rating if row is not None else None
    if row is None:
        row = CsatRating(conversation_id=conversation_id, created_at=now)
        session.add(row)
    row.rating = value
    row.escalation_id = subject.escalation_id
    row.escalated = subject.escalated
    row.agent_id = subject.agent_id
    row.queue = subject.queue
    row.channel = (channel or conversation.channel or "")[:64] or None
    row.updated_at = now
    session.flush()
    audit.record(
        session,
        audit.BOT,
        "csat",
        conversation_id=conversation_id,
        inputs={"rating": value, "previous": previous, "about": about},
        outcome={"csat_id": row.id, "escalation_id": subject.escalation_id, "agent_id": subject.agent_id},
        at=now,
    )
    return Recorded(row, replaced=previous is not None)
