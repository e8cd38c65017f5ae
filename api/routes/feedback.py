"""Feedback: people's verdicts on a flag (and on the highlighted words: unmarked or added), unflagging,
and missed flags (a conversation the policy should have escalated)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, HTTPException, Path, Request, status
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import CurrentUser, SessionDep, SupervisorUser
from api.queries import can_see
from api.relay import act_and_relay
from api.routes.conversations import ConversationId, not_found
from api.schemas import EscalationOut, FeedbackIn, FeedbackOut, MissedFlagIn, MissedFlagOut, UnflagIn
from triage import services
from triage.audit import Actor
from triage.storage.db import Escalation, Feedback, MissedFlag, User

router = APIRouter(tags=["feedback"])

EscalationId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def visible_escalation(session: Session, user: User, escalation_id: int) -> Escalation:
    escalation = session.get(Escalation, escalation_id)
    if escalation is None or not can_see(session, user, escalation.conversation_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"escalation {escalation_id} not found")
    return escalation


@router.post(
    "/escalations/{escalation_id}/feedback", response_model=FeedbackOut, status_code=status.HTTP_201_CREATED
)
def give_feedback(
    escalation_id: EscalationId, body: FeedbackIn, user: CurrentUser, session: SessionDep
) -> Feedback:
    """Mark the flag right or wrong, unmark words that should not have been highlighted and add words of
    the customer's messages that should have been (offsets: code points of the redacted text)."""
    visible_escalation(session, user, escalation_id)
    feedback = services.record_feedback(
        session,
        escalation_id,
        user=user,
        verdict=body.verdict,
        unmarked_words=[w.model_dump() for w in body.unmarked_words],
        comment=body.comment,
        added_words=[w.model_dump() for w in body.added_words],
    )
    session.commit()
    return feedback


@router.get("/escalations/{escalation_id}/feedback", response_model=list[FeedbackOut])
def list_feedback(escalation_id: EscalationId, user: CurrentUser, session: SessionDep) -> list[Feedback]:
    """Everything people said about this flag, oldest first."""
    visible_escalation(session, user, escalation_id)
    return list(
        session.scalars(select(Feedback).where(Feedback.escalation_id == escalation_id).order_by(Feedback.id))
    )


@router.post("/escalations/{escalation_id}/unflag", response_model=EscalationOut)
def unflag(
    escalation_id: EscalationId,
    body: UnflagIn,
    user: SupervisorUser,
    session: SessionDep,
    request: Request,
    background: BackgroundTasks,
) -> Escalation:
    """Withdraw a wrong flag (supervisors; reason required). A waiting conversation returns to the bot."""

    def work() -> Escalation:
        visible_escalation(session, user, escalation_id)
        return services.unflag(session, escalation_id, reason=body.reason, actor=Actor.of(user))

    return act_and_relay(session, request, background, work)


def _missed_out(missed: MissedFlag) -> MissedFlagOut:
    author = missed.user
    return MissedFlagOut(
        id=missed.id,
        conversation_id=missed.conversation_id,
        message_id=missed.message_id,
        user_id=author.id,
        user_name=author.display_name or author.username,
        comment=missed.comment,
        words=list(missed.words or []),
        created_at=missed.created_at,
    )


@router.post(
    "/conversations/{conversation_id}/missed-flag",
    response_model=MissedFlagOut,
    status_code=status.HTTP_201_CREATED,
)
def mark_missed_flag(
    conversation_id: ConversationId, body: MissedFlagIn, user: CurrentUser, session: SessionDep
) -> MissedFlagOut:
    """Say the policy should have escalated this conversation (whoever may see it): optionally the customer
    message that should have triggered it and the words that should have been highlighted. 409 while the
    policy's own flag on it stands: give a verdict on that escalation instead."""
    if not can_see(session, user, conversation_id):
        raise not_found(conversation_id)
    missed = services.record_missed_flag(
        session,
        conversation_id,
        user=user,
        message_id=body.message_id,
        comment=body.comment,
        words=[w.model_dump() for w in body.words],
    )
    session.commit()
    return _missed_out(missed)


@router.get("/conversations/{conversation_id}/missed-flag", response_model=list[MissedFlagOut])
def list_missed_flags(
    conversation_id: ConversationId, user: CurrentUser, session: SessionDep
) -> list[MissedFlagOut]:
    """The missed flags people marked on this conversation, oldest first."""
    if not can_see(session, user, conversation_id):
        raise not_found(conversation_id)
    return [_missed_out(missed) for missed in services.missed_flags_of(session, conversation_id)]
