"""Escalations: people's verdicts on a flag (and on the highlighted words), and unflagging."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, HTTPException, Path, Request, status
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import CurrentUser, SessionDep, SupervisorUser
from api.queries import can_see
from api.relay import commit_and_relay
from api.schemas import EscalationOut, FeedbackIn, FeedbackOut, UnflagIn
from triage import services
from triage.audit import Actor
from triage.storage.db import Escalation, Feedback, User

router = APIRouter(prefix="/escalations", tags=["feedback"])

EscalationId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def visible_escalation(session: Session, user: User, escalation_id: int) -> Escalation:
    escalation = session.get(Escalation, escalation_id)
    if escalation is None or not can_see(session, user, escalation.conversation_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"escalation {escalation_id} not found")
    return escalation


@router.post("/{escalation_id}/feedback", response_model=FeedbackOut, status_code=status.HTTP_201_CREATED)
def give_feedback(
    escalation_id: EscalationId, body: FeedbackIn, user: CurrentUser, session: SessionDep
) -> Feedback:
    """Mark the flag right or wrong, and unmark words that should not have been highlighted."""
    visible_escalation(session, user, escalation_id)
    feedback = services.record_feedback(
        session,
        escalation_id,
        user=user,
        verdict=body.verdict,
        unmarked_words=[w.model_dump() for w in body.unmarked_words],
        comment=body.comment,
    )
    session.commit()
    return feedback


@router.get("/{escalation_id}/feedback", response_model=list[FeedbackOut])
def list_feedback(escalation_id: EscalationId, user: CurrentUser, session: SessionDep) -> list[Feedback]:
    """Everything people said about this flag, oldest first."""
    visible_escalation(session, user, escalation_id)
    return list(
        session.scalars(select(Feedback).where(Feedback.escalation_id == escalation_id).order_by(Feedback.id))
    )


@router.post("/{escalation_id}/unflag", response_model=EscalationOut)
def unflag(
    escalation_id: EscalationId,
    body: UnflagIn,
    user: SupervisorUser,
    session: SessionDep,
    request: Request,
    background: BackgroundTasks,
) -> Escalation:
    """Withdraw a wrong flag (supervisors; reason required). A waiting conversation returns to the bot."""
    visible_escalation(session, user, escalation_id)
    escalation = services.unflag(session, escalation_id, reason=body.reason, actor=Actor.of(user))
    commit_and_relay(session, request, background)
    return escalation
