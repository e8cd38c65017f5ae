"""The bot's endpoints, authenticated with the shared triage token (not a user session): the hand-off and
the customer's rating (CSAT)."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Header, HTTPException, Request, status

from api.deps import CoreSettingsDep, SessionDep
from api.relay import act_and_relay
from api.schemas import CsatIn, CsatOut, HandoffIn, HandoffOut
from triage import services
from triage.audit import BOT
from triage.services.csat import record_csat
from triage.storage.db import Escalation

router = APIRouter(tags=["handoff"])


def require_triage_token(
    core: CoreSettingsDep, authorization: Annotated[str | None, Header()] = None
) -> None:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        token.strip().encode(), core.triage_token.encode()
    ):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "a valid triage token is required",
            headers={"WWW-Authenticate": "Bearer"},
        )


@router.post(
    "/handoff",
    response_model=HandoffOut,
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=[Depends(require_triage_token)],
)
def handoff(
    body: HandoffIn, session: SessionDep, request: Request, background: BackgroundTasks
) -> HandoffOut:
    """The bot asks for a human: the conversation is escalated and queued (idempotent while open)."""

    def work() -> Escalation:
        return services.request_handoff(
            session, body.conversation_id, reason=body.reason, intent=body.intent, actor=BOT
        )

    # the worker may commit the customer's asking message between this read and write: run again then
    escalation = act_and_relay(session, request, background, work)
    return HandoffOut(escalation_id=escalation.id, conversation_id=body.conversation_id)


@router.post(
    "/csat",
    response_model=CsatOut,
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(require_triage_token)],
    responses={404: {"description": "unknown conversation"}, 409: {"description": "still with our team"}},
)
def csat(body: CsatIn, session: SessionDep) -> CsatOut:
    """The customer's 1-5 rating, from the bot, with what the question was about (a resolved hand-off or
    the bot's own conversation); a second rating of the same thing replaces the first
    (triage.domain.csat)."""
    recorded = record_csat(session, body.conversation_id, body.rating, about=body.about, channel=body.channel)
    session.commit()
    row = recorded.rating
    return CsatOut(
        id=row.id,
        conversation_id=row.conversation_id,
        rating=row.rating,
        escalated=row.escalated,
        escalation_id=row.escalation_id,
        replaced=recorded.replaced,
    )
