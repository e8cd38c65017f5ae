"""A customer's earlier conversations in the console's customer panel (issue #20): those linked to this
one by the bot's ``customer_ref`` (a keyed hash of the provider's customer id, set once the bot knew who
the customer is: bot/actions/identity.py), newest first, with how each ended. Clearline's own records
only: the provider is not read, nothing about the customer is stored beyond the reference."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, status
from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.deps import CurrentUser, SessionDep
from api.queries import visible_to
from triage.storage.conversations import as_utc
from triage.storage.db import Conversation, User
from triage.storage.workplace_tables import CsatRating

router = APIRouter(prefix="/conversations", tags=["conversations"])

ConversationId = Annotated[str, Path(min_length=1, max_length=255)]
SHOWN = 10


class EarlierConversation(BaseModel):
    id: str
    channel: str | None
    started_at: datetime
    last_message_at: datetime
    state: str
    escalated: bool  # it went to our team at least once
    queue: str | None
    agent: str | None  # who had it last
    resolved_at: datetime | None
    csat: int | None  # the customer's latest rating in it


class EarlierConversations(BaseModel):
    conversation_id: str
    linked: bool  # the bot knows who the customer is, so their conversations can be linked
    conversations: list[EarlierConversation]  # newest first, at most ten, those the viewer may open
    not_shown: int  # the customer's other conversations the viewer may not open (agents: other queues)


def _latest_ratings(session: Session, ids: list[str]) -> dict[str, int]:
    newest = (
        select(CsatRating.conversation_id, func.max(CsatRating.id).label("id"))
        .where(CsatRating.conversation_id.in_(ids))
        .group_by(CsatRating.conversation_id)
        .subquery()
    )
    rows = session.execute(
        select(CsatRating.conversation_id, CsatRating.rating).join(newest, newest.c.id == CsatRating.id)
    )
    return {conversation_id: rating for conversation_id, rating in rows}


@router.get("/{conversation_id}/earlier", response_model=EarlierConversations)
def earlier(conversation_id: ConversationId, user: CurrentUser, session: SessionDep) -> EarlierConversations:
    """The same customer's other conversations, as far as Clearline can link them."""
    found = session.execute(
        select(Conversation.customer_ref).where(Conversation.id == conversation_id, visible_to(user))
    ).first()
    if found is None:  # the same answer for "does not exist" and "not yours"
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"conversation {conversation_id!r} not found")
    if found.customer_ref is None:
        return EarlierConversations(
            conversation_id=conversation_id, linked=False, conversations=[], not_shown=0
        )
    same_customer = (Conversation.customer_ref == found.customer_ref, Conversation.id != conversation_id)
    shown = list(
        session.scalars(
            select(Conversation)
            .where(*same_customer, visible_to(user))
            .order_by(Conversation.started_at.desc(), Conversation.id)
            .limit(SHOWN)
        )
    )
    total = session.scalar(select(func.count()).select_from(Conversation).where(*same_customer)) or 0
    visible = (
        session.scalar(select(func.count()).select_from(Conversation).where(*same_customer, visible_to(user)))
        or 0
    )
    ratings = _latest_ratings(session, [c.id for c in shown])
    agents = {
        u.id: u.display_name or u.username
        for u in session.scalars(select(User).where(User.id.in_({c.assigned_agent_id for c in shown})))
    }
    return EarlierConversations(
        conversation_id=conversation_id,
        linked=True,
        conversations=[
            EarlierConversation(
                id=c.id,
                channel=c.channel,
                started_at=as_utc(c.started_at),
                last_message_at=as_utc(c.last_message_at),
                state=c.state.value,
                escalated=c.latest_escalation_id is not None,
                queue=c.queue,
                agent=agents.get(c.assigned_agent_id) if c.assigned_agent_id is not None else None,
                resolved_at=as_utc(c.resolved_at) if c.resolved_at is not None else None,
                csat=ratings.get(c.id),
            )
            for c in shown
        ],
        not_shown=int(total) - int(visible),
    )
