"""A customer's data in every store, for admins: export and erasure (docs/privacy.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from api.deps import AdminUser, CoreSettingsDep
from triage import privacy
from triage.privacy import rules

router = APIRouter(prefix="/customers", tags=["customers"])

CustomerId = Annotated[str, Path(min_length=1, max_length=rules.MAX_ID_CHARS)]
# further ids of the same customer (each web-chat session is an id of its own)
AlsoIds = Annotated[list[str] | None, Query(max_length=rules.MAX_IDS_PER_REQUEST - 1)]


class EraseIn(BaseModel):
    reason: str = Field(min_length=1, max_length=rules.MAX_REASON_CHARS)
    also: list[str] = Field(default_factory=list, max_length=rules.MAX_IDS_PER_REQUEST - 1)
    # also the conversations the bot linked to the same customer (at most 50 ids in all)
    linked: bool = False


class ErasureOut(BaseModel):
    customer_id: str
    status: str  # erased | already_erased | nothing_held
    counts: dict[str, dict[str, int]]  # store -> table -> rows
    previously_erased_at: datetime | None
    previously_erased_by: str | None


class ErasuresOut(BaseModel):
    results: list[ErasureOut]


def _stores(request: Request) -> privacy.Stores:
    stores: privacy.Stores = request.app.state.privacy_stores
    return stores


@router.get(
    "/{customer_id}/export",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/json": {}}, "description": "one JSON document"}},
)
def export_customer(
    customer_id: CustomerId, admin: AdminUser, request: Request, also: AlsoIds = None, linked: bool = False
) -> StreamingResponse:
    """Everything held about the customer in every store, as one JSON document (admins; audited); with
    ``linked``, also the conversations the bot linked to the same customer."""
    ids = rules.customer_ids([customer_id, *(also or [])])
    stores = _stores(request)
    if linked:
        ids = privacy.with_linked(stores, ids)
    privacy.record_export(stores, ids, privacy.user_actor(admin.username, admin.id))
    return StreamingResponse(
        privacy.export(stores, ids),
        media_type="application/json",
        headers={"Content-Disposition": 'attachment; filename="clearline-customer-export.json"'},
    )


@router.post("/{customer_id}/erase", response_model=ErasuresOut)
def erase_customer(
    customer_id: CustomerId, body: EraseIn, admin: AdminUser, request: Request, core: CoreSettingsDep
) -> ErasuresOut:
    """Remove everything held about the customer from every store; audited: who, when, why, counts; with
    ``linked``, also the conversations the bot linked to the same customer."""
    ids = [customer_id, *body.also]
    if body.linked:
        ids = list(privacy.with_linked(_stores(request), ids))
    results = privacy.erase(
        _stores(request),
        ids,
        reason=body.reason,
        actor=privacy.user_actor(admin.username, admin.id),
        settle_s=core.erase_settle_s,
    )
    return ErasuresOut(results=[ErasureOut.model_validate(r, from_attributes=True) for r in results])
