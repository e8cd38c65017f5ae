"""The bot's hand-off endpoint, authenticated with the shared triage token (not a user session)."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Header, HTTPException, Request, status

from api.deps import CoreSettingsDep, SessionDep
from api.relay import commit_and_relay
from api.schemas import HandoffIn, HandoffOut
from triage import services
from triage.audit import BOT

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
    escalation = services.request_handoff(
        session, body.conversation_id, reason=body.reason, intent=body.intent, actor=BOT
    )
    commit_and_relay(session, request, background)
    return HandoffOut(escalation_id=escalation.id, conversation_id=body.conversation_id)
