"""The agent console's customer panel: the provider's records of a conversation's customer, read when asked
(api/provider.py), never stored; each read is audited (``customer_view``)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, status
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from api import provider
from api.deps import ApiSettingsDep, CoreSettingsDep, CurrentUser, SessionDep
from api.queries import visible_to
from api.settings import ApiSettings
from triage.audit import Actor
from triage.privacy import record_customer_view
from triage.settings import CoreSettings
from triage.storage.db import Conversation, User

router = APIRouter(prefix="/conversations", tags=["conversations"])

ConversationId = Annotated[str, Path(min_length=1, max_length=255)]
# why a conversation's customer is not verified: its channel's sender ids identify nobody ("channel"), or no
# customer has its sender id ("unknown")
NotVerified = Literal["channel", "unknown"]


class CardOut(BaseModel):
    last_four: str
    kind: str
    status: str  # ordered | shipped | active | frozen
    dispatched_on: date | None
    expected_by: date | None


class TransferOut(BaseModel):
    reference: str
    counterparty: str
    amount_minor: int
    currency: str
    amount: str  # formatted from the minor units: "£250.00"
    status: str  # pending | completed | failed | returned
    created_on: date
    settled_on: date | None
    expected_by: date | None
    failure_reason: str | None


class RefundOut(BaseModel):
    reference: str
    merchant: str
    amount_minor: int
    currency: str
    amount: str
    status: str  # processing | completed | rejected
    issued_on: date
    expected_by: date | None
    completed_on: date | None
    rejection_reason: str | None


class CustomerPanel(BaseModel):
    conversation_id: str
    # whether the provider's records name a customer for this conversation's sender id, on a channel that
    # vouches for its sender ids (as the bot decides: bot/actions/identity.py)
    verified: bool
    # not verified: "channel" (its sender ids identify nobody), "unknown" (no customer has this sender id)
    not_verified_because: NotVerified | None = None
    name: str | None = None
    tier: str | None = None
    cards: list[CardOut] = []
    transfers: list[TransferOut] = []  # the newest five
    refunds: list[RefundOut] = []  # the newest five


def read_customer(
    session: Session,
    user: User,
    conversation_id: str,
    channel: str | None,
    settings: ApiSettings,
    core: CoreSettings,
) -> tuple[provider.CustomerView | None, NotVerified | None]:
    """The provider's record of a visible conversation's customer, or why there is none: its channel
    vouches for nobody (nothing read, nothing audited) or no customer has its sender id. A read is audited
    as ``customer_view`` in the caller's session (no record, no answer: the caller's commit fails).

    Raises:
        ProviderUnavailable: the provider's records cannot be read (api: 503).
    """
    vouched = settings.vouched_channels(core.demo)
    if vouched is not None and channel not in vouched:
        return None, "channel"
    view = provider.customer_for_sender(settings.provider_db_url, conversation_id)
    # who read the provider's records of which conversation (no values)
    record_customer_view(session, conversation_id, Actor.of(user))
    return view, None if view is not None else "unknown"


@router.get(
    "/{conversation_id}/customer",
    response_model=CustomerPanel,
    responses={503: {"description": "the provider's records cannot be read (not configured or down)"}},
)
def customer(
    conversation_id: ConversationId,
    user: CurrentUser,
    session: SessionDep,
    settings: ApiSettingsDep,
    core: CoreSettingsDep,
) -> CustomerPanel:
    """Who the customer is as far as the bot verified it, from the provider's records (read now, audited)."""
    found = session.execute(
        select(Conversation.channel).where(Conversation.id == conversation_id, visible_to(user))
    ).first()
    if found is None:  # the same answer for "does not exist" and "not yours"
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"conversation {conversation_id!r} not found")
    view, because = read_customer(session, user, conversation_id, found.channel, settings, core)
    session.commit()
    if view is None:
        return CustomerPanel(conversation_id=conversation_id, verified=False, not_verified_because=because)
    return CustomerPanel(
        conversation_id=conversation_id,
        verified=True,
        name=view.name,
        tier=view.tier,
        cards=[CardOut.model_validate(c, from_attributes=True) for c in view.cards],
        transfers=[TransferOut.model_validate(t, from_attributes=True) for t in view.transfers],
        refunds=[RefundOut.model_validate(r, from_attributes=True) for r in view.refunds],
    )
