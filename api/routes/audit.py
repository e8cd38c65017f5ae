"""The audit feed over REST: what the live console receives, for integrators and the views bench."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from api.deps import CurrentUser, SessionDep
from api.queries import audit_after, newest_audit
from api.schemas import AuditOut
from triage.storage.db import AuditRecord

router = APIRouter(prefix="/audit", tags=["audit"])
MAX_ID = 2**63 - 1  # ids are 64-bit integers in both databases


@router.get("", response_model=list[AuditOut])
def feed(
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    after: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    newest: bool = False,
) -> list[AuditRecord]:
    """Audit records this user may see: after ``after``, oldest first; or the newest first."""
    # only up to the horizon: an id returned is a cursor (``after``) that skips no record still to come
    through = request.app.state.audit_horizon.current(session)
    if through is None:
        return []
    if newest:
        return newest_audit(session, user, through=through, limit=limit)
    return audit_after(session, user, after, through=through, limit=limit)
