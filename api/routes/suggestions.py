"""The suggested next action of a conversation (issue #20): one best action for the agent and at most two
alternatives, each with its reasons, from the customer's intents, the provider's records (read now, as for
the customer panel: audited as ``customer_view``) and the latest escalation's factors; and the agent's
verdict on one (accepted or dismissed), kept as feedback on the rules and audited."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, status
from pydantic import BaseModel, StringConstraints
from sqlalchemy.orm import Session

from api import provider
from api.deps import ApiSettingsDep, CoreSettingsDep, CurrentUser, SessionDep
from api.queries import find_visible
from api.routes.conversations import ConversationId, not_found
from api.routes.customer_panel import read_customer
from api.schemas import Comment, StrictModel, UtcDateTime
from api.settings import ApiSettings
from triage.domain import suggestions as rules
from triage.services import suggestions as service
from triage.settings import CoreSettings
from triage.storage.db import User

router = APIRouter(prefix="/conversations", tags=["conversations"])

CHANNEL_IDENTIFIES_NOBODY = (
    "this channel's sender ids identify nobody, so the provider's records are not read: "
    "nothing can be checked"
)


class VerdictOut(BaseModel):
    verdict: Literal["accepted", "dismissed"]
    by: str  # display name
    at: UtcDateTime


class SuggestionOut(BaseModel):
    key: str  # stable across reads, e.g. "freeze_card:4242"
    action: str
    title: str
    reasons: list[str]
    evidence: dict[str, Any]  # the intents counted, the provider's record used, the policy's factor
    verdict: VerdictOut | None = None  # the latest on this key, if any


class SuggestionsOut(BaseModel):
    conversation_id: str
    suggestions: list[SuggestionOut]  # the best first, then at most two alternatives; empty: none fits
    none_because: str | None = None  # why there is none


class VerdictIn(StrictModel):
    key: Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[^\x00]*$")]
    verdict: Literal["accepted", "dismissed"]
    comment: Comment | None = None


class VerdictRecorded(BaseModel):
    conversation_id: str
    key: str
    action: str
    verdict: Literal["accepted", "dismissed"]
    reasons: list[str]
    comment: str | None  # as stored with the verdict: redacted
    by: str
    at: UtcDateTime


def _records(view: provider.CustomerView) -> rules.Records:
    return rules.Records(
        cards=tuple(rules.Card(c.last_four, c.status, c.expected_by) for c in view.cards),
        transfers=tuple(
            rules.Transfer(
                t.reference, t.status, t.counterparty, t.amount, t.created_on, t.expected_by, t.failure_reason
            )
            for t in view.transfers
        ),
        refunds=tuple(
            rules.Refund(r.reference, r.status, r.merchant, r.amount, r.expected_by, r.rejection_reason)
            for r in view.refunds
        ),
    )


def advise(
    session: Session, user: User, conversation_id: str, settings: ApiSettings, core: CoreSettings
) -> rules.Advice:
    """The suggestions for a conversation this user may see (404 otherwise), from the provider's records
    read now (503 when they cannot be read; the read audited in this session)."""
    conversation = find_visible(session, user, conversation_id)
    if conversation is None:
        raise not_found(conversation_id)
    view, because = read_customer(session, user, conversation_id, conversation.channel, settings, core)
    situation = rules.Situation(
        intents=service.intents_of(conversation),
        records=_records(view) if view is not None else None,
        today=date.today(),  # the provider's dates are its local days
        factors=service.factors_of(conversation),
    )
    advice = rules.suggest(situation)
    if because == "channel" and advice.none_because == rules.NO_RECORDS:
        return rules.Advice((), CHANNEL_IDENTIFIES_NOBODY)
    return advice


def _verdict_out(given: service.GivenVerdict | None) -> VerdictOut | None:
    if given is None:
        return None
    return VerdictOut.model_validate(
        {"verdict": given.row.verdict, "by": given.by, "at": given.row.created_at}
    )


@router.get(
    "/{conversation_id}/suggestion",
    response_model=SuggestionsOut,
    responses={503: {"description": "the provider's records cannot be read (not configured or down)"}},
)
def suggestion(
    conversation_id: ConversationId,
    user: CurrentUser,
    session: SessionDep,
    settings: ApiSettingsDep,
    core: CoreSettingsDep,
) -> SuggestionsOut:
    """The suggested next action and up to two alternatives, with reasons and the latest verdict on each."""
    advice = advise(session, user, conversation_id, settings, core)
    verdicts = service.latest_verdicts(session, conversation_id)
    session.commit()  # the customer_view record
    return SuggestionsOut(
        conversation_id=conversation_id,
        suggestions=[
            SuggestionOut(
                key=s.key,
                action=s.action,
                title=s.title,
                reasons=list(s.reasons),
                evidence=s.evidence,
                verdict=_verdict_out(verdicts.get(s.key)),
            )
            for s in advice.suggestions
        ],
        none_because=advice.none_because,
    )


@router.post(
    "/{conversation_id}/suggestion/verdict",
    response_model=VerdictRecorded,
    status_code=status.HTTP_201_CREATED,
    responses={
        409: {"description": "that key is not suggested for this conversation now"},
        503: {"description": "the provider's records cannot be read (not configured or down)"},
    },
)
def give_verdict(
    conversation_id: ConversationId,
    body: VerdictIn,
    user: CurrentUser,
    session: SessionDep,
    settings: ApiSettingsDep,
    core: CoreSettingsDep,
) -> VerdictRecorded:
    """Accept or dismiss a suggestion shown now (its key); kept with the reasons it was shown with."""
    advice = advise(session, user, conversation_id, settings, core)
    row = service.record_verdict(
        session, conversation_id, advice, key=body.key, verdict=body.verdict, user=user, comment=body.comment
    )
    session.commit()
    return VerdictRecorded(
        conversation_id=conversation_id,
        key=row.suggestion_key,
        action=row.action,
        verdict=body.verdict,
        reasons=list(row.reasons),
        comment=body.comment,
        by=user.display_name or user.username,
        at=row.created_at,
    )
